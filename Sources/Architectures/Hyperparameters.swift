import Foundation
import GGUF
import JSON

/// The `{arch}.*` hyperparameter keys the converter writes, in its order (spec §7.5).
public enum Hyperparameters {
    static let blockCountKeys = ["n_layers", "num_hidden_layers", "n_layer", "num_layers"]
    static let contextKeys = [
        "max_position_embeddings", "n_ctx", "n_positions", "max_length", "max_sequence_length", "model_max_length"
    ]
    static let embeddingKeys = ["hidden_size", "n_embd", "dim"]
    static let feedForwardKeys = [
        "prefix_dense_intermediate_size", "dense_intermediate_size", "intermediate_size", "n_inner", "hidden_dim"
    ]
    static let headKeys = ["num_attention_heads", "n_head", "n_heads"]
    static let headKVKeys = ["num_key_value_heads", "n_kv_heads"]
    static let ropeThetaKeys = [
        "global_rope_theta", "rope_global_theta", "rope_theta_global", "rope_theta", "rotary_emb_base"
    ]
    static let localRopeThetaKeys = [
        "local_rope_theta", "rope_local_theta", "rope_theta_local", "swa_rope_theta", "rope_local_base_freq"
    ]

    /// Appends the family's hyperparameters, including `general.file_type`, to `kv`.
    public static func write(
        family: ModelFamily, config c: HFConfig, fileType: UInt32, into kv: inout GGUFMetadata
    ) throws(ArchitectureError) {
        let a = family.ggufName
        func u32(_ key: String, _ v: Int) throws(ArchitectureError) {
            guard let x = UInt32(exactly: v) else {
                throw .invalidConfig(path: c.url.path, key: key, reason: "\(v) does not fit a 32-bit unsigned value")
            }
            kv.set("\(a).\(key)", .uint32(x))
        }
        func f32(_ key: String, _ v: Double) { kv.set("\(a).\(key)", .float32(Float(v))) }
        func require(_ key: String) throws(ArchitectureError) -> Int { try c.requireInteger([key]) }

        switch family {
        case .gemma, .gemma2:
            try u32("context_length", require("max_position_embeddings"))
            try u32("embedding_length", require("hidden_size"))
            try u32("block_count", c.requireInteger(blockCountKeys))
            try u32("feed_forward_length", require("intermediate_size"))
            let heads = try require("num_attention_heads")
            try u32("attention.head_count", heads)
            try u32("attention.head_count_kv", c.integer("num_key_value_heads") ?? heads)
            guard let eps = try c.number("rms_norm_eps") else {
                throw .missingConfigKey(path: c.url.path, keys: ["rms_norm_eps"])
            }
            f32("attention.layer_norm_rms_epsilon", eps)
            try u32("attention.key_length", require("head_dim"))
            try u32("attention.value_length", require("head_dim"))
            kv.set("general.file_type", .uint32(fileType))
            if family == .gemma2 {
                guard let attnCap = try c.number("attn_logit_softcapping") else {
                    throw .missingConfigKey(path: c.url.path, keys: ["attn_logit_softcapping"])
                }
                f32("attn_logit_softcapping", attnCap)
                guard let finalCap = try c.number("final_logit_softcapping") else {
                    throw .missingConfigKey(path: c.url.path, keys: ["final_logit_softcapping"])
                }
                f32("final_logit_softcapping", finalCap)
                try u32("attention.sliding_window", require("sliding_window"))
            }
            return
        case .phi3:
            try writePhi3(config: c, fileType: fileType, into: &kv)
            return
        default:
            break
        }

        // TextModel.set_gguf_parameters
        try u32("block_count", c.requireInteger(blockCountKeys))
        if let v = try c.findInteger(contextKeys) { try u32("context_length", v) }
        if let v = try c.findInteger(embeddingKeys) { try u32("embedding_length", v) }
        if let v = try c.findInteger(feedForwardKeys) { try u32("feed_forward_length", v) }
        if let v = try c.findInteger(headKeys) { try u32("attention.head_count", v) }
        if let v = try c.findInteger(headKVKeys) { try u32("attention.head_count_kv", v) }
        if c.bool("is_causal") == false { kv.set("\(a).attention.causal", .bool(false)) }
        let rope = try RopeParameters(config: c)
        if let type = rope.type {
            switch type.lowercased() == "llama3" ? "llama3" : type {
            case "linear" where rope.factor != nil:
                kv.set("\(a).rope.scaling.type", .string("linear"))
                f32("rope.scaling.factor", rope.factor!)
            case "yarn" where rope.factor != nil:
                kv.set("\(a).rope.scaling.type", .string("yarn"))
                f32("rope.scaling.factor", rope.factor!)
                guard let orig = rope.originalContext else {
                    throw .missingConfigKey(path: c.url.path, keys: ["rope_scaling.original_max_position_embeddings"])
                }
                try u32("rope.scaling.original_context_length", orig)
                if let v = rope.value("extrapolation_factor") { f32("rope.scaling.yarn_ext_factor", v) }
                if let v = rope.value("attention_factor") ?? rope.value("attn_factor") {
                    f32("rope.scaling.yarn_attn_factor", v)
                }
                if let v = rope.value("beta_fast") { f32("rope.scaling.yarn_beta_fast", v) }
                if let v = rope.value("beta_slow") { f32("rope.scaling.yarn_beta_slow", v) }
            case "su", "longrope":
                kv.set("\(a).rope.scaling.type", .string("longrope"))
            default:
                break
            }
        }
        if let theta = rope.theta { f32("rope.freq_base", theta) }
        if let local = rope.localTheta { f32("rope.freq_base_swa", local) }
        if let eps = try c.findNumber(["rms_norm_eps", "norm_eps"]) { f32("attention.layer_norm_rms_epsilon", eps) }
        if let eps = try c.findNumber(["layer_norm_eps", "layer_norm_epsilon", "norm_epsilon"]) {
            f32("attention.layer_norm_epsilon", eps)
        }
        if let headDim = try c.integer("head_dim") {
            try u32("attention.key_length", headDim)
            try u32("attention.value_length", headDim)
        }
        kv.set("general.file_type", .uint32(fileType))

        switch family {
        case .llama:
            try u32("vocab_size", require("vocab_size"))
            let ropeDim: Int
            if let d = try c.integer("head_dim") {
                ropeDim = d
            } else {
                ropeDim = try require("hidden_size") / require("num_attention_heads")
            }
            try u32("rope.dimension_count", ropeDim)
        case .gemma3:
            // Gemma3Model re-sets these (keeping their first position) and appends the rest.
            try u32("context_length", c.integer("max_position_embeddings") ?? 131072)
            try u32("attention.head_count", c.integer("num_attention_heads") ?? 8)
            f32("attention.layer_norm_rms_epsilon", try c.number("rms_norm_eps") ?? 1e-6)
            try u32("attention.key_length", c.integer("head_dim") ?? 256)
            try u32("attention.value_length", c.integer("head_dim") ?? 256)
            f32("rope.freq_base", rope.theta ?? 1_000_000)
            if c.has("attn_logit_softcapping") {
                throw .invalidConfig(
                    path: c.url.path, key: "attn_logit_softcapping", reason: "Gemma 3 has no attention soft-capping")
            }
            if let cap = try c.number("final_logit_softcapping"), cap != 0 { f32("final_logit_softcapping", cap) }
            if try c.integer("sliding_window_pattern") != 1 {
                try u32("attention.sliding_window", require("sliding_window"))
            }
            try u32("attention.head_count_kv", c.integer("num_key_value_heads") ?? 4)
        default:
            break
        }
    }

    /// Phi-3's own routine (`Phi3MiniModel.set_gguf_parameters`).
    static func writePhi3(config c: HFConfig, fileType: UInt32, into kv: inout GGUFMetadata) throws(ArchitectureError) {
        let a = "phi3"
        func u32(_ key: String, _ v: Int) { kv.set("\(a).\(key)", .uint32(UInt32(truncatingIfNeeded: v))) }
        let nEmbd = try c.requireInteger(["hidden_size", "n_embd"])
        let nHead = try c.requireInteger(["num_attention_heads", "n_head"])
        let nHeadKV = try c.requireInteger(["num_key_value_heads", "n_head_kv"])
        let maxPos = try c.requireInteger(["n_positions", "max_position_embeddings"])
        let rope = try RopeParameters(config: c)
        let rootOrig = try c.integer("original_max_position_embeddings")
        guard let origMaxPos = rope.originalContext ?? rootOrig else {
            throw .missingConfigKey(path: c.url.path, keys: ["original_max_position_embeddings"])
        }
        guard let rmsEps = try c.number("rms_norm_eps") else {
            throw .missingConfigKey(path: c.url.path, keys: ["rms_norm_eps"])
        }
        guard let theta = rope.theta else { throw .missingConfigKey(path: c.url.path, keys: ["rope_theta"]) }
        let blockCount = try c.requireInteger(Hyperparameters.blockCountKeys)
        let rootPartial = try c.findNumber(["partial_rotary_factor", "rope_pct", "rope_percent"])
        let partial = rope.value("partial_rotary_factor") ?? rootPartial ?? 1.0
        let ropeDims = Int(partial * Double(nEmbd)) / nHead
        u32("context_length", maxPos)
        u32("rope.scaling.original_context_length", origMaxPos)
        u32("embedding_length", nEmbd)
        u32("feed_forward_length", try c.requireInteger(["intermediate_size"]))
        u32("block_count", blockCount)
        u32("attention.head_count", nHead)
        u32("attention.head_count_kv", nHeadKV)
        kv.set("\(a).attention.layer_norm_rms_epsilon", .float32(Float(rmsEps)))
        u32("rope.dimension_count", ropeDims)
        kv.set("\(a).rope.freq_base", .float32(Float(theta)))
        kv.set("general.file_type", .uint32(fileType))
        u32("attention.sliding_window", try c.integer("sliding_window") ?? 0)
    }
}

/// `rope_parameters` (or legacy `rope_scaling`) with the root-level values mirrored in, as
/// `TextModel.__init__` does.
struct RopeParameters {
    let params: JSONValue
    let theta: Double?
    let localTheta: Double?

    init(config c: HFConfig) throws(ArchitectureError) {
        var p: JSONValue =
            [c["rope_parameters"], c["rope_scaling"]].lazy.compactMap { $0 }.first { $0.objectMembers != nil }
            ?? .object([])
        let local = try c.findNumber(Hyperparameters.localRopeThetaKeys)
        if p["full_attention"] == nil, p["sliding_attention"] == nil {
            if let local { p = p.setting("sliding_attention", to: .object([("rope_theta", .double(local))])) }
            if p["rope_theta"] == nil, let t = try c.findNumber(Hyperparameters.ropeThetaKeys) {
                p = p.setting("rope_theta", to: .double(t))
            }
            if p["rope_type"] == nil, let t = p["type"] { p = p.setting("rope_type", to: t) }
        }
        params = p["full_attention"].flatMap { $0.objectMembers != nil ? $0 : nil } ?? p
        theta = params["rope_theta"]?.numberValue
        localTheta = p["sliding_attention"]?["rope_theta"]?.numberValue
    }

    var type: String? { params["rope_type"]?.stringValue }
    var factor: Double? { value("factor") }
    var originalContext: Int? { params["original_max_position_embeddings"]?.integerValue }
    func value(_ key: String) -> Double? { params[key]?.numberValue }
}
