import GGUF
import Quantization

/// Errors thrown by the Inference module. Each case carries what a user needs to fix the input.
public enum InferenceError: Error, Equatable, CustomStringConvertible {
    /// The GGUF declares an architecture this module cannot run.
    case unsupportedArchitecture(String)
    /// The architecture is supported but this file uses a variant of it that is not (e.g. long-rope factors).
    case unsupportedFeature(architecture: String, feature: String)
    /// A required metadata key is absent or has the wrong type.
    case missingMetadata(key: String)
    /// A required tensor is absent.
    case missingTensor(String)
    /// A tensor's dimensions (GGML order) differ from what the hyperparameters imply.
    case tensorShapeMismatch(tensor: String, expected: [Int], actual: [Int])
    /// A tensor's type cannot be decoded.
    case unsupportedTensorType(tensor: String, type: GGMLType)
    /// The token list holds fewer tokens than two chunks' worth of context require (llama-perplexity needs 2·n_ctx).
    case textTooShort(tokens: Int, required: Int)
    /// A token id lies outside the vocabulary.
    case tokenOutOfRange(token: Int32, vocabularySize: Int)
    /// The reference and the model under test disagree (vocabulary size, hidden shapes).
    case referenceMismatch(String)
    /// A logits cache file is truncated, has a bad header or a checksum mismatch.
    case corruptLogitsCache(path: String, reason: String)
    /// A file could not be read or written.
    case io(path: String, reason: String)
    /// An argument is out of range (context length, thread count).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(a):
            "unsupported architecture '\(a)' (supported: \(ModelConfiguration.supportedArchitectures.joined(separator: ", ")))"
        case let .unsupportedFeature(a, f): "architecture '\(a)': \(f) is not supported"
        case let .missingMetadata(key): "missing or mistyped metadata key '\(key)'"
        case let .missingTensor(name): "missing tensor '\(name)'"
        case let .tensorShapeMismatch(t, e, a): "tensor '\(t)' has dimensions \(a), expected \(e)"
        case let .unsupportedTensorType(t, type): "tensor '\(t)' has unsupported type \(type)"
        case let .textTooShort(n, r): "text is too short: \(n) tokens, need at least \(r) (two chunks of context)"
        case let .tokenOutOfRange(t, v): "token id \(t) is outside the vocabulary (size \(v))"
        case let .referenceMismatch(m): "reference does not match the model: \(m)"
        case let .corruptLogitsCache(p, r): "corrupt logits cache \(p): \(r)"
        case let .io(p, r): "\(p): \(r)"
        case let .invalidArgument(m): m
        }
    }
}
