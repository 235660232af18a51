import ArgumentParser
import Foundation
import Quantization

/// `kiln-bench make-checkpoint DIR`: a Llama-shaped BF16 checkpoint of any size, written shard by shard
/// and tensor by tensor (memory stays at one tensor), with the tiny-llama fixture's tokenizer. Used to show
/// that Kiln's peak memory does not grow with the model.
struct MakeCheckpoint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-checkpoint", abstract: "Write a synthetic Llama-shaped BF16 checkpoint.")

    @Argument(help: "Output folder.") var directory: String
    @Option(help: "Tokenizer files to copy (a checkpoint folder).") var tokenizerFrom: String = "fixtures/tiny-llama"
    @Option var layers: Int = 16
    @Option var hidden: Int = 2048
    @Option var intermediate: Int = 8192
    @Option var heads: Int = 32
    @Option var kvHeads: Int = 8
    @Option(help: "Layers per shard.") var layersPerShard: Int = 4
    @Flag(help: "Tie the output to the token embedding (no lm_head.weight).") var tied = false

    func run() throws {
        let dir = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let src = URL(fileURLWithPath: tokenizerFrom)
        for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"] {
            let from = src.appendingPathComponent(name), to = dir.appendingPathComponent(name)
            try? FileManager.default.removeItem(at: to)
            if FileManager.default.fileExists(atPath: from.path) { try FileManager.default.copyItem(at: from, to: to) }
        }
        var config =
            try JSONSerialization.jsonObject(with: Data(contentsOf: src.appendingPathComponent("config.json")))
            as! [String: Any]
        let vocab = config["vocab_size"] as! Int
        config["num_hidden_layers"] = layers
        config["hidden_size"] = hidden
        config["intermediate_size"] = intermediate
        config["num_attention_heads"] = heads
        config["num_key_value_heads"] = kvHeads
        config["head_dim"] = hidden / heads
        config["tie_word_embeddings"] = tied
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(
            to: dir.appendingPathComponent("config.json"))

        let kv = hidden / heads * kvHeads
        var shards: [[(String, [Int])]] = []
        var current: [(String, [Int])] = [("model.embed_tokens.weight", [vocab, hidden])]
        for l in 0..<layers {
            let p = "model.layers.\(l)."
            current += [
                (p + "input_layernorm.weight", [hidden]), (p + "self_attn.q_proj.weight", [hidden, hidden]),
                (p + "self_attn.k_proj.weight", [kv, hidden]), (p + "self_attn.v_proj.weight", [kv, hidden]),
                (p + "self_attn.o_proj.weight", [hidden, hidden]), (p + "post_attention_layernorm.weight", [hidden]),
                (p + "mlp.gate_proj.weight", [intermediate, hidden]),
                (p + "mlp.up_proj.weight", [intermediate, hidden]),
                (p + "mlp.down_proj.weight", [hidden, intermediate])
            ]
            if (l + 1) % layersPerShard == 0 { shards.append(current); current = [] }
        }
        current += [("model.norm.weight", [hidden])]
        if !tied { current.append(("lm_head.weight", [vocab, hidden])) }
        shards.append(current)
        var weightMap: [String: String] = [:]
        var seed: UInt64 = 42
        var total = 0
        for (i, shard) in shards.enumerated() {
            let name = String(format: "model-%05d-of-%05d.safetensors", i + 1, shards.count)
            var entries: [String] = []
            var offset = 0
            for (t, shape) in shard {
                let bytes = shape.reduce(2, *)
                entries.append(
                    "\"\(t)\":{\"dtype\":\"BF16\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
                )
                offset += bytes
                weightMap[t] = name
                total += shape.reduce(1, *)
            }
            var header = Array("{\(entries.joined(separator: ","))}".utf8)
            while header.count % 8 != 0 { header.append(0x20) }
            let url = dir.appendingPathComponent(name)
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw ValidationErrorText("cannot create \(url.path)")
            }
            let h = try FileHandle(forWritingTo: url)
            var prefix = [UInt8]()
            withUnsafeBytes(of: UInt64(header.count).littleEndian) { prefix += $0 }
            try h.write(contentsOf: prefix + header)
            for (_, shape) in shard {
                let n = shape.reduce(1, *)
                let isNorm = shape.count == 1
                var out = [UInt16](repeating: 0, count: n)
                for j in 0..<n {
                    seed = seed &* 6364136223846793005 &+ 1442695040888963407
                    let u = Float(seed >> 40) / Float(1 << 24) - 0.5
                    out[j] = HalfPrecision.bf16Bits(isNorm ? 1 + 0.1 * u : 0.04 * u)
                }
                try out.withUnsafeBytes { try h.write(contentsOf: Data($0)) }
            }
            try h.close()
        }
        let index: [String: Any] = ["metadata": ["total_size": total * 2], "weight_map": weightMap]
        try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys]).write(
            to: dir.appendingPathComponent("model.safetensors.index.json"))
        print("wrote \(dir.path): \(shards.count) shards, \(total) parameters")
    }
}
