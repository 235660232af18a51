/// A GGUF metadata value as the tokenizer keys need it. Tokenization does not depend on the GGUF module;
/// the writer maps each case to its GGUF value type (`.int32Array` is `ARRAY[INT32]`, and so on).
public enum TokenizerMetadataValue: Equatable, Sendable {
    case string(String)
    case bool(Bool)
    case uint32(UInt32)
    case stringArray([String])
    case float32Array([Float])
    case int32Array([Int32])
}

/// One `tokenizer.*` key and its value. Loaders return these in the order the converter writes them.
public struct TokenizerMetadataEntry: Equatable, Sendable {
    public let key: String
    public let value: TokenizerMetadataValue

    public init(key: String, value: TokenizerMetadataValue) {
        self.key = key
        self.value = value
    }
}

/// Token types as gguf-py (`TokenType`) and llama.cpp (`llama_token_type`) number them.
public enum TokenType: Int32, Sendable, CaseIterable {
    case undefined = 0
    case normal = 1
    case unknown = 2
    case control = 3
    case userDefined = 4
    case unused = 5
    case byte = 6
}

/// The `tokenizer.*` key names (gguf-py `Keys.Tokenizer`). Note the converter's spelling "seperator".
public enum TokenizerKey {
    public static let model = "tokenizer.ggml.model"
    public static let pre = "tokenizer.ggml.pre"
    public static let tokens = "tokenizer.ggml.tokens"
    public static let scores = "tokenizer.ggml.scores"
    public static let tokenType = "tokenizer.ggml.token_type"
    public static let merges = "tokenizer.ggml.merges"
    public static let addSpacePrefix = "tokenizer.ggml.add_space_prefix"
    public static let chatTemplate = "tokenizer.chat_template"
    public static let chatTemplates = "tokenizer.chat_templates"
    public static let normalizerLowercase = "tokenizer.ggml.normalizer.lowercase"
    public static let normalizerStripAccents = "tokenizer.ggml.normalizer.strip_accents"

    /// `tokenizer.chat_template.<name>`.
    public static func chatTemplate(named name: String) -> String { "tokenizer.chat_template.\(name)" }

    /// The id key gguf-py's writer has a handler for (`add_<type>_token_id`), or nil when it has none:
    /// a `cls` id, for one, is collected by `SpecialVocab` but never written.
    public static func specialTokenID(_ type: String) -> String? {
        switch type {
        case "bos": "tokenizer.ggml.bos_token_id"
        case "eos": "tokenizer.ggml.eos_token_id"
        case "unk": "tokenizer.ggml.unknown_token_id"
        case "sep": "tokenizer.ggml.seperator_token_id"
        case "pad": "tokenizer.ggml.padding_token_id"
        case "mask": "tokenizer.ggml.mask_token_id"
        case "eot": "tokenizer.ggml.eot_token_id"
        case "eom": "tokenizer.ggml.eom_token_id"
        default: nil
        }
    }

    /// The `add_<type>_token` flag key gguf-py can write (bos, eos and sep only), or nil.
    public static func addSpecialToken(_ type: String) -> String? {
        switch type {
        case "bos": "tokenizer.ggml.add_bos_token"
        case "eos": "tokenizer.ggml.add_eos_token"
        case "sep": "tokenizer.ggml.add_sep_token"
        default: nil
        }
    }
}
