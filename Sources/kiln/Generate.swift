import ArgumentParser
import ChatTemplates
import Conversion
import Foundation
import GGUF
import Inference
import JSON
import Tokenization
import Verification

/// Options shared by the commands that run a model.
struct ModelRunOptions: ParsableArguments {
    @OptionGroup var threadsOption: ThreadsOption
    @Option(help: "Stop after this many generated tokens per turn.") var maxTokens: Int = 256

    var threads: Int { threadsOption.count }

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Greedy generation from a GGUF file, with tokens per second.",
        discussion:
            "--message formats a one-turn conversation with the model's own chat template; --prompt is sent as it is.")

    @Argument(help: "GGUF file.") var model: String
    @Option(help: "Raw prompt text; special tokens such as <|im_start|> are recognized.") var prompt: String?
    @Option(help: "A user message, formatted with the model's chat template.") var message: String?
    @Option(help: "A system message (with --message).") var system: String?
    @OptionGroup var options: ModelRunOptions

    func validate() throws {
        guard (prompt == nil) != (message == nil) else {
            throw ValidationError("give exactly one of --prompt and --message")
        }
        if system != nil && message == nil { throw ValidationError("--system needs --message") }
    }

    func run() throws {
        try reportingErrors {
            let file = try GGUFFile(url: URL(fileURLWithPath: model))
            let chat = try ChatSession(file: file, threads: options.threads, contextLength: nil)
            if let message {
                var messages: [JSONValue] = []
                if let system { messages.append(ChatSession.message("system", system)) }
                messages.append(ChatSession.message("user", message))
                let reply = try chat.respond(to: messages, maxTokens: options.maxTokens) { _ in }
                print(reply.text)
                chat.reportSpeed(reply)
            } else {
                let ids = chat.tokenizer.encode(prompt!, addSpecialTokens: true).map(Int32.init)
                let session = InferenceSession(
                    model: chat.model, contextLength: ids.count + options.maxTokens, threads: options.threads)
                let result = try Generator.greedy(
                    session: session, prompt: ids, maxTokens: options.maxTokens, stopTokens: chat.stopIDs)
                print(chat.tokenizer.decode(result.tokens.map(Int.init), skipSpecialTokens: true))
                chat.reportSpeed(
                    ChatSession.Reply(
                        text: "", promptTokens: result.promptTokens, evaluatedPromptTokens: result.promptTokens,
                        result: result))
            }
        }
    }
}

struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat with a GGUF model on standard input: one line per user turn, replies streamed as generated.",
        discussion:
            "The conversation is formatted with the model's chat template; the key/value cache is kept across turns, so only the new part of the prompt is evaluated. End with an empty input (Ctrl-D)."
    )

    @Argument(help: "GGUF file.") var model: String
    @Option(help: "A system message for the whole conversation.") var system: String?
    @Option(help: "Context length (tokens of the whole conversation).") var ctx: Int = 4096
    @OptionGroup var options: ModelRunOptions

    func run() throws {
        try reportingErrors {
            let file = try GGUFFile(url: URL(fileURLWithPath: model))
            let chat = try ChatSession(file: file, threads: options.threads, contextLength: ctx)
            var messages: [JSONValue] = []
            if let system { messages.append(ChatSession.message("system", system)) }
            let interactive = isatty(0) != 0
            while true {
                if interactive { FileHandle.standardError.write(Data("> ".utf8)) }
                guard let line = readLine(strippingNewline: true) else { break }
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                messages.append(ChatSession.message("user", line))
                let reply = try chat.respond(to: messages, maxTokens: options.maxTokens) { piece in
                    FileHandle.standardOutput.write(Data(piece.utf8))
                }
                FileHandle.standardOutput.write(Data("\n".utf8))
                messages.append(ChatSession.message("assistant", reply.text))
                if interactive { chat.reportSpeed(reply) }
            }
        }
    }
}

extension ChatSession {
    func reportSpeed(_ reply: Reply) {
        let r = reply.result
        FileHandle.standardError.write(
            Data(
                String(
                    format: "prompt: %d tokens (%d evaluated), %.1f t/s; generated %d tokens, %.1f t/s\n",
                    reply.promptTokens,
                    reply.evaluatedPromptTokens, r.promptTokensPerSecond, r.tokens.count, r.generationTokensPerSecond
                ).utf8))
    }
}
