import Architectures
import Conversion
import Foundation
import GGUF
import KilnTestSupport
import Testing

/// `kiln generate` and `kiln verify` end to end.
@Suite("kiln generate and kiln verify", .tags(.slow), .fullTier, .serialized)
struct VerifyCommandTests {
    @Test("SmolLM2 Q8_0 answers the capital question")
    func generate() throws {
        let folder = TemporaryFolder()
        let q8 = folder.file("q8.gguf")
        _ = try Quantize.run(
            QuantizeOptions(input: try TestEnvironment.smolLM2, output: q8, fileType: .q8_0, threads: 2))
        let prompt =
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France? Answer in one sentence.<|im_end|>\n<|im_start|>assistant\n"
        let r = try run(
            TestEnvironment.kiln.path, ["generate", q8.path, "--prompt", prompt, "--max-tokens", "24", "--threads", "2"]
        )
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "The capital of France is Paris.")
    }

    /// tiny-llama converted to F32 and quantized to Q4_0 in `folder`, and a text of 40 copies of `sentence`.
    static func tinyLlama(
        in folder: TemporaryFolder, text sentence: String
    ) throws -> (fixture: URL, f32: URL, q4: URL, text: URL) {
        let fixture = TestEnvironment.fixtures.appendingPathComponent("tiny-llama")
        let f32 = folder.file("f32.gguf"), q4 = folder.file("q4.gguf"), text = folder.file("text.txt")
        _ = try Converter.convert(ConversionOptions(checkpoint: fixture, output: f32, outputType: .f32, threads: 2))
        _ = try Quantize.run(QuantizeOptions(input: f32, output: q4, fileType: .q4_0, threads: 2))
        try String(repeating: sentence, count: 40).write(to: text, atomically: true, encoding: .utf8)
        return (fixture, f32, q4, text)
    }

    @Test("verify reports statistics as JSON and its gates set the exit code")
    func verify() throws {
        let folder = TemporaryFolder()
        let (fixture, f32, q4, text) = try Self.tinyLlama(
            in: folder, text: "The quick brown fox jumps over the lazy dog 1234 times. ")
        let args = [
            "verify", q4.path, f32.path, "--reference", f32.path, "--text", text.path, "--ctx", "64", "--threads", "2",
            "--json"
        ]
        var r = try run(TestEnvironment.kiln.path, args)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(lines.count == 2)
        #expect((lines.last?["mean_kld"] as? Double).map { abs($0) < 1e-6 } == true, "the reference against itself")
        #expect((lines.first?["mean_kld"] as? Double).map { $0 > 0 } == true)
        #expect(lines.first?["ctx"] as? Int == 64 && (lines.first?["chunks"] as? Int).map { $0 >= 2 } == true)
        // --chunks N evaluates the first N chunks only: 31 scored positions per 64-token chunk.
        let two = try run(TestEnvironment.kiln.path, args + ["--chunks", "2"])
        let limited = two.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(
            limited.first?["chunks"] as? Int == 2 && limited.first?["positions"] as? Int == 62,
            "\(two.stdout) \(two.stderr)")
        let zero = try run(TestEnvironment.kiln.path, args + ["--chunks", "0"])
        #expect(
            zero.status != 0 && zero.stderr.hasPrefix("kiln: error: ") && zero.stderr.contains("chunk count"),
            "\(zero.stderr)")
        r = try run(TestEnvironment.kiln.path, args + ["--max-kld", "0.0000001"])
        #expect(r.status != 0, "the gate fails the Q4_0 file")
        r = try run(
            TestEnvironment.kiln.path,
            [
                "verify", q4.path, "--reference", f32.path, "--text",
                fixture.appendingPathComponent("config.json").path, "--ctx", "512"
            ])
        #expect(r.status != 0 && r.stderr.hasPrefix("kiln: error: "), "text shorter than the chunks: \(r.stderr)")
    }

    @Test("A checkpoint folder as the reference gives the statistics of its F32 conversion")
    func checkpointReference() throws {
        let folder = TemporaryFolder()
        let (fixture, f32, q4, text) = try Self.tinyLlama(
            in: folder, text: "Pack my box with five dozen liquor jugs, 42 times over. ")
        func stats(_ reference: String, cache: String? = nil) throws -> [String: Any] {
            var args = [
                "verify", q4.path, "--reference", reference, "--text", text.path, "--ctx", "64", "--threads", "2",
                "--json"
            ]
            if let cache { args += ["--cache", cache] }
            let r = try run(TestEnvironment.kiln.path, args)
            #expect(r.status == 0, "\(r.stderr)")
            var json = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]) ?? [:]
            json["reference"] = nil
            return json
        }
        let fromFile = try stats(f32.path)
        let fromFolder = try stats(fixture.path)
        #expect(!fromFile.isEmpty)
        for key in ["ppl", "ppl_reference", "mean_kld", "max_kld", "same_top_p_percent"] {
            #expect((fromFile[key] as? Double) == (fromFolder[key] as? Double), "\(key)")
        }
        // The cache is keyed by the folder's content: a second run reads it and agrees.
        let cache = folder.file("ref.cache").path
        let first = try stats(fixture.path, cache: cache)
        #expect(FileManager.default.fileExists(atPath: cache))
        let second = try stats(fixture.path, cache: cache)
        #expect((first["mean_kld"] as? Double) == (second["mean_kld"] as? Double))
    }

    @Test("Bad verify inputs fail with one line naming the problem")
    func badInputs() throws {
        let folder = TemporaryFolder()
        let llama = TestEnvironment.fixtures.appendingPathComponent("tiny-llama")
        let f32 = folder.file("f32.gguf"), other = folder.file("mistral.gguf")
        _ = try Converter.convert(ConversionOptions(checkpoint: llama, output: f32, outputType: .f32, threads: 2))
        _ = try Converter.convert(
            ConversionOptions(
                checkpoint: TestEnvironment.fixtures.appendingPathComponent("tiny-mistral"),
                output: other, outputType: .f32, threads: 2))
        let text = folder.file("text.txt")
        try String(repeating: "Sphinx of black quartz, judge my vow. ", count: 60).write(
            to: text, atomically: true, encoding: .utf8)
        func fails(_ args: [String], _ needle: String) throws {
            let r = try run(
                TestEnvironment.kiln.path, ["verify"] + args + ["--text", text.path, "--ctx", "64", "--threads", "2"])
            let lines = r.stderr.split(separator: "\n")
            #expect(
                r.status != 0 && lines.count == 1 && r.stderr.hasPrefix("kiln: error: ") && r.stderr.contains(needle),
                "\(args): \(r.stderr)")
        }
        try fails([other.path, "--reference", f32.path], "reference does not match")
        let cache = folder.file("ref.cache")
        try Data(repeating: 0x4B, count: 100).write(to: cache)
        try fails([f32.path, "--reference", f32.path, "--cache", cache.path], "corrupt logits cache")
        try fails([f32.path, "--reference", folder.file("missing").path], "missing")
        let alien = folder.file("alien.gguf")
        let writer = try GGUFWriter(
            destination: alien, metadata: GGUFMetadata([("general.architecture", .string("mamba"))]), tensors: [])
        try writer.finish()
        try fails([alien.path, "--reference", f32.path], "unsupported architecture 'mamba'")
    }
}
