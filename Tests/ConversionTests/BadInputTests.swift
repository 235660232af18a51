import Foundation
import KilnTestSupport
import Quantization
import Safetensors
import Testing

/// Bad input through the real command line: one clear line on stderr naming the file or tensor, a non-zero
/// exit, and no output file (not even a partial one) left behind.
@Suite("kiln convert refuses bad input")
struct BadInputTests {
    /// A writable copy of the tiny Llama fixture.
    func copyOfFixture(_ name: String = "tiny-llama") throws -> (TemporaryFolder, URL) {
        let folder = TemporaryFolder()
        let dir = folder.file(name)
        try FileManager.default.copyItem(at: TestEnvironment.fixtures.appendingPathComponent(name), to: dir)
        return (folder, dir)
    }

    /// Runs `kiln convert` and checks the refusal; returns stderr.
    @discardableResult
    func expectRefusal(
        _ checkpoint: URL, output: URL? = nil, extra: [String] = [], mentions: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> String {
        let out = output ?? checkpoint.deletingLastPathComponent().appendingPathComponent("out.gguf")
        let before = Set(
            (try? FileManager.default.contentsOfDirectory(atPath: out.deletingLastPathComponent().path)) ?? [])
        let r = try run(TestEnvironment.kiln.path, ["convert", checkpoint.path, "-o", out.path] + extra)
        #expect(r.status != 0, "exit status", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one line on stderr, got: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("kiln: error: "), sourceLocation: sourceLocation)
        for m in mentions {
            #expect(r.stderr.contains(m), "stderr should mention \(m): \(r.stderr)", sourceLocation: sourceLocation)
        }
        let after = Set(
            (try? FileManager.default.contentsOfDirectory(atPath: out.deletingLastPathComponent().path)) ?? [])
        #expect(
            after.subtracting(before).isEmpty, "left behind: \(after.subtracting(before))",
            sourceLocation: sourceLocation)
        return r.stderr
    }

    func rewriteWeights(_ dir: URL, _ change: (inout [SafetensorsWriter.Tensor]) -> Void) throws {
        let url = dir.appendingPathComponent("model.safetensors")
        var tensors: [SafetensorsWriter.Tensor] = []
        do {
            let file = try SafetensorsFile(url: url)
            tensors = file.tensors.map {
                .init(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: Array(file.data(for: $0)))
            }
        }
        change(&tensors)
        try SafetensorsWriter.write(tensors, to: url)
    }

    func editConfig(_ dir: URL, file: String = "config.json", _ change: (inout [String: Any]) -> Void) throws {
        let url = dir.appendingPathComponent(file)
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        change(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    @Test func truncatedSafetensors() throws {
        let (folder, dir) = try copyOfFixture()
        _ = folder
        let url = dir.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count - 100).write(to: url)
        try expectRefusal(dir, mentions: ["model.safetensors", "truncated"])
        try bytes.prefix(40).write(to: url)
        try expectRefusal(dir, mentions: ["model.safetensors", "truncated"])
    }

    @Test func corruptHeaderJSON() throws {
        let (folder, dir) = try copyOfFixture()
        _ = folder
        let url = dir.appendingPathComponent("model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: url))
        bytes[8] = UInt8(ascii: "[")
        try Data(bytes).write(to: url)
        try expectRefusal(dir, mentions: ["model.safetensors", "JSON"])
    }

    @Test func dtypeShapeMismatch() throws {
        let (folder, dir) = try copyOfFixture()
        _ = folder
        try rewriteWeights(dir) { t in t[0].bytes.removeLast(2) }
        try expectRefusal(dir, mentions: ["model.safetensors", "bytes"])
    }

    @Test func missingShard() throws {
        let (folder, dir) = try copyOfFixture("tiny-llama-sharded")
        _ = folder
        let shards = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("model-0000") }
            .sorted()
        try FileManager.default.removeItem(at: dir.appendingPathComponent(shards.last!))
        try expectRefusal(dir, mentions: ["model.safetensors.index.json", shards.last!])
    }

    @Test func unknownArchitecture() throws {
        let (folder, dir) = try copyOfFixture()
        _ = folder
        try editConfig(dir) { $0["architectures"] = ["MambaForCausalLM"] }
        try expectRefusal(dir, mentions: ["config.json", "MambaForCausalLM", "LlamaForCausalLM"])
    }

    @Test func missingConfigKey() throws {
        let (folder, dir) = try copyOfFixture()
        _ = folder
        try editConfig(dir) { $0.removeValue(forKey: "num_hidden_layers") }
        try expectRefusal(dir, mentions: ["config.json", "num_hidden_layers"])
    }

    @Test func vocabularyDisagrees() throws {
        let (folder, dir) = try copyOfFixture()
        _ = folder
        try editConfig(dir) { $0["vocab_size"] = ($0["vocab_size"] as! Int) - 7 }
        try expectRefusal(dir, mentions: ["vocab_size"])
    }

    @Test func missingTokenizer() throws {
        let (folder, dir) = try copyOfFixture()
        _ = folder
        try FileManager.default.removeItem(at: dir.appendingPathComponent("tokenizer.json"))
        try expectRefusal(dir, mentions: ["tokenizer"])
    }

    @Test func existingOutputNeedsForce() throws {
        let (folder, dir) = try copyOfFixture()
        let out = folder.file("exists.gguf")
        try Data("keep me".utf8).write(to: out)
        try expectRefusal(dir, output: out, mentions: [out.path, "--force"])
        #expect(try String(contentsOf: out, encoding: .utf8) == "keep me")
        let r = try run(TestEnvironment.kiln.path, ["convert", dir.path, "-o", out.path, "--force", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func unwritableOutputFolder() throws {
        let (folder, dir) = try copyOfFixture()
        let notAFolder = folder.file("plain-file")
        try Data().write(to: notAFolder)
        let r = try run(
            TestEnvironment.kiln.path, ["convert", dir.path, "-o", notAFolder.appendingPathComponent("x.gguf").path])
        #expect(r.status != 0)
        #expect(r.stderr.hasPrefix("kiln: error: ") && r.stderr.contains("x.gguf"), "\(r.stderr)")
    }

    /// Rewrites the first BF16 matrix's first bytes and returns its name.
    func corruptFirstMatrix(_ dir: URL, _ edit: (inout [UInt8]) -> Void) throws -> String {
        var name = ""
        try rewriteWeights(dir) { t in
            let i = t.firstIndex { $0.shape.count == 2 && $0.dtype == .bf16 }!
            name = t[i].name
            edit(&t[i].bytes)
        }
        return name
    }

    @Test func f16OverflowNamesTheTensor() throws {
        let (folder, dir) = try copyOfFixture()
        let big = HalfPrecision.bf16Bits(70000)
        let name = try corruptFirstMatrix(dir) { bytes in
            bytes[0] = UInt8(big & 0xff)
            bytes[1] = UInt8(big >> 8)
        }
        try expectRefusal(dir, extra: ["--outtype", "f16"], mentions: [name, "bf16"])
        let ok = try run(
            TestEnvironment.kiln.path,
            ["convert", dir.path, "-o", folder.file("ok.gguf").path, "--outtype", "bf16", "--quiet"])
        #expect(ok.status == 0, "\(ok.stderr)")
    }

    @Test func nanWeightNamesTheTensor() throws {
        let (folder, dir) = try copyOfFixture()
        _ = folder
        let name = try corruptFirstMatrix(dir) { bytes in
            bytes[2] = 0xC0
            bytes[3] = 0x7F
        }
        try expectRefusal(dir, mentions: [name, "nan"])
    }
}
