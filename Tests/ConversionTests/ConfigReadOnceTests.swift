import Conversion
import Foundation
import JSON
import KilnTestSupport
import Testing

/// A conversion reads `config.json` once: the architecture rules, the tokenizer export and the metadata all
/// take the one parsed value. Each fixture is copied to a fresh folder so no earlier read in this process
/// has been cached for its path.
@Suite("config.json is parsed once per conversion")
struct ConfigReadOnceTests {
    @Test(arguments: ["tiny-llama", "tiny-gemma3", "tiny-qwen2"])
    func once(fixture: String) throws {
        let folder = TemporaryFolder()
        let checkpoint = folder.file(fixture)
        try FileManager.default.copyItem(at: TestEnvironment.fixtures.appendingPathComponent(fixture), to: checkpoint)
        let config = checkpoint.appendingPathComponent("config.json")
        #expect(JSONReads.count(config) == 0)
        _ = try Converter.convert(
            ConversionOptions(checkpoint: checkpoint, output: folder.file("out.gguf"), outputType: .f16, threads: 2))
        #expect(JSONReads.count(config) == 1)
        // The tokenizer's own files are parsed once as well.
        #expect(JSONReads.count(checkpoint.appendingPathComponent("tokenizer_config.json")) <= 1)
    }
}
