/// Everything that can go wrong while reading a checkpoint's tokenizer files. Each case names the file and
/// what was expected, so `description` reads as one line a user can act on.
public enum TokenizationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// None of the files a vocabulary needs exists in `directory` (`expected` lists them).
    case missingTokenizer(directory: String, expected: String)
    /// A file exists but could not be read.
    case unreadableFile(path: String, reason: String)
    /// A JSON file is not valid JSON; `offset` is the byte where parsing stopped.
    case malformedJSON(path: String, offset: Int, reason: String)
    /// A JSON file is valid but a field has the wrong shape (`field` is a dotted path such as `model.vocab`).
    case unexpectedJSON(path: String, field: String, expected: String)
    /// The tokenizer model is not the kind this loader converts (e.g. a WordPiece `tokenizer.json` given to
    /// the BPE loader).
    case unsupportedModelType(path: String, found: String, expected: String)
    /// A token id is not below the vocabulary size from `config.json` (the converter asserts the same).
    case vocabularyExceedsVocabSize(path: String, tokenID: Int, vocabSize: Int)
    /// Two sources disagree about the vocabulary (e.g. one id names two different added tokens).
    case vocabularyDisagrees(path: String, detail: String)
    /// Merge number `index` (0-based) names a token that is not in the vocabulary; Hugging Face
    /// `tokenizers` refuses such a file.
    case mergeNamesUnknownToken(path: String, index: Int, token: String)
    /// Merge number `index` is not two tokens separated by one space.
    case malformedMerge(path: String, index: Int, merge: String)
    /// `tokenizer.model` is not a valid SentencePiece `ModelProto`.
    case corruptSentencePieceModel(path: String, offset: Int, reason: String)
    /// The pre-tokenizer configuration matches none of the llama.cpp `tokenizer.ggml.pre` names Kiln knows.
    case unknownPreTokenizer(path: String, found: String)
    /// A special token id is negative (the converter raises `ValueError`).
    case invalidSpecialTokenID(path: String, type: String, id: Int)
    /// A `tokenizer.json` component (`component` is e.g. `normalizer` or `pre_tokenizer`) is of a kind the
    /// tokenizer engine cannot run exactly; `found` describes it.
    case unsupportedComponent(path: String, component: String, found: String)
    /// GGUF tokenizer arrays are inconsistent (e.g. `token_type` has another length than `tokens`).
    case invalidVocabulary(detail: String)

    public var description: String {
        switch self {
        case .missingTokenizer(let directory, let expected):
            "\(directory): no tokenizer found; expected \(expected)"
        case .unreadableFile(let path, let reason):
            "\(path): cannot read file: \(reason)"
        case .malformedJSON(let path, let offset, let reason):
            "\(path): malformed JSON at byte \(offset): \(reason)"
        case .unexpectedJSON(let path, let field, let expected):
            "\(path): field '\(field)' should be \(expected)"
        case .unsupportedModelType(let path, let found, let expected):
            "\(path): unsupported tokenizer model \(found); expected \(expected)"
        case .vocabularyExceedsVocabSize(let path, let tokenID, let vocabSize):
            "\(path): token id \(tokenID) is not below vocab_size \(vocabSize) from config.json"
        case .vocabularyDisagrees(let path, let detail):
            "\(path): inconsistent vocabulary: \(detail)"
        case .mergeNamesUnknownToken(let path, let index, let token):
            "\(path): merge #\(index) names token \(token.debugDescription) which is not in the vocabulary"
        case .malformedMerge(let path, let index, let merge):
            "\(path): merge #\(index) \(merge.debugDescription) is not two tokens separated by a space"
        case .corruptSentencePieceModel(let path, let offset, let reason):
            "\(path): corrupt SentencePiece model at byte \(offset): \(reason)"
        case .unknownPreTokenizer(let path, let found):
            "\(path): unrecognized pre-tokenizer configuration \(found); Kiln cannot name its tokenizer.ggml.pre"
        case .invalidSpecialTokenID(let path, let type, let id):
            "\(path): invalid \(type) token id \(id); ids must be non-negative"
        case .unsupportedComponent(let path, let component, let found):
            "\(path): unsupported \(component) \(found); the tokenizer engine cannot run it"
        case .invalidVocabulary(let detail):
            "invalid tokenizer vocabulary: \(detail)"
        }
    }
}
