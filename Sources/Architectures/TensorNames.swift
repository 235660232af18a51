/// Hugging Face → GGUF tensor names for the supported families (gguf-py's `tensor_mapping.py`).
public enum TensorNames {
    /// Per-layer HF module paths (after `model.layers.N.`) and their GGUF names (after `blk.N.`).
    static func layerMap(_ family: ModelFamily) -> [String: String] {
        var map: [String: String] = [
            "input_layernorm": "attn_norm",
            "self_attn.q_proj": "attn_q",
            "self_attn.k_proj": "attn_k",
            "self_attn.v_proj": "attn_v",
            "self_attn.o_proj": "attn_output",
            "self_attn.qkv_proj": "attn_qkv",
            "self_attn.q_norm": "attn_q_norm",
            "self_attn.k_norm": "attn_k_norm",
            "post_attention_layernorm": "ffn_norm",
            "mlp.gate_proj": "ffn_gate",
            "mlp.up_proj": "ffn_up",
            "mlp.gate_up_proj": "ffn_up",
            "mlp.down_proj": "ffn_down"
        ]
        if family == .gemma2 || family == .gemma3 {
            map["post_attention_layernorm"] = "post_attention_norm"
            map["pre_feedforward_layernorm"] = "ffn_norm"
            map["post_feedforward_layernorm"] = "post_ffw_norm"
        }
        return map
    }

    static let topLevel: [String: String] = [
        "model.embed_tokens": "token_embd",
        "model.norm": "output_norm",
        "lm_head": "output"
    ]

    /// The GGUF name for an HF tensor name, or nil when the family has no mapping for it.
    /// `.weight` and `.bias` suffixes are kept.
    public static func ggufName(for hfName: String, family: ModelFamily) -> String? {
        var suffix = ""
        var stem = hfName
        for s in [".weight", ".bias"] where hfName.hasSuffix(s) {
            suffix = s
            stem = String(hfName.dropLast(s.count))
        }
        if let top = topLevel[stem] { return top + suffix }
        let parts = stem.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]), layer >= 0,
            String(layer) == parts[2]
        else { return nil }
        guard let mapped = layerMap(family)[String(parts[3])] else { return nil }
        return "blk.\(layer).\(mapped)\(suffix)"
    }
}
