import ChatTemplates
import Conversion
import FileAccess
import Foundation
import GGUF
import Inference
import JSON
import Tokenization

/// A model with its tokenizer and chat template, answering conversations greedily and keeping its key/value
/// cache between calls: each call renders the whole conversation, keeps the cached tokens it shares with the
/// previous call's prompt and reply, and evaluates the rest.
public final class ChatSession {
    public let model: TransformerModel
    public let tokenizer: Tokenizer
    public let source: ChatTemplateSource
    public let template: ChatTemplate
    /// Token ids that end a reply: the template's end-of-turn tokens, EOS and EOT.
    public let stopIDs: Set<Int32>
    public let threads: Int
    private var session: InferenceSession?
    private let contextLength: Int?
    /// The tokens whose keys and values are in the cache, in order.
    private var cached: [Int32] = []

    public struct Reply: Sendable {
        public var text: String
        public var promptTokens: Int
        /// Prompt tokens actually evaluated (the rest came from the cache).
        public var evaluatedPromptTokens: Int
        public var result: GenerationResult

        public init(text: String, promptTokens: Int, evaluatedPromptTokens: Int, result: GenerationResult) {
            self.text = text
            self.promptTokens = promptTokens
            self.evaluatedPromptTokens = evaluatedPromptTokens
            self.result = result
        }
    }

    public static func message(_ role: String, _ content: String) -> JSONValue {
        .object([("role", .string(role)), ("content", .string(content))])
    }

    public init(file: GGUFFile, threads: Int, contextLength: Int?) throws {
        let path = file.url.path
        tokenizer = try NamedFileError.naming(path) { try Tokenizer(gguf: file) }
        source = try NamedFileError.naming(path) { try ChatTemplateSource.gguf(file) }
        let source = source
        template = try NamedFileError.naming(path) { try source.template(hasTools: false) }
        model = try NamedFileError.naming(path) { try TransformerModel(file: file, threads: threads) }
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
    public func respond(to messages: [JSONValue], maxTokens: Int, onText: (String) -> Void) throws -> Reply {
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
            throw ChatSessionError.contextTooSmall(tokens: ids.count, context: capacity)
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
        let result = GenerationResult(
            tokens: generated, promptTokens: ids.count - keep, promptSeconds: Double(t1 - t0) / 1e9,
            generationSeconds: Double(t2 - t1) / 1e9)
        return Reply(
            text: text.trimmingCharacters(in: .whitespacesAndNewlines), promptTokens: ids.count,
            evaluatedPromptTokens: ids.count - keep, result: result)
    }
}

public enum ChatSessionError: Error, Equatable, CustomStringConvertible {
    case contextTooSmall(tokens: Int, context: Int)

    public var description: String {
        switch self {
        case .contextTooSmall(let tokens, let context):
            "the conversation has \(tokens) tokens, more than the context of \(context) (--ctx)"
        }
    }
}
