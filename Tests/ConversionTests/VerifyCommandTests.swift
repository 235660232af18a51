import Architectures
import Conversion
import Foundation
import Testing

/// `kiln generate` and `kiln verify` end to end.
@Suite("kiln generate and kiln verify", .serialized)
struct VerifyCommandTests {
    @Test("SmolLM2 Q8_0 answers the capital question")
    func generate() throws {
        let folder = TemporaryFolder()
        let q8 = folder.file("q8.gguf")
        _ = try Quantize.run(QuantizeOptions(input: try TestEnvironment.smolLM2, output: q8, fileType: .q8_0, threads: 2))
        let prompt = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France? Answer in one sentence.<|im_end|>\n<|im_start|>assistant\n"
        let r = try run(TestEnvironment.kiln.path, ["generate", q8.path, "--prompt", prompt, "--max-tokens", "24", "--threads", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "The capital of France is Paris.")
    }

    @Test("verify reports statistics as JSON and its gates set the exit code")
    func verify() throws {
        let folder = TemporaryFolder()
        let fixture = TestEnvironment.fixtures.appendingPathComponent("tiny-llama")
        let f32 = folder.file("f32.gguf"), q4 = folder.file("q4.gguf")
        _ = try Converter.convert(ConversionOptions(checkpoint: fixture, output: f32, outputType: .f32, threads: 2))
        _ = try Quantize.run(QuantizeOptions(input: f32, output: q4, fileType: .q4_0, threads: 2))
        let text = folder.file("text.txt")
        try String(repeating: "The quick brown fox jumps over the lazy dog 1234 times. ", count: 40).write(to: text, atomically: true, encoding: .utf8)
        let args = ["verify", q4.path, f32.path, "--reference", f32.path, "--text", text.path, "--ctx", "64", "--threads", "2", "--json"]
        var r = try run(TestEnvironment.kiln.path, args)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count == 2)
        #expect((lines.last?["mean_kld"] as? Double).map { abs($0) < 1e-6 } == true, "the reference against itself")
        #expect((lines.first?["mean_kld"] as? Double).map { $0 > 0 } == true)
        r = try run(TestEnvironment.kiln.path, args + ["--max-kld", "0.0000001"])
        #expect(r.status != 0, "the gate fails the Q4_0 file")
        r = try run(TestEnvironment.kiln.path, ["verify", q4.path, "--reference", f32.path, "--text", fixture.appendingPathComponent("config.json").path, "--ctx", "512"])
        #expect(r.status != 0 && r.stderr.hasPrefix("kiln: error: "), "text shorter than the chunks: \(r.stderr)")
    }
}
