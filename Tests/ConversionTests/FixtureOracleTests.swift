import Conversion
import Foundation
import KilnTestSupport
import Testing

/// Every committed fixture, converted by Kiln and by llama.cpp's `convert_hf_to_gguf.py`, must give the same
/// file. The comparison reads both with gguf-py and names the first differing key or tensor.
@Suite("fixtures match llama.cpp's converter", .serialized)
struct FixtureOracleTests {
    struct Fixture: Sendable, CustomTestStringConvertible {
        let name: String
        let pre: String?
        var testDescription: String { name }
    }

    static let fixtures: [Fixture] = {
        let url = TestEnvironment.fixtures.appendingPathComponent("fixtures.json")
        guard let data = try? Data(contentsOf: url), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let list = object["fixtures"] as? [[String: Any]]
        else {
            return []
        }
        return list.compactMap { e in (e["name"] as? String).map { Fixture(name: $0, pre: e["pre"] as? String) } }
    }()

    @Test("the fixture list is present") func listed() {
        #expect(Self.fixtures.count >= 9, "fixtures/fixtures.json lists \(Self.fixtures.count) fixtures")
    }

    /// Against the summaries recorded from llama.cpp's converter (`fixtures/oracle/NAME/TYPE.json`): every
    /// key, tensor and tensor byte, read back with gguf-py.
    @Test(arguments: fixtures, ["f32", "f16", "bf16", "q8_0"])
    func sameAsRecordedOracle(fixture: Fixture, outtype: String) throws {
        let python = try TestEnvironment.python
        let folder = TemporaryFolder()
        let ours = folder.file("kiln.gguf")
        let checkpoint = TestEnvironment.fixtures.appendingPathComponent(fixture.name)
        _ = try Converter.convert(ConversionOptions(
            checkpoint: checkpoint, output: ours, outputType: OutputType(rawValue: outtype)!, threads: 2))
        let golden = TestEnvironment.fixtures.appendingPathComponent("oracle/\(fixture.name)/\(outtype).json")
        let report = try run(python, [TestEnvironment.oracleScripts.appendingPathComponent("compare_gguf.py").path,
            "--golden", golden.path, ours.path])
        #expect(report.status == 0, "\(fixture.name) \(outtype): \(report.stdout)\(report.stderr)")
    }

    /// Against llama.cpp's converter run now on the same fixture.
    @Test(arguments: fixtures, ["f32", "f16", "bf16", "q8_0"])
    func sameAsOracle(fixture: Fixture, outtype: String) throws {
        let oraclePython = try TestEnvironment.oraclePython
        let llamaCpp = try TestEnvironment.llamaCpp
        let python = try TestEnvironment.python
        let folder = TemporaryFolder()
        let ours = folder.file("kiln.gguf"), theirs = folder.file("llama.cpp.gguf")
        let checkpoint = TestEnvironment.fixtures.appendingPathComponent(fixture.name)
        _ = try Converter.convert(ConversionOptions(
            checkpoint: checkpoint, output: ours, outputType: OutputType(rawValue: outtype)!, threads: 2))
        var args = [TestEnvironment.oracleScripts.appendingPathComponent("convert.py").path, "--llama-cpp", llamaCpp.path,
            checkpoint.path, "--outfile", theirs.path, "--outtype", outtype]
        if let pre = fixture.pre { args += ["--pre", pre] }
        let oracle = try run(oraclePython, args)
        try #require(oracle.status == 0, "oracle failed: \(oracle.stderr.suffix(2000))")
        let report = try run(python, [TestEnvironment.oracleScripts.appendingPathComponent("compare_gguf.py").path, theirs.path, ours.path])
        #expect(report.status == 0, "\(fixture.name) \(outtype): \(report.stdout)\(report.stderr)")
    }
}
