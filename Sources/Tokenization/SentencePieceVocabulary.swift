import JSON

/// A SentencePiece vocabulary as the converter's `_create_vocab_sentencepiece` builds it from
/// `tokenizer.model`, with the overrides from `added_tokens.json` and `tokenizer_config.json`.
///
/// - Every id below `vocabSize` starts as `"[PAD<id>]"`, score -10000, UNUSED.
/// - Piece `i` (for `i < vocabSize`) gives its text, score and type: UNKNOWN, CONTROL, UNUSED and BYTE
///   pieces keep their type; NORMAL and USER_DEFINED pieces become NORMAL (the converter asks
///   sentencepiece `IsUnknown`/`IsControl`/`IsUnused`/`IsByte` only).
/// - `added_tokens.json` (in file order): USER_DEFINED, score -1000.
/// - `tokenizer_config.json` `added_tokens_decoder`: CONTROL if `special` or the token looks special,
///   otherwise USER_DEFINED with "▁" replaced by " "; score -1000.
/// Ids not below `vocabSize` are skipped everywhere.
public struct SentencePieceVocabulary: Sendable {
    public let tokens: [String]
    public let scores: [Float]
    public let tokenTypes: [TokenType]

    /// Builds the vocabulary.
    ///
    /// - Parameter vocabSize: nil means `config.json` `vocab_size_per_layer_input` or `vocab_size` (the
    ///   first present), else the number of pieces.
    /// - Throws: `missingTokenizer` without `tokenizer.model`; `unexpectedJSON` for malformed override files.
    public init(files: TokenizerFiles, vocabSize: Int? = nil) throws(TokenizationError) {
        guard let model = files.sentencePieceModel else {
            throw .missingTokenizer(directory: files.directory.path, expected: "tokenizer.model (SentencePiece)")
        }
        var size = vocabSize ?? 0
        if vocabSize == nil {
            let key = ["vocab_size_per_layer_input", "vocab_size"].first { files.config?[$0] != nil }
            size = key.flatMap { files.configInt($0) } ?? 0
            if size <= 0 { size = model.pieces.count }
        }
        var (tokens, scores, types) = model.paddedVocabulary(size: size)
        let addedPath = files.path("added_tokens.json")
        if let added = files.addedTokensJSON {
            guard let members = added.objectMembers else {
                throw .unexpectedJSON(path: addedPath, field: "(root)", expected: "an object mapping tokens to ids")
            }
            for (token, value) in members {
                guard let id = value.pythonInt, id >= 0 else {
                    throw .unexpectedJSON(path: addedPath, field: token, expected: "a non-negative integer id")
                }
                guard id < size else { continue }
                tokens[id] = token
                scores[id] = -1000
                types[id] = .userDefined
            }
        }
        let configPath = files.path("tokenizer_config.json")
        for (key, item) in files.tokenizerConfig?["added_tokens_decoder"]?.objectMembers ?? [] {
            guard let id = Int(key), id >= 0, let token = item["content"]?.stringValue else {
                throw .unexpectedJSON(
                    path: configPath, field: "added_tokens_decoder[\(key.debugDescription)]",
                    expected: "an integer key and an object with content")
            }
            guard id < size else { continue }
            if truthy(item["special"]) || looksSpecial(token) {
                tokens[id] = token
                types[id] = .control
            } else {
                tokens[id] = replacingMetaspace(token)
                types[id] = .userDefined
            }
            scores[id] = -1000
        }
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = types
    }

    /// `tokenizer.ggml.model` = "llama", `pre` = "default", tokens, scores and token types.
    public var metadataEntries: [TokenizerMetadataEntry] {
        llamaVocabularyEntries(tokens: tokens, scores: scores, types: tokenTypes)
    }
}

/// The head block of the SentencePiece-style paths (`_set_vocab_sentencepiece`, `_set_vocab_llama_hf`).
func llamaVocabularyEntries(tokens: [String], scores: [Float], types: [TokenType]) -> [TokenizerMetadataEntry] {
    [
        TokenizerMetadataEntry(key: TokenizerKey.model, value: .string("llama")),
        TokenizerMetadataEntry(key: TokenizerKey.pre, value: .string("default")),
        TokenizerMetadataEntry(key: TokenizerKey.tokens, value: .stringArray(tokens)),
        TokenizerMetadataEntry(key: TokenizerKey.scores, value: .float32Array(scores)),
        TokenizerMetadataEntry(key: TokenizerKey.tokenType, value: .int32Array(types.map(\.rawValue)))
    ]
}

extension SentencePieceModel {
    /// The converter's starting point for a SentencePiece vocabulary of `size` entries: `[PADi]` placeholders
    /// (score -10000, unused), then the model's pieces over the first ids with their scores and types.
    func paddedVocabulary(size: Int) -> (tokens: [String], scores: [Float], types: [TokenType]) {
        var tokens = (0..<size).map { "[PAD\($0)]" }
        var scores = [Float](repeating: -10000, count: size)
        var types = [TokenType](repeating: .unused, count: size)
        for (id, piece) in pieces.enumerated() {
            guard id < size else { break }
            tokens[id] = piece.piece
            scores[id] = piece.score
            types[id] =
                switch piece.type {
                case .unknown?: .unknown
                case .control?: .control
                case .unused?: .unused
                case .byte?: .byte
                default: .normal
                }
        }
        return (tokens, scores, types)
    }
}
