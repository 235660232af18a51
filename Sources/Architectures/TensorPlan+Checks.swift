import Foundation

extension TensorPlanner {
    /// Checks a plan against `config.json` before anything is written, as llama.cpp would only at load time:
    /// every `blk.N` tensor belongs to a layer below the config's layer count, every layer holds the same
    /// kinds of tensor (so one missing from a layer is named), the model has its core tensors, and the
    /// projections' shapes agree with the config's sizes. Each error names the file and the tensor.
    static func check(
        _ plan: [PlannedTensor], family: ModelFamily, config: HFConfig, checkpoint: String
    ) throws(ArchitectureError) {
        let layerCountKey = config.firstKey(Hyperparameters.blockCountKeys)
        let layers = try config.findInteger(Hyperparameters.blockCountKeys)
        // Layer index and kind ("attn_q.weight") of each block tensor.
        var kindsByLayer: [Int: Set<String>] = [:]
        var example: [String: (layer: Int, tensor: PlannedTensor)] = [:]
        for t in plan {
            guard let (layer, kind) = blockParts(t.name) else { continue }
            if let layers, layer >= layers {
                throw .invalidConfig(
                    path: config.url.path, key: layerCountKey ?? "num_hidden_layers",
                    reason: "is \(layers), but \(location(t)) belongs to layer \(layer)")
            }
            kindsByLayer[layer, default: []].insert(kind)
            if example[kind] == nil { example[kind] = (layer, t) }
        }
        let kinds = kindsByLayer.values.reduce(into: Set<String>()) { $0.formUnion($1) }
        if let layers {
            for layer in 0..<layers {
                let present = kindsByLayer[layer] ?? []
                for kind in kinds.sorted() where !present.contains(kind) {
                    let (other, t) = example[kind]!
                    throw .missingTensor(
                        name: t.hfName.replacingOccurrences(of: ".\(other).", with: ".\(layer)."),
                        expectedIn: checkpoint)
                }
            }
            // The tensors every layer of the family needs, even when all layers lack one.
            for layer in 0..<layers {
                let present = kindsByLayer[layer] ?? []
                for (kind, module) in requiredLayerTensors(family) where !present.contains(kind) {
                    throw .missingTensor(name: "model.layers.\(layer).\(module).weight", expectedIn: checkpoint)
                }
            }
        }
        for (name, module) in [("token_embd.weight", "model.embed_tokens"), ("output_norm.weight", "model.norm")]
        where !plan.contains(where: { $0.name == name }) {
            throw .missingTensor(name: "\(module).weight", expectedIn: checkpoint)
        }
        try checkShapes(plan, family: family, config: config)
    }

    /// GGUF kinds every layer of `family` has, with the Hugging Face module that gives each.
    static func requiredLayerTensors(_ family: ModelFamily) -> [(String, String)] {
        var required = [
            ("attn_norm.weight", "input_layernorm"), ("attn_output.weight", "self_attn.o_proj"),
            ("ffn_down.weight", "mlp.down_proj")
        ]
        if family == .phi3 {
            required += [("attn_qkv.weight", "self_attn.qkv_proj"), ("ffn_up.weight", "mlp.gate_up_proj")]
        } else {
            required += [
                ("attn_q.weight", "self_attn.q_proj"), ("attn_k.weight", "self_attn.k_proj"),
                ("attn_v.weight", "self_attn.v_proj"), ("ffn_gate.weight", "mlp.gate_proj"),
                ("ffn_up.weight", "mlp.up_proj")
            ]
        }
        let feedForwardNorm =
            family == .gemma2 || family == .gemma3 ? "pre_feedforward_layernorm" : "post_attention_layernorm"
        return required + [("ffn_norm.weight", feedForwardNorm)]
    }

    /// `blk.N.kind` → (N, kind).
    static func blockParts(_ name: String) -> (Int, String)? {
        guard name.hasPrefix("blk.") else { return nil }
        let rest = name.dropFirst(4)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]) else { return nil }
        return (layer, String(rest[rest.index(after: dot)...]))
    }

    /// "model.layers.0.mlp.up_proj.weight in /path/model.safetensors".
    static func location(_ t: PlannedTensor) -> String {
        if case let .checkpoint(file, _) = t.source { return "tensor \(t.hfName) in \(file.url.path)" }
        return "tensor \(t.hfName)"
    }

    /// The projection shapes `config.json`'s sizes imply, where the config gives them.
    static func checkShapes(_ plan: [PlannedTensor], family: ModelFamily, config: HFConfig) throws(ArchitectureError) {
        guard let hidden = try config.findInteger(Hyperparameters.embeddingKeys), hidden > 0 else { return }
        let heads = try config.findInteger(Hyperparameters.headKeys)
        let kvHeads = try config.findInteger(Hyperparameters.headKVKeys) ?? heads
        let headDim = try config.integer("head_dim") ?? heads.flatMap { $0 > 0 ? hidden / $0 : nil }
        let inter = try config.findInteger(Hyperparameters.feedForwardKeys)
        let config = config.url.lastPathComponent
        for t in plan {
            guard let (_, kind) = blockParts(t.name) ?? (t.name == "token_embd.weight" ? (0, t.name) : nil) else {
                continue
            }
            var expected: [Int?]
            var because: String
            switch kind {
            case "attn_q.weight":
                expected = [heads.flatMap { h in headDim.map { h * $0 } }, hidden]
                because = "num_attention_heads × head_dim, hidden_size"
            case "attn_k.weight", "attn_v.weight":
                expected = [kvHeads.flatMap { h in headDim.map { h * $0 } }, hidden]
                because = "num_key_value_heads × head_dim, hidden_size"
            case "attn_qkv.weight":
                let rows = heads.flatMap { h in kvHeads.flatMap { k in headDim.map { (h + 2 * k) * $0 } } }
                expected = [rows, hidden]
                because = "(num_attention_heads + 2 × num_key_value_heads) × head_dim, hidden_size"
            case "attn_output.weight":
                expected = [hidden, heads.flatMap { h in headDim.map { h * $0 } }]
                because = "hidden_size, num_attention_heads × head_dim"
            case "ffn_gate.weight":
                expected = [inter, hidden]
                because = "intermediate_size, hidden_size"
            case "ffn_up.weight":
                expected = [family == .phi3 ? inter.map { 2 * $0 } : inter, hidden]
                because =
                    family == .phi3
                    ? "2 × intermediate_size (gate and up), hidden_size" : "intermediate_size, hidden_size"
            case "ffn_down.weight":
                expected = [hidden, inter]
                because = "hidden_size, intermediate_size"
            case "token_embd.weight":
                expected = [nil, hidden]
                because = "vocabulary, hidden_size"
            default:
                continue
            }
            guard t.shape.count == expected.count,
                zip(t.shape, expected).allSatisfy({ actual, wanted in wanted.map { $0 == actual } ?? true })
            else {
                let text = expected.map { $0.map(String.init) ?? "any" }.joined(separator: ", ")
                throw .unexpectedShape(
                    tensor: location(t).dropFirst("tensor ".count).description,
                    expected: "[\(text)] from \(config) (\(because))", actual: t.shape)
            }
        }
    }
}
