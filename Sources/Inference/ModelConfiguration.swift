import GGUF

/// Hyperparameters of a decoder-only transformer, read from GGUF metadata (`{arch}.*` keys).
///
/// Family differences are expressed as flags so later families (qwen2 biases, qwen3 q/k norms, phi3 fused
/// projections, gemma's scaled embeddings) can be added without a new forward pass.
public struct ModelConfiguration: Equatable, Sendable {
    /// How rotary embeddings pair the dimensions of a head.
    public enum RopeStyle: Equatable, Sendable {
        /// llama.cpp `LLAMA_ROPE_TYPE_NORM`: pairs (2i, 2i+1); used by llama after the converter's Q/K permutation.
        case interleaved
        /// `LLAMA_ROPE_TYPE_NEOX`: pairs (i, i + n_rot/2); qwen2/qwen3/phi3/gemma.
        case neox
    }

    public static let supportedArchitectures = ["llama"]

    public var architecture: String
    public var embeddingLength: Int
    public var blockCount: Int
    public var headCount: Int
    public var headCountKV: Int
    public var headDimension: Int
    public var feedForwardLength: Int
    public var vocabularySize: Int
    public var rmsEpsilon: Float
    public var ropeFreqBase: Float
    public var ropeDimensionCount: Int
    public var ropeStyle: RopeStyle
    public var contextLength: Int
    /// Whether the tokenizer prepends BOS (`tokenizer.ggml.add_bos_token`), and its id.
    public var addsBOS: Bool
    public var bosToken: Int32?
    public var eosToken: Int32?

    /// Reads the hyperparameters of `file`, throwing for unsupported architectures or missing keys.
    public init(file: some WeightSource) throws(InferenceError) {
        let md = file.metadata
        guard let arch = md["general.architecture"]?.stringValue else { throw .missingMetadata(key: "general.architecture") }
        guard Self.supportedArchitectures.contains(arch) else { throw .unsupportedArchitecture(arch) }
        func int(_ key: String) throws(InferenceError) -> Int {
            guard let v = md["\(arch).\(key)"]?.integerValue else { throw .missingMetadata(key: "\(arch).\(key)") }
            return Int(v)
        }
        func float(_ key: String, default d: Float? = nil) throws(InferenceError) -> Float {
            switch md["\(arch).\(key)"] {
            case let .float32(v)?: return v
            case let .float64(v)?: return Float(v)
            default:
                if let d { return d }
                throw .missingMetadata(key: "\(arch).\(key)")
            }
        }
        architecture = arch
        embeddingLength = try int("embedding_length")
        blockCount = try int("block_count")
        headCount = try int("attention.head_count")
        headCountKV = (try? int("attention.head_count_kv")) ?? headCount
        headDimension = (try? int("attention.key_length")) ?? embeddingLength / headCount
        feedForwardLength = try int("feed_forward_length")
        rmsEpsilon = try float("attention.layer_norm_rms_epsilon")
        ropeFreqBase = try float("rope.freq_base", default: 10000)
        ropeDimensionCount = (try? int("rope.dimension_count")) ?? headDimension
        ropeStyle = .interleaved
        contextLength = (try? int("context_length")) ?? 2048
        if case let .array(tokens)? = md["tokenizer.ggml.tokens"] {
            vocabularySize = tokens.count
        } else if let v = try? int("vocab_size") {
            vocabularySize = v
        } else {
            guard let emb = file.tensor(named: "token_embd.weight"), emb.dimensions.count == 2 else {
                throw .missingTensor("token_embd.weight")
            }
            vocabularySize = emb.dimensions[1]
        }
        if case let .bool(b)? = md["tokenizer.ggml.add_bos_token"] {
            addsBOS = b
        } else {
            // llama.cpp's default: SentencePiece vocabularies add BOS, BPE ones do not.
            addsBOS = md["tokenizer.ggml.model"]?.stringValue == "llama"
        }
        bosToken = md["tokenizer.ggml.bos_token_id"]?.integerValue.map { Int32($0) }
        eosToken = md["tokenizer.ggml.eos_token_id"]?.integerValue.map { Int32($0) }
        guard headCount > 0, headCountKV > 0, headCount % headCountKV == 0, headDimension % 2 == 0,
              ropeDimensionCount <= headDimension, ropeDimensionCount % 2 == 0
        else { throw .missingMetadata(key: "\(arch).attention.head_count (inconsistent head counts)") }
    }
}
