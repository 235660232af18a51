import Architectures
import Conversion
import Foundation
import Inference
import Testing

/// The model files the tests read, built on first use with Kiln's own converter and quantizer (from the
/// committed fixtures and the SmolLM2 checkpoint that `scripts/test` prepares).
public enum ModelFiles {
    /// `Tests/InferenceTests/Data`: token ids and traces recorded with llama.cpp.
    public static let data = TestEnvironment.repositoryRoot.appendingPathComponent("Tests/InferenceTests/Data")
    public static let repositoryRoot = TestEnvironment.repositoryRoot
    /// Where the files are built (a temporary folder per test process).
    public static let dir: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-inference-\(getpid())")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }()
    private static let lock = NSLock()

    public static func evalTokens() throws -> [Int32] { try TokenIDs.read(data.appendingPathComponent("eval-ids.txt")) }

    /// `tiny-NAME-f32.gguf`, `tiny-NAME-q8_0.gguf` from `fixtures/tiny-NAME`; `f32.gguf` and `Q8_0.gguf`
    /// from the SmolLM2 checkpoint (`KILN_SMOLLM2_DIR`).
    public static func url(_ name: String) throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        let out = dir.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: out.path) { return out }
        if name.hasPrefix("tiny-") {
            let stem = String(name.dropLast(".gguf".count))
            let type = stem.split(separator: "-").last.map(String.init)!
            let fixture = String(stem.dropLast(type.count + 1))
            _ = try Converter.convert(
                ConversionOptions(
                    checkpoint: repositoryRoot.appendingPathComponent("fixtures/\(fixture)"), output: out,
                    outputType: OutputType(rawValue: type)!, threads: 2))
        } else {
            let smol = try TestEnvironment.smolLM2.path
            let f32 = dir.appendingPathComponent("f32.gguf")
            if !FileManager.default.fileExists(atPath: f32.path) {
                _ = try Converter.convert(
                    ConversionOptions(checkpoint: URL(fileURLWithPath: smol), output: f32, outputType: .f32, threads: 2)
                )
            }
            if name != "f32.gguf" {
                let type = LlamaFileType(parsing: String(name.dropLast(".gguf".count)))!
                _ = try Quantize.run(QuantizeOptions(input: f32, output: out, fileType: type, threads: 2))
            }
        }
        return out
    }
}
