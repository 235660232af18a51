import Conversion
import Foundation
import KilnTestSupport
import Testing

/// `kiln convert` on the real SmolLM2-135M-Instruct checkpoint must write exactly the files llama.cpp's
/// converter wrote (`../shared/golden/smollm2/*.json`): the same SHA-256, and — checked with llama.cpp's own
/// Python reader — the same keys and tensors, entry by entry.
@Suite("SmolLM2 conversion matches llama.cpp byte for byte", .tags(.golden, .slow), .fullTier, .serialized)
struct SmolLM2GoldenTests {
    @Test(arguments: [("f32", "F32"), ("f16", "F16"), ("bf16", "BF16"), ("q8_0", "convert-Q8_0")])
    func matchesGolden(outtype: String, golden: String) throws {
        let shared = try TestEnvironment.shared
        let folder = TemporaryFolder()
        // The converter derives general.name and friends from the folder name, so keep it.
        let output = folder.file("smollm2-\(outtype).gguf")
        _ = try Converter.convert(
            ConversionOptions(
                checkpoint: try TestEnvironment.smolLM2, output: output, outputType: OutputType(rawValue: outtype)!,
                threads: 2))
        let goldenURL = shared.appendingPathComponent("golden/smollm2/\(golden).json")
        try expectSameAsGolden(output, golden: goldenURL, outtype)
    }
}
