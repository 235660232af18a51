import Foundation
import Quantization

/// The facts about a model that llama-quantize's mixture rules read.
public struct QuantizationModelFacts: Sendable {
    public var architecture: String
    public var layerCount: Int
    public var headCount: Int
    public var headCountKV: Int
    public var expertCount: Int

    public init(architecture: String, layerCount: Int, headCount: Int, headCountKV: Int, expertCount: Int = 0) {
        self.architecture = architecture
        self.layerCount = layerCount
        self.headCount = headCount
        self.headCountKV = headCountKV
        self.expertCount = expertCount
    }

    /// `n_gqa()`: integer division, 0 without KV heads.
    var gqa: Int { headCountKV == 0 ? 0 : headCount / headCountKV }
    var isFalcon: Bool { architecture == "falcon" }
    /// llama.cpp's `LLM_TYPE_70B`.
    var is70B: Bool {
        (architecture == "llama" && layerCount == 80 && headCount != headCountKV)
            || (["qwen2", "olmo", "deci"].contains(architecture) && layerCount == 80)
            || (architecture == "jais2" && layerCount == 68)
    }
}

/// User choices that steer the mixture (llama-quantize's options).
public struct QuantizationOverrides: Sendable {
    public var outputTensorType: GGMLType?
    public var tokenEmbeddingType: GGMLType?
    /// `--tensor-type REGEX=TYPE`, first match wins.
    public var tensorTypes: [(pattern: String, type: GGMLType)] = []
    public var pure = false
    public var leaveOutputTensor = false
    public var hasImportanceMatrix = false

    public init() {}
}

/// One tensor's place in the mixture.
public struct TensorChoice: Equatable, Sendable {
    public let name: String
    public let target: GGMLType
    /// True when the shape forced a fallback type.
    public let fellBack: Bool
}

/// llama-quantize's type selection (`llama_tensor_get_type` and `llama_tensor_get_type_impl`, spec §5.3–5.7),
/// for the file types Kiln writes. Tensors must be given in llama-quantize's order (``quantizeOrder(_:)``):
/// the per-category counters that decide `use_more_bits` run in that order.
public struct QuantizationPolicy: Sendable {
    public let fileType: LlamaFileType
    public let model: QuantizationModelFacts
    public let overrides: QuantizationOverrides

    public init(
        fileType: LlamaFileType, model: QuantizationModelFacts,
        overrides: QuantizationOverrides = QuantizationOverrides()
    ) {
        self.fileType = fileType
        self.model = model
        self.overrides = overrides
    }

    /// llama-quantize's tensor order: non-block tensors first, then by numeric layer, names by bytes.
    public static func quantizeOrder(_ names: [String]) -> [String] {
        func layer(_ n: String) -> Int {
            guard n.hasPrefix("blk.") else { return -1 }
            let digits = n.dropFirst(4).prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, n.dropFirst(4 + digits.count).first == "." else { return -1 }
            return Int(digits) ?? -1
        }
        return names.sorted { a, b in
            let la = layer(a), lb = layer(b)
            if la != lb { return la < lb }
            return Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
        }
    }

    enum Category {
        case output, tokenEmbedding, attentionQKV, attentionKVB, attentionV, attentionK, attentionQ, attentionOutput,
            ffnUp, ffnGate, ffnDown, other
    }

    static func category(_ name: String) -> Category {
        if name == "output.weight" { return .output }
        if name == "token_embd.weight" || name == "per_layer_token_embd.weight" { return .tokenEmbedding }
        if name.contains("attn_qkv.weight") { return .attentionQKV }
        if name.contains("attn_kv_b.weight") { return .attentionKVB }
        if name.contains("attn_v.weight") { return .attentionV }
        if name.contains("attn_k.weight") { return .attentionK }
        if name.contains("attn_q.weight") { return .attentionQ }
        if name.contains("attn_output.weight") { return .attentionOutput }
        if name.contains("ffn_up") { return .ffnUp }
        if name.contains("ffn_gate") { return .ffnGate }
        if name.contains("ffn_down") { return .ffnDown }
        return .other
    }

    /// `tensor_allows_quantization` for the tensors of the supported families.
    public func allowsQuantization(name: String, dimensions: [Int]) -> Bool {
        let nDims = dimensions.lastIndex(where: { $0 != 1 }).map { $0 + 1 } ?? 1
        if nDims < 2 { return false }
        if !name.hasSuffix("weight") { return false }
        if name.contains("_norm.weight") { return false }
        if overrides.leaveOutputTensor && name == "output.weight" { return false }
        let excluded = [
            "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
            "position_embd.weight", "token_types.weight", "ssm_conv1d", "shortconv.conv.weight",
            "indexer.k_proj.weight", "indexer.q_proj.weight", "attn_rel_b.weight", ".rel_pos", ".patch_embd",
            ".patch_merger"
        ]
        if excluded.contains(where: name.contains) { return false }
        return true
    }

    static func useMoreBits(_ i: Int, _ n: Int) -> Bool {
        i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
    }

    /// Chooses the type of every tensor. `tensors` are (name, dimensions in GGML order, current type) in
    /// llama-quantize's order.
    public func choose(_ tensors: [(name: String, dimensions: [Int], type: GGMLType)]) -> [TensorChoice] {
        let attnV = tensors.filter { [.attentionV, .attentionQKV, .attentionKVB].contains(Self.category($0.name)) }
            .count
        var state = Counters(
            nAttentionV: attnV, nLayers: model.layerCount,
            tiedEmbeddings: !tensors.contains { $0.name == "output.weight" })
        return tensors.map { t in
            let (type, fellBack) = choose(name: t.name, dimensions: t.dimensions, current: t.type, state: &state)
            return TensorChoice(name: t.name, target: type, fellBack: fellBack)
        }
    }

    struct Counters {
        var nAttentionV: Int
        var nLayers: Int
        var tiedEmbeddings: Bool
        var iAttentionV = 0, iFFNDown = 0, iFFNGate = 0, iFFNUp = 0
    }

    func choose(name: String, dimensions: [Int], current: GGMLType, state: inout Counters) -> (GGMLType, Bool) {
        guard allowsQuantization(name: name, dimensions: dimensions) else { return (current, false) }
        let cat = Self.category(name)
        if let t = overrides.tokenEmbeddingType, cat == .tokenEmbedding { return (t, false) }
        if let t = overrides.outputTensorType, cat == .output { return (t, false) }
        var type = fileType.defaultType
        guard type.isQuantized else { return (type, false) }
        var manual = false
        for (pattern, t) in overrides.tensorTypes where name.range(of: pattern, options: .regularExpression) != nil {
            type = t
            manual = true
            break
        }
        if !manual && !overrides.pure {
            type = mixture(type, name: name, rowLength: dimensions[0], category: cat, state: &state)
        }
        return fallback(type, rowLength: dimensions[0])
    }

    /// `tensor_type_fallback`.
    func fallback(_ type: GGMLType, rowLength: Int) -> (GGMLType, Bool) {
        guard rowLength % type.blockSize != 0 else { return (type, false) }
        var result: GGMLType
        switch type {
        case .iq1_s, .iq1_m, .iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s, .iq4_xs: result = .iq4_nl
        case .q2_K, .q3_K, .tq1_0, .tq2_0: result = .q4_0
        case .q4_K: result = .q5_0
        case .q5_K: result = .q5_1
        case .q6_K: result = .q8_0
        default: result = type
        }
        if rowLength % result.blockSize != 0 { result = .f16 }
        return (result, true)
    }

    /// `llama_tensor_get_type_impl` for the supported file types.
    func mixture(
        _ start: GGMLType, name: String, rowLength: Int, category cat: Category, state s: inout Counters
    ) -> GGMLType {
        var t = start
        let ft = fileType
        let m = model
        if cat == .output || (s.tiedEmbeddings && cat == .tokenEmbedding) {
            if let o = overrides.outputTensorType { return o }
            if m.isFalcon || rowLength % t.blockSize != 0 { return .q8_0 }
            return t != .q8_0 ? .q6_K : t
        }
        switch cat {
        case .tokenEmbedding:
            if let e = overrides.tokenEmbeddingType { return e }
            if ft == .tq1_0 || ft == .tq2_0 { t = .q4_K }
        case .attentionV, .attentionQKV, .attentionKVB:
            switch ft {
            case .q2_K: t = m.gqa >= 4 ? .q4_K : .q3_K
            case .q2_K_S where m.gqa >= 4: t = .q4_K
            case .q3_K_M: t = s.iAttentionV < 2 ? .q5_K : .q4_K
            case .q3_K_L: t = .q5_K
            case .iq4_nl where m.gqa >= 4: t = .q5_K
            case .q4_K_M, .q5_K_M: if Self.useMoreBits(s.iAttentionV, s.nAttentionV) { t = .q6_K }
            case .q4_K_S: if s.iAttentionV < 4 { t = .q5_K }
            default: break
            }
            if m.is70B && (t == .q3_K || t == .q4_K) { t = .q5_K }
            if m.expertCount == 8 { t = .q8_0 }
            s.iAttentionV += 1
        case .attentionK:
            if m.expertCount == 8 { t = .q8_0 }
        case .attentionQ:
            break
        case .ffnDown:
            let i = s.iFFNDown, n = s.nLayers
            switch ft {
            case .q2_K: t = .q3_K
            case .q2_K_S: if i < n / 8 { t = .q4_K }
            case .q3_K_M: t = i < n / 16 ? .q5_K : (!m.isFalcon || Self.useMoreBits(i, n)) ? .q4_K : .q3_K
            case .q3_K_L: t = m.isFalcon ? .q4_K : .q5_K
            case .q4_K_M:
                if m.isFalcon {
                    t = i < n / 16 ? .q6_K : Self.useMoreBits(i, n) ? .q5_K : .q4_K
                } else if Self.useMoreBits(i, n) {
                    t = .q6_K
                }
            case .iq4_nl where i < n / 8 && !overrides.hasImportanceMatrix: t = .q5_K
            case .q5_K_M where Self.useMoreBits(i, n): t = .q6_K
            case .q4_K_S where !m.isFalcon && i < n / 8: t = .q5_K
            case .q4_0 where overrides.hasImportanceMatrix && i < n / 8: t = .q4_1
            case .q5_0 where overrides.hasImportanceMatrix && i < n / 8: t = .q5_1
            default: break
            }
            s.iFFNDown += 1
        case .attentionOutput:
            if !m.isFalcon {
                if m.expertCount == 8 {
                    if [.q2_K, .q3_K_S, .q3_K_M, .iq4_nl, .q4_K_S, .q4_K_M].contains(ft) { t = .q5_K }
                } else {
                    switch ft {
                    case .q2_K: t = .q3_K
                    case .q3_K_M: t = .q4_K
                    case .q3_K_L: t = .q5_K
                    default: break
                    }
                }
            } else if ft == .q3_K_L {
                t = .q4_K
            }
        case .ffnGate:
            s.iFFNGate += 1
        case .ffnUp:
            s.iFFNUp += 1
        case .output, .other:
            break
        }
        return t
    }

    /// Whether the file type needs an importance matrix for this tensor (`tensor_requires_imatrix`).
    public func requiresImportanceMatrix(name: String, target: GGMLType) -> Bool {
        guard fileType == .q2_K_S, target == .q2_K else { return false }
        return !["token_embd.weight", "per_layer_token_embd.weight", "output.weight"].contains(name)
    }
}
