import Conversion
import Foundation
import KilnTestSupport
import Testing

/// Every committed fixture, converted by Kiln and by llama.cpp's `convert_hf_to_gguf.py`, must give the same
/// file. The comparison reads both with gguf-py and names the first differing key or tensor.
@Suite("fixtures match llama.cpp's converter", .tags(.golden), .serialized)
struct FixtureOracleTests {
    struct Fixture: Sendable, CustomTestStringConvertible {
        let name: String
        let pre: String?
        var testDescription: String { name }
    }

    static let fixtures: [Fixture] = {
        let url = TestEnvironment.fixtures.appendingPathComponent("fixtures.json")
        guard let data = try? Data(contentsOf: url),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let list = object["fixtures"] as? [[String: Any]]
        else {
            return []
        }
        return list.compactMap { e in (e["name"] as? String).map { Fixture(name: $0, pre: e["pre"] as? String) } }
    }()

    @Test("the fixture list is present") func listed() {
        #expect(Self.fixtures.count >= 9, "fixtures/fixtures.json lists \(Self.fixtures.count) fixtures")
    }

    /// Against the summaries recorded from llama.cpp's converter (`fixtures/oracle/NAME/TYPE.json`): the
    /// file's digest, and on a difference llama.cpp's Python reader names the first differing key or tensor.
    @Test(.tags(.golden), arguments: fixtures, outtypes)
    func sameAsRecordedOracle(fixture: Fixture, outtype: String) throws {
        let folder = TemporaryFolder()
        let ours = folder.file("kiln.gguf")
        let checkpoint = TestEnvironment.fixtures.appendingPathComponent(fixture.name)
        _ = try Converter.convert(
            ConversionOptions(
                checkpoint: checkpoint, output: ours, outputType: OutputType(rawValue: outtype)!, threads: 2))
        let golden = TestEnvironment.fixtures.appendingPathComponent("oracle/\(fixture.name)/\(outtype).json")
        try expectSameAsGolden(ours, golden: golden, "\(fixture.name) \(outtype)")
    }

    static let outtypes = ["f32", "f16", "bf16", "q8_0"]

    /// Against llama.cpp's converter run now on the same fixture: one converter process per fixture writes
    /// every outtype (torch is imported once), and each file must equal Kiln's.
    @Test(.tags(.oracle, .slow), .fullTier, arguments: fixtures)
    func sameAsOracle(fixture: Fixture) throws {
        let oraclePython = try TestEnvironment.oraclePython
        let llamaCpp = try TestEnvironment.llamaCpp
        let folder = TemporaryFolder()
        let checkpoint = TestEnvironment.fixtures.appendingPathComponent(fixture.name)
        var args = [
            TestEnvironment.oracleScripts.appendingPathComponent("convert.py").path, "--llama-cpp", llamaCpp.path,
            checkpoint.path, "--outfile", folder.file("llama.cpp-{outtype}.gguf").path, "--outtype",
            Self.outtypes.joined(separator: ",")
        ]
        if let pre = fixture.pre { args += ["--pre", pre] }
        let oracle = try run(oraclePython, args)
        try #require(oracle.status == 0, "oracle failed: \(oracle.stderr.suffix(2000))")
        for outtype in Self.outtypes {
            let ours = folder.file("kiln-\(outtype).gguf")
            _ = try Converter.convert(
                ConversionOptions(
                    checkpoint: checkpoint, output: ours, outputType: OutputType(rawValue: outtype)!, threads: 2))
            try expectSameFiles(ours, folder.file("llama.cpp-\(outtype).gguf"), "\(fixture.name) \(outtype)")
        }
    }
}
