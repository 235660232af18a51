import Foundation
import JSON

extension HFConfig {
    /// The config as the converter sees it. `convert_hf_to_gguf.py` loads `config.json` through
    /// `transformers.AutoConfig(...).to_dict()`, so the config class's defaults appear even where the file
    /// is silent, and they reach the output (for example `attention.key_length` for every Llama and
    /// Mistral checkpoint). These are the defaults of transformers 5.x that change what the converter writes.
    public func withTransformersDefaults(for family: ModelFamily) -> HFConfig {
        var v = json
        func missing(_ k: String) -> Bool { v[k] == nil || v[k] == .null }
        func int(_ k: String) -> Int? {
            switch v[k] {
            case .int(let n)?: n
            case .double(let d)? where d.isFinite && abs(d) < 9.2e18: Int(d)
            default: nil
            }
        }
        let heads = int("num_attention_heads"), hidden = int("hidden_size")
        func set(_ k: String, _ n: Int) { v = v.setting(k, to: .int(n)) }
        switch family {
        case .llama:
            // LlamaConfig and MistralConfig: head_dim = hidden_size // num_attention_heads.
            if missing("head_dim"), let h = heads, h > 0, let d = hidden { set("head_dim", d / h) }
            if missing("num_key_value_heads"), let h = heads { set("num_key_value_heads", h) }
        case .qwen2, .qwen3:
            if family == .qwen3, missing("head_dim") { set("head_dim", 128) }
            // Qwen2Config/Qwen3Config: an absent value takes the field default 32; an explicit null means
            // num_attention_heads.
            if v["num_key_value_heads"] == nil {
                set("num_key_value_heads", 32)
            } else if missing("num_key_value_heads"), let h = heads {
                set("num_key_value_heads", h)
            }
        case .phi3:
            if missing("num_key_value_heads"), let h = heads { set("num_key_value_heads", h) }
        case .gemma, .gemma2, .gemma3:
            if missing("head_dim") { set("head_dim", 256) }
        }
        return HFConfig(url: url, merged: v, document: document)
    }
}
