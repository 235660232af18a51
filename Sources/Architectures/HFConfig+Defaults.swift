import Foundation

extension HFConfig {
    /// The config as the converter sees it. `convert_hf_to_gguf.py` loads `config.json` through
    /// `transformers.AutoConfig(...).to_dict()`, so the config class's defaults appear even where the file
    /// is silent, and they reach the output (for example `attention.key_length` for every Llama and
    /// Mistral checkpoint). These are the defaults of transformers 5.x that change what the converter writes.
    public func withTransformersDefaults(for family: ModelFamily) -> HFConfig {
        var v = values
        func missing(_ k: String) -> Bool { v[k] == nil || v[k] is NSNull }
        let heads = (v["num_attention_heads"] as? NSNumber)?.intValue
        let hidden = (v["hidden_size"] as? NSNumber)?.intValue
        switch family {
        case .llama:
            // LlamaConfig and MistralConfig: head_dim = hidden_size // num_attention_heads.
            if missing("head_dim"), let h = heads, h > 0, let d = hidden { v["head_dim"] = d / h }
            if missing("num_key_value_heads"), let h = heads { v["num_key_value_heads"] = h }
        case .qwen2:
            // Qwen2Config: an absent value takes the field default 32; an explicit null means num_attention_heads.
            if v["num_key_value_heads"] == nil { v["num_key_value_heads"] = 32 } else if missing("num_key_value_heads"), let h = heads { v["num_key_value_heads"] = h }
        case .qwen3:
            if missing("head_dim") { v["head_dim"] = 128 }
            if v["num_key_value_heads"] == nil { v["num_key_value_heads"] = 32 } else if missing("num_key_value_heads"), let h = heads { v["num_key_value_heads"] = h }
        case .phi3:
            if missing("num_key_value_heads"), let h = heads { v["num_key_value_heads"] = h }
        case .gemma, .gemma2, .gemma3:
            if missing("head_dim") { v["head_dim"] = 256 }
        }
        return HFConfig(url: url, values: v)
    }
}
