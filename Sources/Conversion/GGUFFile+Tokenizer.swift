import Foundation
import GGUF
import Tokenization

extension Tokenizer {
    /// The tokenizer a GGUF file carries in its `tokenizer.ggml.*` keys, giving llama.cpp's ids.
    public init(gguf file: GGUFFile) throws {
        try self.init(ggufMetadata: file.metadata, path: file.url.path)
    }

    /// The tokenizer `tokenizer.ggml.*` keys describe, before or after they are written to a file (`path`
    /// names them in errors).
    public init(ggufMetadata kv: GGUFMetadata, path: String) throws {
        func strings(_ k: String) -> [String] { if case let .array(.string(a))? = kv[k] { a } else { [] } }
        func int(_ k: String) -> Int? { kv[k]?.integerValue.map(Int.init) }
        func bool(_ k: String) -> Bool? { if case let .bool(b)? = kv[k] { b } else { nil } }
        guard let model = kv["tokenizer.ggml.model"]?.stringValue else {
            throw TokenizationError.missingTokenizer(
                directory: path, expected: "tokenizer.ggml.model and tokenizer.ggml.tokens keys")
        }
        var types: [Int32] = []
        if case let .array(.int32(a))? = kv["tokenizer.ggml.token_type"] { types = a }
        var scores: [Float] = []
        if case let .array(.float32(a))? = kv["tokenizer.ggml.scores"] { scores = a }
        try self.init(
            ggufVocabulary: GGUFTokenizerVocabulary(
                model: model, pre: kv["tokenizer.ggml.pre"]?.stringValue, tokens: strings("tokenizer.ggml.tokens"),
                tokenTypes: types, scores: scores, merges: strings("tokenizer.ggml.merges"),
                bosID: int("tokenizer.ggml.bos_token_id"), eosID: int("tokenizer.ggml.eos_token_id"),
                unknownID: int("tokenizer.ggml.unknown_token_id"), addBOS: bool("tokenizer.ggml.add_bos_token"),
                addEOS: bool("tokenizer.ggml.add_eos_token"), addSpacePrefix: bool("tokenizer.ggml.add_space_prefix")))
    }

    /// The tokenizer of a checkpoint folder or a GGUF file.
    public init(model url: URL) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            try self.init(directory: url)
        } else {
            try self.init(gguf: try GGUFFile(url: url))
        }
    }
}
