import GGUF

/// Hyperparameters of a decoder-only transformer, read from GGUF metadata (`{arch}.*` keys).
///
/// Family differences are expressed as data (activation, scales, soft-caps, sliding-window layers, which
/// optional norms exist) so one forward pass serves every family; the defaults for keys a GGUF may omit are
/// llama.cpp's (`src/models/*.cpp`, `llama-hparams.h`), since the GGUF means what llama.cpp makes of it.
public struct ModelConfiguration: Equatable, Sendable {
    /// How rotary embeddings pair the dimensions of a head.
    public enum RopeStyle: Equatable, Sendable {
        /// llama.cpp `LLAMA_ROPE_TYPE_NORM`: pairs (2i, 2i+1); used by llama after the converter's Q/K permutation.
        case interleaved
        /// `LLAMA_ROPE_TYPE_NEOX`: pairs (i, i + n_rot/2); qwen2/qwen3/phi3/gemma.
        case neox
    }

    /// The feed-forward activation applied to the gate (`act(gate) · up`).
    public enum Activation: Equatable, Sendable {
        /// `x · sigmoid(x)` (SwiGLU): llama, qwen2, qwen3, phi3.
        case silu
        /// GELU, tanh approximation (GeGLU): gemma, gemma2, gemma3.
        case geluTanh
    }

    public static let supportedArchitectures = ["llama", "qwen2", "qwen3", "phi3", "gemma", "gemma2", "gemma3"]

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
    /// Position multiplier of the rotary angles on full-attention layers (`1 / rope.scaling.factor` for linear
    /// scaling, else 1).
    public var ropeFreqScale: Float
    /// Rotary base and position multiplier on sliding-window layers (gemma3: `rope.freq_base_swa`, unscaled).
    public var ropeFreqBaseSliding: Float
    public var ropeFreqScaleSliding: Float
    public var activation: Activation
    /// Multiplier of the token embeddings (gemma: `sqrt(n_embd)`), if any.
    public var embeddingScale: Float?
    /// Multiplier of `q·k` before the softmax (`1/sqrt(head_dim)`, or gemma 27B's `1/sqrt(n_embd/n_head)`).
    public var attentionScale: Float
    /// Whether the queries are multiplied by ``attentionScale`` before attention (llama.cpp's Gemma graphs
    /// scale `Qcur` after RoPE and attend with a scale of 1) rather than the scores inside attention.
    public var scalesQueries: Bool
    /// `c · tanh(s / c)` applied to attention scores (gemma2), if set.
    public var attentionLogitSoftcap: Float?
    /// `c · tanh(l / c)` applied to the output logits (gemma2, optionally gemma3), if set.
    public var finalLogitSoftcap: Float?
    /// How many positions a sliding-window layer attends to, its own included (llama.cpp masks key p0 for
    /// query p1 when `p1 - p0 >= n_swa`); nil when no layer slides.
    public var slidingWindow: Int?
    /// Which layers use the sliding window (all false without one).
    public var slidingLayers: [Bool]
    /// Per-head RMS norms of the queries and keys before rope (`attn_q_norm`, `attn_k_norm`: qwen3, gemma3).
    public var hasQueryKeyNorms: Bool
    /// RMS norms of the attention and feed-forward outputs before each residual add (`post_attention_norm`,
    /// `post_ffw_norm`: gemma2, gemma3).
    public var hasPostNorms: Bool
    /// Whether q, k, v come from one `attn_qkv` matrix and gate, up from one `ffn_up` of 2·n_ff rows (phi3).
    public var hasFusedProjections: Bool
    public var contextLength: Int
    /// Whether the tokenizer prepends BOS (`tokenizer.ggml.add_bos_token`), and its id.
    public var addsBOS: Bool
    public var bosToken: Int32?
    public var eosToken: Int32?

    /// Reads the hyperparameters of `file`, throwing for unsupported architectures or missing keys.
    public init(file: some WeightSource) throws(InferenceError) {
        let md = file.metadata
        guard let arch = md["general.architecture"]?.stringValue else {
            throw .missingMetadata(key: "general.architecture")
        }
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
        // Sizes the forward pass divides by or loops over: a file that lies here is refused, not run.
        for (key, value) in [
            ("embedding_length", embeddingLength), ("block_count", blockCount),
            ("attention.head_count", headCount), ("attention.head_count_kv", headCountKV)
        ]
        where value < 1 {
            throw .invalidArgument("metadata key '\(arch).\(key)' is \(value), expected at least 1")
        }
        guard headCount % headCountKV == 0 else {
            throw .invalidArgument(
                "metadata key '\(arch).attention.head_count_kv' is \(headCountKV), expected a divisor of "
                    + "attention.head_count (\(headCount))")
        }
        headDimension = (try? int("attention.key_length")) ?? embeddingLength / headCount
        feedForwardLength = try int("feed_forward_length")
        rmsEpsilon = try float("attention.layer_norm_rms_epsilon")
        ropeFreqBase = try float("rope.freq_base", default: 10000)
        ropeDimensionCount = (try? int("rope.dimension_count")) ?? headDimension
        ropeStyle = arch == "llama" ? .interleaved : .neox
        switch md["\(arch).rope.scaling.type"]?.stringValue {
        case nil, "none"?:
            ropeFreqScale = 1
        case "linear"?:
            let factor = try float("rope.scaling.factor", default: 1)
            ropeFreqScale = factor == 0 ? 1 : 1 / factor
        case let other?:
            throw .unsupportedFeature(architecture: arch, feature: "rope scaling '\(other)'")
        }
        if file.tensor(named: "rope_factors_long.weight") != nil
            || file.tensor(named: "rope_factors_short.weight") != nil
        {
            throw .unsupportedFeature(architecture: arch, feature: "long-rope factors (rope_factors_long/short)")
        }
        ropeFreqBaseSliding = ropeFreqBase
        ropeFreqScaleSliding = ropeFreqScale
        activation = .silu
        embeddingScale = nil
        attentionLogitSoftcap = nil
        finalLogitSoftcap = nil
        slidingWindow = nil
        hasQueryKeyNorms = arch == "qwen3" || arch == "gemma3"
        hasPostNorms = arch == "gemma2" || arch == "gemma3"
        hasFusedProjections = arch == "phi3"
        var slidingPattern = 0  // layer il slides when il % pattern < pattern - 1 (llama.cpp set_swa_pattern)
        let blocks = blockCount
        switch arch {
        case "gemma", "gemma2", "gemma3":
            activation = .geluTanh
            embeddingScale = Float(embeddingLength).squareRoot()
            if arch == "gemma2" {
                attentionLogitSoftcap = try float("attn_logit_softcapping", default: 50)
                finalLogitSoftcap = try float("final_logit_softcapping", default: 30)
                slidingWindow = (try? int("attention.sliding_window")) ?? 4096
                slidingPattern = 2
                ropeFreqBaseSliding = try float("rope.freq_base_swa", default: ropeFreqBase)
            } else if arch == "gemma3" {
                let cap = try float("final_logit_softcapping", default: 0)
                finalLogitSoftcap = cap == 0 ? nil : cap
                if let w = try? int("attention.sliding_window"), w > 0 {
                    slidingWindow = w
                    slidingPattern = 6
                    ropeFreqBaseSliding = try float("rope.freq_base_swa", default: 10000)
                    ropeFreqScaleSliding = 1
                }
            }
        default:
            // phi3 writes `attention.sliding_window`, but llama.cpp disables Phi's sliding window.
            break
        }
        if let p = try? int("attention.sliding_window_pattern") { slidingPattern = p }
        let slides = slidingWindow != nil
        if slides, case let .array(.bool(flags))? = md["\(arch).attention.sliding_window_pattern"] {
            slidingLayers = flags
        } else {
            let pattern = slidingPattern
            slidingLayers = (0..<blocks).map { il in slides && (pattern == 0 || il % pattern < pattern - 1) }
        }
        // llama.cpp's gemma2/gemma3 27B (46 and 62 layers) scale by n_embd/n_head (gemma_pytorch's config).
        let gemma27B = (arch == "gemma2" && blocks == 46) || (arch == "gemma3" && blocks == 62)
        attentionScale = 1 / Float(gemma27B ? embeddingLength / headCount : headDimension).squareRoot()
        scalesQueries = ["gemma", "gemma2", "gemma3"].contains(arch)
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
        guard headCount > 0, headCountKV > 0, headCount % headCountKV == 0, headDimension % 8 == 0,
            ropeDimensionCount <= headDimension, ropeDimensionCount % 2 == 0
        else { throw .missingMetadata(key: "\(arch).attention.head_count (inconsistent head counts)") }
        guard slidingLayers.count == blockCount, slidingWindow.map({ $0 > 0 }) ?? true else {
            throw .missingMetadata(key: "\(arch).attention.sliding_window_pattern (one flag per layer)")
        }
    }
}
