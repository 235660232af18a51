import Architectures
import Conversion
import Foundation
import KilnTestSupport
import Testing

/// `kiln quantize` on the F32 file `kiln convert` writes for SmolLM2 must give llama-quantize's bytes
/// (`../shared/golden/smollm2/<TYPE>.json`); the one-step run from the checkpoint folder must give the
/// same bytes, and 1 and 2 threads must agree.
@Suite("SmolLM2 quantization matches llama-quantize byte for byte", .tags(.golden, .slow), .fullTier, .serialized)
struct SmolLM2QuantizeTests {
    /// The F32 conversion, made once for the suite.
    final class F32File: @unchecked Sendable {
        static let shared = F32File()
        let folder = TemporaryFolder()
        lazy var url: Result<URL, any Error> = Result {
            let out = folder.file("smollm2-f32.gguf")
            _ = try Converter.convert(
                ConversionOptions(checkpoint: try TestEnvironment.smolLM2, output: out, outputType: .f32, threads: 2))
            return out
        }
    }

    static let types = ["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q3_K_M", "Q2_K"]

    @Test(arguments: types)
    func matchesGolden(type: String) throws {
        let input = try F32File.shared.url.get()
        let folder = TemporaryFolder()
        let out = folder.file("\(type).gguf")
        _ = try Quantize.run(
            QuantizeOptions(input: input, output: out, fileType: LlamaFileType(parsing: type)!, threads: 2))
        let golden = try TestEnvironment.shared.appendingPathComponent("golden/smollm2/\(type).json")
        try expectSameAsGolden(out, golden: golden, type)
    }

    @Test("one step from the checkpoint folder, and 1 thread, give the same bytes", arguments: ["Q4_K_M", "Q2_K"])
    func oneStepAndThreads(type: String) throws {
        let input = try F32File.shared.url.get()
        let folder = TemporaryFolder()
        let ft = LlamaFileType(parsing: type)!
        let twoStep = folder.file("two.gguf"), oneStep = folder.file("one.gguf")
        _ = try Quantize.run(QuantizeOptions(input: input, output: twoStep, fileType: ft, threads: 1))
        _ = try Quantize.run(
            QuantizeOptions(input: try TestEnvironment.smolLM2, output: oneStep, fileType: ft, threads: 2))
        #expect(try sha256(of: oneStep) == sha256(of: twoStep))
    }
}
