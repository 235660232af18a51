import Conversion
import FileAccess
import Foundation
import KilnTestSupport
import Testing

/// `kiln tokenize` on the SmolLM2 checkpoint folder and on its GGUF gives the ids llama.cpp's
/// `llama-tokenize -m SmolLM2.gguf -f eval.txt --ids` printed: 10,226 ids whose Python list form
/// (`[1, 2, ...]`) has the SHA-256 recorded here.
@Suite("kiln tokenize agrees with llama-tokenize", .tags(.oracle), .fullTier)
struct TokenizeCommandTests {
    static let llamaTokenizeDigest = "ad14f250337aa337b45f42e889aeb56050da4affacb3fb4b36a4961d2e741f3d"

    func ids(_ model: String) throws -> String {
        let text = try TestEnvironment.shared.appendingPathComponent("golden/text/eval.txt").path
        let r = try run(TestEnvironment.kiln.path, ["tokenize", model, "--file", text, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func folderAndGGUF() throws {
        let folder = TemporaryFolder()
        let gguf = folder.file("smollm2.gguf")
        _ = try Converter.convert(
            ConversionOptions(checkpoint: try TestEnvironment.smolLM2, output: gguf, outputType: .q8_0, threads: 2))
        for model in [try TestEnvironment.smolLM2.path, gguf.path] {
            let list = try ids(model)
            #expect(list.split(separator: ",").count == 10_226, "\(model)")
            let digest = SHA256Digest.hexDigest(list)
            #expect(digest == Self.llamaTokenizeDigest, "\(model)")
        }
    }
}
