import ArgumentParser
import ChatTemplates
import Conversion
import Foundation
import GGUF
import Inference
import JSON
import Tokenization

/// Options shared by the commands that run a model.
struct ModelRunOptions: ParsableArguments {
    @Option(help: "Worker threads (default: every core).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Stop after this many generated tokens per turn.") var maxTokens: Int = 256

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Greedy generation from a GGUF file, with tokens per second.",
        discussion: "--message formats a one-turn conversation with the model's own chat template; --prompt is sent as it is.")

    @Argument(help: "GGUF file.") var model: String
    @Option(help: "Raw prompt text; special tokens such as <|im_start|> are recognized.") var prompt: String?
    @Option(help: "A user message, formatted with the model's chat template.") var message: String?
    @Option(help: "A system message (with --message).") var system: String?
    @OptionGroup var run: ModelRunOptions

    func validate() throws {
        guard (prompt == nil) != (message == nil) else { throw ValidationError("give exactly one of --prompt and --message") }
        if system != nil && message == nil { throw ValidationError("--system needs --message") }
    }

    func run() throws {
        try reportingErrors {
            let file = try GGUFFile(url: URL(fileURLWithPath: model))
            let chat = try ChatRunner(file: file, threads: run.threads, contextLength: nil)
            if let message {
                var messages: [JSONValue] = []
                if let system { messages.append(ChatRunner.message("system", system)) }
                messages.append(ChatRunner.message("user", message))
                let reply = try chat.respond(to: messages, maxTokens: run.maxTokens) { _ in }
                print(reply.text)
                chat.reportSpeed(reply)
            } else {
                let ids = chat.tokenizer.encode(prompt!, addSpecialTokens: true).map(Int32.init)
                let session = InferenceSession(model: chat.model, contextLength: ids.count + run.maxTokens, threads: run.threads)
                let result = try Generator.greedy(session: session, prompt: ids, maxTokens: run.maxTokens, stopTokens: chat.stopIDs)
                print(chat.tokenizer.decode(result.tokens.map(Int.init), skipSpecialTokens: true))
                chat.reportSpeed(ChatRunner.Reply(text: "", promptTokens: result.promptTokens, evaluatedPromptTokens: result.promptTokens,
                                                  result: result))
            }
        }
    }
}

struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat with a GGUF model on standard input: one line per user turn, replies streamed as generated.",
        discussion: "The conversation is formatted with the model's chat template; the key/value cache is kept across turns, so only the new part of the prompt is evaluated. End with an empty input (Ctrl-D).")

    @Argument(help: "GGUF file.") var model: String
    @Option(help: "A system message for the whole conversation.") var system: String?
    @Option(help: "Context length (tokens of the whole conversation).") var ctx: Int = 4096
    @OptionGroup var run: ModelRunOptions

    func run() throws {
        try reportingErrors {
            let file = try GGUFFile(url: URL(fileURLWithPath: model))
            let chat = try ChatRunner(file: file, threads: run.threads, contextLength: ctx)
            var messages: [JSONValue] = []
            if let system { messages.append(ChatRunner.message("system", system)) }
            let interactive = isatty(0) != 0
            while true {
                if interactive { FileHandle.standardError.write(Data("> ".utf8)) }
                guard let line = readLine(strippingNewline: true) else { break }
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                messages.append(ChatRunner.message("user", line))
                let reply = try chat.respond(to: messages, maxTokens: run.maxTokens) { piece in
                    FileHandle.standardOutput.write(Data(piece.utf8))
                }
                FileHandle.standardOutput.write(Data("\n".utf8))
                messages.append(ChatRunner.message("assistant", reply.text))
                if interactive { chat.reportSpeed(reply) }
            }
        }
    }
}

/// A model with its tokenizer and chat template, answering conversations greedily and keeping its key/value
/// cache between calls: each call renders the whole conversation, keeps the cached tokens it shares with the
/// previous call's prompt and reply, and evaluates the rest.
final class ChatRunner {
    let model: TransformerModel
    let tokenizer: Tokenizer
    let source: ChatTemplateSource
    let template: ChatTemplate
    /// Token ids that end a reply: the template's end-of-turn tokens, EOS and EOT.
    let stopIDs: Set<Int32>
    let threads: Int
    private var session: InferenceSession?
    private let contextLength: Int?
    /// The tokens whose keys and values are in the cache, in order.
    private var cached: [Int32] = []

    struct Reply {
        var text: String
        var promptTokens: Int
        /// Prompt tokens actually evaluated (the rest came from the cache).
        var evaluatedPromptTokens: Int
        var result: GenerationResult
    }

    static func message(_ role: String, _ content: String) -> JSONValue {
        .object([("role", .string(role)), ("content", .string(content))])
    }

    init(file: GGUFFile, threads: Int, contextLength: Int?) throws {
        tokenizer = try Tokenizer(gguf: file)
        source = try ChatTemplateSource.gguf(file)
        template = try source.template(hasTools: false)
        model = try TransformerModel(file: file, threads: threads)
        self.threads = threads
        self.contextLength = contextLength
        var stops = Set<Int32>()
        for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
            if let v = file.metadata[key]?.integerValue { stops.insert(Int32(v)) }
        }
        let report = template.check(vocabulary: source.vocabulary)
        for text in report.stopTokens {
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            if ids.count == 1 { stops.insert(Int32(ids[0])) }
        }
        stopIDs = stops
    }

    /// Generates the assistant's reply to `messages`, calling `onText` with each new piece of text.
    func respond(to messages: [JSONValue], maxTokens: Int, onText: (String) -> Void) throws -> Reply {
        var request = ChatRequest(messages: messages)
        request.addGenerationPrompt = true
        request.specialTokens = source.specialTokens
        let prompt = try template.apply(request)
        // Add BOS unless the template already wrote it.
        let bos = source.specialTokens.first { $0.name == "bos_token" }?.value
        let addSpecial = !(bos.map { !$0.isEmpty && prompt.hasPrefix($0) } ?? false)
        let ids = tokenizer.encode(prompt, addSpecialTokens: addSpecial).map(Int32.init)
        let capacity = contextLength ?? (ids.count + maxTokens)
        guard ids.count < capacity else {
            throw ValidationErrorLine("the conversation has \(ids.count) tokens, more than the context of \(capacity) (--ctx)")
        }
        let session: InferenceSession
        if let existing = self.session, existing.contextLength >= min(capacity, ids.count + maxTokens) {
            session = existing
        } else {
            session = InferenceSession(model: model, contextLength: capacity, threads: threads)
            cached = []
            self.session = session
        }
        // Keep the shared prefix, but always evaluate at least the last prompt token (its logits start the reply).
        var keep = zip(cached, ids).prefix { $0 == $1 }.count
        keep = min(keep, ids.count - 1)
        session.rewind(to: keep)
        cached = Array(ids[..<keep])
        let budget = min(maxTokens, session.contextLength - ids.count)
        let vocabulary = model.configuration.vocabularySize
        let t0 = DispatchTime.now().uptimeNanoseconds
        var logits = try session.evaluate(Array(ids[keep...]))
        cached = ids
        let t1 = DispatchTime.now().uptimeNanoseconds
        var generated: [Int32] = [], printed = 0
        while generated.count < budget {
            var best = 0
            for i in 1..<vocabulary where logits[i] > logits[best] { best = i }
            let next = Int32(best)
            if stopIDs.contains(next) { break }
            generated.append(next)
            let text = tokenizer.decode(generated.map(Int.init), skipSpecialTokens: true)
            // Print only whole characters: a token may end inside a multi-byte character.
            if !text.hasSuffix("\u{FFFD}") {
                let bytes = Array(text.utf8)
                if bytes.count > printed {
                    onText(String(decoding: bytes[printed...], as: UTF8.self))
                    printed = bytes.count
                }
            }
            if generated.count == budget { break }
            logits = try session.evaluate([next])
            cached.append(next)
        }
        let t2 = DispatchTime.now().uptimeNanoseconds
        let text = tokenizer.decode(generated.map(Int.init), skipSpecialTokens: true)
        let result = GenerationResult(tokens: generated, promptTokens: ids.count - keep, promptSeconds: Double(t1 - t0) / 1e9,
                                      generationSeconds: Double(t2 - t1) / 1e9)
        return Reply(text: text.trimmingCharacters(in: .whitespacesAndNewlines), promptTokens: ids.count,
                     evaluatedPromptTokens: ids.count - keep, result: result)
    }

    func reportSpeed(_ reply: Reply) {
        let r = reply.result
        FileHandle.standardError.write(Data(String(
            format: "prompt: %d tokens (%d evaluated), %.1f t/s; generated %d tokens, %.1f t/s\n", reply.promptTokens,
            reply.evaluatedPromptTokens, r.promptTokensPerSecond, r.tokens.count, r.generationTokensPerSecond).utf8))
    }
}
