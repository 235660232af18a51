import Architectures
import Conversion
import Foundation
import GGUF
import KilnTestSupport
import Quantization
import Testing

/// A small Llama-shaped F32 GGUF with 256-wide rows (so real K-quants are chosen), GQA 4 and untied or
/// tied embeddings, written with Kiln's own writer from a fixed-seed generator.
func makeLlamaGGUF(
    _ url: URL, layers: Int = 8, tied: Bool = false, embd: Int = 256, ff: Int = 512, vocab: Int = 64
) throws {
    var kv = GGUFMetadata()
    kv.set("general.architecture", .string("llama"))
    kv.set("general.type", .string("model"))
    kv.set("general.name", .string("Synthetic"))
    kv.set("llama.block_count", .uint32(UInt32(layers)))
    kv.set("llama.embedding_length", .uint32(UInt32(embd)))
    kv.set("llama.attention.head_count", .uint32(8))
    kv.set("llama.attention.head_count_kv", .uint32(2))
    kv.set("general.file_type", .uint32(0))
    kv.set("general.quantization_version", .uint32(2))
    var tensors: [GGUFTensorInfo] = [GGUFTensorInfo(name: "token_embd.weight", dimensions: [embd, vocab], type: .f32)]
    if !tied { tensors.append(GGUFTensorInfo(name: "output.weight", dimensions: [embd, vocab], type: .f32)) }
    tensors.append(GGUFTensorInfo(name: "output_norm.weight", dimensions: [embd], type: .f32))
    for i in 0..<layers {
        tensors += [
            GGUFTensorInfo(name: "blk.\(i).attn_norm.weight", dimensions: [embd], type: .f32),
            GGUFTensorInfo(name: "blk.\(i).attn_q.weight", dimensions: [embd, embd], type: .f32),
            GGUFTensorInfo(name: "blk.\(i).attn_k.weight", dimensions: [embd, embd / 4], type: .f32),
            GGUFTensorInfo(name: "blk.\(i).attn_v.weight", dimensions: [embd, embd / 4], type: .f32),
            GGUFTensorInfo(name: "blk.\(i).attn_output.weight", dimensions: [embd, embd], type: .f32),
            GGUFTensorInfo(name: "blk.\(i).ffn_norm.weight", dimensions: [embd], type: .f32),
            GGUFTensorInfo(name: "blk.\(i).ffn_gate.weight", dimensions: [embd, ff], type: .f32),
            GGUFTensorInfo(name: "blk.\(i).ffn_up.weight", dimensions: [embd, ff], type: .f32),
            GGUFTensorInfo(name: "blk.\(i).ffn_down.weight", dimensions: [ff, embd], type: .f32)
        ]
    }
    let w = try GGUFWriter(destination: url, metadata: kv, tensors: tensors, overwrite: true)
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    for t in tensors {
        let values = (0..<t.elementCount).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u = Float(state >> 40) / Float(1 << 24) - 0.5
            return t.dimensions.count == 1 ? 1 + u * 0.1 : u * 0.04
        }
        try values.withUnsafeBytes { try w.writeTensorData($0) }
    }
    try w.finish()
}

@Suite("kiln quantize options and refusals")
struct QuantizeOptionTests {
    func plan(
        _ input: URL, _ type: LlamaFileType, _ configure: (inout QuantizeOptions) -> Void = { _ in }
    ) throws -> [String: GGMLType] {
        var o = QuantizeOptions(
            input: input, output: input.deletingLastPathComponent().appendingPathComponent("unused.gguf"),
            fileType: type)
        o.dryRun = true
        configure(&o)
        return Dictionary(uniqueKeysWithValues: try Quantize.run(o).entries.map { ($0.name, $0.to) })
    }

    /// A small Llama GGUF in a temporary folder and options quantizing it to `out.gguf` there.
    func quantizing(to type: LlamaFileType) throws -> (TemporaryFolder, QuantizeOptions) {
        let folder = TemporaryFolder()
        try makeLlamaGGUF(folder.file("in.gguf"))
        return (folder, QuantizeOptions(input: folder.file("in.gguf"), output: folder.file("out.gguf"), fileType: type))
    }

    @Test("a dry run plans without writing, and the plan is what gets written")
    func dryRun() throws {
        var (folder, o) = try quantizing(to: .q4_K_M)
        o.dryRun = true
        let planned = try Quantize.run(o)
        #expect(!planned.wrote)
        #expect(!FileManager.default.fileExists(atPath: folder.file("out.gguf").path))
        o.dryRun = false
        let written = try Quantize.run(o)
        #expect(written.fileBytes == planned.fileBytes)
        let f = try GGUFFile(url: folder.file("out.gguf"))
        #expect(f.tensors.map(\.type) == planned.entries.map(\.to))
        #expect(f.metadata.keys.suffix(2) == ["general.quantization_version", "general.file_type"])
        #expect(f.metadata["general.file_type"] == .uint32(15))
        #expect(planned.entries.first { $0.name == "blk.0.ffn_down.weight" }?.to == .q6_K)
        #expect(planned.entries.first { $0.name == "blk.2.ffn_down.weight" }?.to == .q4_K)
    }

    @Test("--pure, --tensor-type, --output-tensor-type, --token-embedding-type, --leave-output-tensor")
    func overrides() throws {
        let folder = TemporaryFolder()
        let input = folder.file("in.gguf")
        try makeLlamaGGUF(input)
        #expect(try plan(input, .q4_K_M) { $0.overrides.pure = true }["blk.0.attn_v.weight"] == .q4_K)
        let typed = try plan(input, .q4_K_M) {
            $0.overrides.tensorTypes = [("attn_v", .q8_0), ("ffn_.*\\.weight", .q5_K)]
        }
        #expect(typed["blk.3.attn_v.weight"] == .q8_0)
        #expect(typed["blk.3.ffn_up.weight"] == .q5_K)
        let out = try plan(input, .q4_K_M) {
            $0.overrides.outputTensorType = .q8_0; $0.overrides.tokenEmbeddingType = .q4_0
        }
        #expect(out["output.weight"] == .q8_0)
        #expect(out["token_embd.weight"] == .q4_0)
        #expect(try plan(input, .q4_K_M) { $0.overrides.leaveOutputTensor = true }["output.weight"] == .f32)
    }

    @Test("--override-kv appends typed keys as llama-quantize does")
    func overrideKV() throws {
        var (folder, o) = try quantizing(to: .q8_0)
        o.overrideKV = [
            "a.int=int:-7", "a.float=float:0.5", "a.bool=bool:true", "a.str=str:hello", "general.name=str:Renamed"
        ].map { KVOverride(parsing: $0)! }
        _ = try Quantize.run(o)
        let f = try GGUFFile(url: folder.file("out.gguf"))
        #expect(f.metadata["a.int"] == .uint32(7))
        #expect(f.metadata["a.float"] == .float32(0.5))
        #expect(f.metadata["a.bool"] == .bool(true))
        #expect(f.metadata["general.name"] == .string("Renamed"))
        #expect(f.metadata.keys.last == "general.name")
        #expect(KVOverride(parsing: "novalue") == nil)
        #expect(KVOverride(parsing: "k=double:1") == nil)
    }

    @Test("importance matrices in GGUF and legacy .dat form give the same output, and change it")
    func importanceMatrix() throws {
        let folder = TemporaryFolder()
        let input = folder.file("in.gguf")
        try makeLlamaGGUF(input, layers: 2)
        let model = try GGUFFile(url: input)
        let weights = model.tensors.filter { $0.dimensions.count == 2 }
        func values(_ t: GGUFTensorInfo) -> [Float] { (0..<t.dimensions[0]).map { Float(($0 * 7919) % 97 + 1) * 0.25 } }
        // GGUF form: in_sum2 = value * count, counts = 4.
        var kv = GGUFMetadata()
        kv.set("general.type", .string("imatrix"))
        kv.set("imatrix.datasets", .array(.string(["synthetic.txt"])))
        kv.set("imatrix.chunk_count", .uint32(3))
        kv.set("imatrix.chunk_size", .uint32(512))
        var infos: [GGUFTensorInfo] = []
        for t in weights.sorted(by: { $0.name < $1.name }) {
            infos += [
                GGUFTensorInfo(name: t.name + ".counts", dimensions: [1, 1], type: .f32),
                GGUFTensorInfo(name: t.name + ".in_sum2", dimensions: [t.dimensions[0], 1], type: .f32)
            ]
        }
        let gi = folder.file("imatrix.gguf")
        let w = try GGUFWriter(destination: gi, metadata: kv, tensors: infos)
        for t in weights.sorted(by: { $0.name < $1.name }) {
            try [Float(4)].withUnsafeBytes { try w.writeTensorData($0) }
            try values(t).map { $0 * 4 }.withUnsafeBytes { try w.writeTensorData($0) }
        }
        try w.finish()
        // Legacy form: stored = value * ncall.
        var dat: [UInt8] = []
        func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { dat += $0 } }
        i32(Int32(weights.count))
        for t in weights {
            i32(Int32(t.name.utf8.count)); dat += Array(t.name.utf8); i32(2); i32(Int32(t.dimensions[0]))
            for v in values(t) { withUnsafeBytes(of: (v * 2).bitPattern.littleEndian) { dat += $0 } }
        }
        i32(3); i32(Int32("synthetic.txt".utf8.count)); dat += Array("synthetic.txt".utf8)
        let di = folder.file("imatrix.dat")
        try Data(dat).write(to: di)

        func quantize(_ imatrix: URL?, _ name: String) throws -> URL {
            var o = QuantizeOptions(input: input, output: folder.file(name), fileType: .q4_K_M)
            o.importanceMatrix = imatrix
            _ = try Quantize.run(o)
            return folder.file(name)
        }
        let a = try GGUFFile(url: quantize(gi, "a.gguf")), b = try GGUFFile(url: quantize(di, "b.gguf")),
            plain = try GGUFFile(url: quantize(nil, "c.gguf"))
        let q = a.tensor(named: "blk.0.attn_q.weight")!
        #expect(Array(a.data(for: q)) == Array(b.data(for: b.tensor(named: q.name)!)))
        #expect(Array(a.data(for: q)) != Array(plain.data(for: plain.tensor(named: q.name)!)))
        #expect(a.metadata["quantize.imatrix.dataset"] == .string("synthetic.txt"))
        #expect(a.metadata["quantize.imatrix.entries_count"] == .uint32(UInt32(weights.count)))
        #expect(a.metadata["quantize.imatrix.chunks_count"] == .uint32(3))
        #expect(
            a.metadata.keys.suffix(4) == [
                "quantize.imatrix.file", "quantize.imatrix.dataset", "quantize.imatrix.entries_count",
                "quantize.imatrix.chunks_count"
            ])
    }

    @Test("refusals: unknown type, quantized input, mismatched imatrix, existing output")
    func refusals() throws {
        let folder = TemporaryFolder()
        let input = folder.file("in.gguf")
        try makeLlamaGGUF(input, layers: 2)
        let kiln = TestEnvironment.kiln.path
        var r = try run(kiln, ["quantize", input.path, folder.file("o.gguf").path, "Q4_K_X"])
        #expect(r.status != 0 && r.stderr.contains("Q4_K_M") && r.stderr.contains("Q4_K_X"), "\(r.stderr)")
        r = try run(kiln, ["quantize", input.path, folder.file("q8.gguf").path, "q8_0", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try run(kiln, ["quantize", folder.file("q8.gguf").path, folder.file("q4.gguf").path, "Q4_K_M"])
        #expect(r.status != 0 && r.stderr.contains("--allow-requantize"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("q4.gguf").path))
        r = try run(
            kiln,
            ["quantize", folder.file("q8.gguf").path, folder.file("q4.gguf").path, "Q4_K_M", "--allow-requantize", "-q"]
        )
        #expect(r.status == 0, "\(r.stderr)")
        var dat: [UInt8] = []
        func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { dat += $0 } }
        i32(1); i32(Int32("blk.0.attn_q.weight".utf8.count)); dat += Array("blk.0.attn_q.weight".utf8); i32(1); i32(8)
        dat += [UInt8](repeating: 0, count: 32)
        try Data(dat).write(to: folder.file("bad.dat"))
        r = try run(
            kiln,
            ["quantize", input.path, folder.file("x.gguf").path, "Q4_K_M", "--imatrix", folder.file("bad.dat").path])
        #expect(
            r.status != 0 && r.stderr.contains("blk.0.attn_q.weight") && r.stderr.contains("bad.dat"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("x.gguf").path))
        r = try run(kiln, ["quantize", input.path, folder.file("q8.gguf").path, "Q8_0"])
        #expect(r.status != 0 && r.stderr.contains("--force"), "\(r.stderr)")
    }

    @Test("a NaN weight is refused with the tensor named, and nothing is written")
    func nanWeight() throws {
        let folder = TemporaryFolder()
        let input = folder.file("in.gguf")
        try makeLlamaGGUF(input, layers: 1)
        var bytes = [UInt8](try Data(contentsOf: input))
        let f = try GGUFFile(url: input)
        let t = f.tensor(named: "blk.0.ffn_up.weight")!
        let at = f.dataOffset + t.offset + 4 * 300
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { for (i, b) in $0.enumerated() { bytes[at + i] = b } }
        try Data(bytes).write(to: input)
        let r = try run(TestEnvironment.kiln.path, ["quantize", input.path, folder.file("o.gguf").path, "Q4_K_M"])
        #expect(r.status != 0 && r.stderr.contains("blk.0.ffn_up.weight"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("o.gguf").path))
    }
}
