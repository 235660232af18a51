import Foundation
import KilnTestSupport
import Quantization
import Testing

@testable import Architectures

/// A llama-shaped tensor list (GGML dimension order) as `kiln convert` writes it.
func llamaTensors(
    layers: Int, embd: Int, ff: Int, vocab: Int, kvDim: Int, tied: Bool
) -> [(name: String, dimensions: [Int], type: GGMLType)] {
    var t: [(String, [Int], GGMLType)] = [
        ("token_embd.weight", [embd, vocab], .f32), ("output_norm.weight", [embd], .f32)
    ]
    if !tied { t.append(("output.weight", [embd, vocab], .f32)) }
    for i in 0..<layers {
        t += [
            ("blk.\(i).attn_norm.weight", [embd], .f32), ("blk.\(i).attn_q.weight", [embd, embd], .f32),
            ("blk.\(i).attn_k.weight", [embd, kvDim], .f32), ("blk.\(i).attn_v.weight", [embd, kvDim], .f32),
            ("blk.\(i).attn_output.weight", [embd, embd], .f32), ("blk.\(i).ffn_norm.weight", [embd], .f32),
            ("blk.\(i).ffn_gate.weight", [embd, ff], .f32), ("blk.\(i).ffn_up.weight", [embd, ff], .f32),
            ("blk.\(i).ffn_down.weight", [ff, embd], .f32)
        ]
    }
    return t.map { (name: $0.0, dimensions: $0.1, type: $0.2) }
}

func choose(
    _ ft: LlamaFileType, _ tensors: [(name: String, dimensions: [Int], type: GGMLType)], heads: Int = 16,
    kvHeads: Int = 4, layers: Int
) -> [String: GGMLType] {
    let ordered = QuantizationPolicy.quantizeOrder(tensors.map(\.name))
    let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
    let policy = QuantizationPolicy(
        fileType: ft,
        model: QuantizationModelFacts(architecture: "llama", layerCount: layers, headCount: heads, headCountKV: kvHeads)
    )
    let choices = policy.choose(ordered.map { byName[$0]! })
    return Dictionary(uniqueKeysWithValues: choices.map { ($0.name, $0.target) })
}

@Suite("llama-quantize mixture rules")
struct QuantizationPolicyTests {
    @Test("llama-quantize's tensor order: non-block tensors, then numeric layers, names by bytes")
    func order() {
        let names = [
            "blk.10.attn_q.weight", "token_embd.weight", "blk.2.ffn_up.weight", "output.weight", "blk.2.attn_k.weight",
            "output_norm.weight"
        ]
        #expect(
            QuantizationPolicy.quantizeOrder(names) == [
                "output.weight", "output_norm.weight", "token_embd.weight", "blk.2.attn_k.weight",
                "blk.2.ffn_up.weight", "blk.10.attn_q.weight"
            ])
    }

    @Test(
        "use_more_bits matches the spec's listed sets",
        arguments: [
            (16, [0, 1, 4, 7, 10, 13, 14, 15]), (24, [0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23]),
            (32, [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31])
        ])
    func moreBits(n: Int, expected: [Int]) {
        #expect((0..<n).filter { QuantizationPolicy.useMoreBits($0, n) } == expected)
    }

    @Test("type names parse as llama-quantize's do")
    func parsing() {
        #expect(LlamaFileType(parsing: "q4_k_m") == .q4_K_M)
        #expect(LlamaFileType(parsing: "Q4_K") == .q4_K_M)
        #expect(LlamaFileType(parsing: "q3_k") == .q3_K_M)
        #expect(LlamaFileType(parsing: "15") == .q4_K_M)
        #expect(LlamaFileType(parsing: "Q4_K_X") == nil)
    }

    /// The spec's table of resulting mixtures (§5.5) for a dense, untied, GQA-4 model with 256-aligned rows.
    @Test(
        "mixtures for a 256-aligned untied GQA model",
        arguments: LlamaFileType.allCases.filter { ![.tq1_0, .tq2_0, .iq4_nl].contains($0) })
    func mixtures(ft: LlamaFileType) {
        let n = 16
        let got = choose(
            ft, llamaTensors(layers: n, embd: 1024, ff: 2048, vocab: 512, kvDim: 256, tied: false), layers: n)
        let d = ft.defaultType
        let quantized = d.isQuantized
        let more = { (i: Int) in QuantizationPolicy.useMoreBits(i, n) }
        #expect(got["output_norm.weight"] == .f32)
        #expect(got["blk.3.ffn_norm.weight"] == .f32)
        #expect(got["token_embd.weight"] == d, "untied token_embd keeps the default type")
        #expect(got["output.weight"] == (!quantized ? d : ft == .q8_0 ? .q8_0 : .q6_K))
        for i in 0..<n {
            let v = got["blk.\(i).attn_v.weight"], down = got["blk.\(i).ffn_down.weight"],
                o = got["blk.\(i).attn_output.weight"]
            #expect(got["blk.\(i).attn_q.weight"] == d)
            #expect(got["blk.\(i).attn_k.weight"] == d)
            #expect(got["blk.\(i).ffn_gate.weight"] == d)
            #expect(got["blk.\(i).ffn_up.weight"] == d)
            switch ft {
            case .q2_K:
                #expect(v == .q4_K); #expect(o == .q3_K); #expect(down == .q3_K)
            case .q2_K_S:
                #expect(v == .q4_K); #expect(o == .q2_K); #expect(down == (i < n / 8 ? .q4_K : .q2_K))
            case .q3_K_M:
                #expect(v == (i < 2 ? .q5_K : .q4_K)); #expect(o == .q4_K);
                #expect(down == (i < n / 16 ? .q5_K : .q4_K))
            case .q3_K_L:
                #expect(v == .q5_K); #expect(o == .q5_K); #expect(down == .q5_K)
            case .q4_K_S:
                #expect(v == (i < 4 ? .q5_K : .q4_K)); #expect(o == .q4_K); #expect(down == (i < n / 8 ? .q5_K : .q4_K))
            case .q4_K_M:
                #expect(v == (more(i) ? .q6_K : .q4_K)); #expect(o == .q4_K); #expect(down == (more(i) ? .q6_K : .q4_K))
            case .q5_K_M:
                #expect(v == (more(i) ? .q6_K : .q5_K)); #expect(o == .q5_K); #expect(down == (more(i) ? .q6_K : .q5_K))
            default:
                #expect(v == d); #expect(o == d); #expect(down == d)
            }
        }
    }

    @Test("tied embeddings follow the output rule; GQA below 4 changes Q2_K's attn_v")
    func tiedAndGQA() {
        let tensors = llamaTensors(layers: 8, embd: 1024, ff: 2048, vocab: 512, kvDim: 512, tied: true)
        let q4 = choose(.q4_K_M, tensors, heads: 16, kvHeads: 8, layers: 8)
        #expect(q4["token_embd.weight"] == .q6_K)
        let q2 = choose(.q2_K, tensors, heads: 16, kvHeads: 8, layers: 8)
        #expect(q2["blk.0.attn_v.weight"] == .q3_K)
        #expect(q2["token_embd.weight"] == .q6_K)
        let q8 = choose(.q8_0, tensors, heads: 16, kvHeads: 8, layers: 8)
        #expect(q8["token_embd.weight"] == .q8_0)
    }

    @Test("shape fallbacks: K-quants on 576-wide rows, and the F16 last resort")
    func fallbacks() {
        let tensors = llamaTensors(layers: 4, embd: 576, ff: 1536, vocab: 512, kvDim: 192, tied: true)
        let got = choose(.q4_K_M, tensors, heads: 9, kvHeads: 3, layers: 4)
        #expect(got["token_embd.weight"] == .q8_0)
        #expect(got["blk.0.attn_q.weight"] == .q5_0)
        // use_more_bits(i, 4) holds for the last layer only: Q6_K there (576-wide: Q8_0), Q4_K elsewhere.
        #expect(got["blk.0.attn_v.weight"] == .q5_0)
        #expect(got["blk.3.attn_v.weight"] == .q8_0)
        #expect(got["blk.0.ffn_down.weight"] == .q4_K, "1536-wide rows take real K-quants")
        #expect(got["blk.3.ffn_down.weight"] == .q6_K)
        let q2 = choose(.q2_K, tensors, heads: 9, kvHeads: 3, layers: 4)
        #expect(q2["blk.0.ffn_gate.weight"] == .q4_0)
        let odd = choose(.q4_0, [(name: "blk.0.attn_q.weight", dimensions: [48, 48], type: .f32)], layers: 1)
        #expect(odd["blk.0.attn_q.weight"] == .f16)
    }

    @Test("overrides: --pure, --tensor-type, --output-tensor-type, --token-embedding-type, --leave-output-tensor")
    func overrides() {
        let tensors = llamaTensors(layers: 8, embd: 1024, ff: 2048, vocab: 512, kvDim: 256, tied: false)
        let ordered = QuantizationPolicy.quantizeOrder(tensors.map(\.name))
        let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
        func run(_ o: QuantizationOverrides) -> [String: GGMLType] {
            let p = QuantizationPolicy(
                fileType: .q4_K_M,
                model: QuantizationModelFacts(architecture: "llama", layerCount: 8, headCount: 16, headCountKV: 4),
                overrides: o)
            return Dictionary(uniqueKeysWithValues: p.choose(ordered.map { byName[$0]! }).map { ($0.name, $0.target) })
        }
        var o = QuantizationOverrides()
        o.pure = true
        #expect(run(o)["blk.0.attn_v.weight"] == .q4_K)
        #expect(run(o)["output.weight"] == .q4_K)
        o = QuantizationOverrides()
        o.tensorTypes = [("attn_v", .q8_0), ("blk\\.0\\.", .q2_K)]
        #expect(run(o)["blk.0.attn_v.weight"] == .q8_0)
        #expect(run(o)["blk.0.attn_q.weight"] == .q2_K)
        o = QuantizationOverrides()
        o.outputTensorType = .q8_0
        o.tokenEmbeddingType = .q5_K
        #expect(run(o)["output.weight"] == .q8_0)
        #expect(run(o)["token_embd.weight"] == .q5_K)
        o = QuantizationOverrides()
        o.leaveOutputTensor = true
        #expect(run(o)["output.weight"] == .f32)
    }

    /// Every tensor type in llama.cpp's SmolLM2 files (`../shared/golden/smollm2/*.json`) is what the policy
    /// chooses for that model.
    @Test(
        "SmolLM2 golden files: every tensor's type",
        arguments: ["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q3_K_M", "Q2_K"])
    func smolLM2(golden: String) throws {
        let shared = try TestEnvironment.shared
        let json =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: shared.appendingPathComponent("golden/smollm2/\(golden).json")))
            as! [String: Any]
        let tensors = (json["tensors"] as! [[String: Any]]).map { t in
            (name: t["name"] as! String, dimensions: t["shape"] as! [Int], type: GGMLType(name: t["type"] as! String)!)
        }
        let input = tensors.map { (name: $0.name, dimensions: $0.dimensions, type: GGMLType.f32) }
        let got = choose(LlamaFileType(parsing: golden)!, input, heads: 9, kvHeads: 3, layers: 30)
        #expect(
            QuantizationPolicy.quantizeOrder(tensors.map(\.name)) == tensors.map(\.name),
            "golden files list tensors in llama-quantize's order")
        for t in tensors {
            #expect(got[t.name] == t.type, "\(golden) \(t.name)")
        }
    }
}
