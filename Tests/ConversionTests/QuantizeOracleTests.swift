import Foundation
import KilnTestSupport
import Testing

/// Synthetic Llama checkpoints with 256-wide rows (so real K-quants are chosen), tied and untied, GQA 4
/// and plain multi-head: `kiln quantize` from the checkpoint folder, with llama-quantize's own option
/// strings, must write what `convert_hf_to_gguf.py --outtype f32` + `llama-quantize` wrote
/// (`fixtures/oracle-quantize/`, recorded by `scripts/oracle/quantize_fixtures.py`).
@Suite("quantization matches llama-quantize on 256-aligned models", .tags(.golden, .slow), .fullTier, .serialized)
struct QuantizeOracleTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String, variant: String, type: String, options: [String]
        var testDescription: String { "\(variant)/\(name)" }
    }

    static let folder = TestEnvironment.fixtures.appendingPathComponent("oracle-quantize")

    static let manifest: (variants: [String: [String]], cases: [Case]) = {
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("cases.json")),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let variants = object["variants"] as? [String: [String]], let cases = object["cases"] as? [[String: Any]]
        else { return ([:], []) }
        return (
            variants,
            cases.map {
                Case(
                    name: $0["name"] as! String, variant: $0["variant"] as! String, type: $0["type"] as! String,
                    options: $0["options"] as! [String])
            }
        )
    }()

    /// Checkpoints built once per variant.
    final class Checkpoints: @unchecked Sendable {
        static let shared = Checkpoints()
        let folder = TemporaryFolder()
        private var made: [String: URL] = [:]
        private let lock = NSLock()
        func checkpoint(_ variant: String) throws -> URL {
            lock.lock()
            defer { lock.unlock() }
            if let u = made[variant] { return u }
            let dir = folder.file(variant)
            let r = try run(
                TestEnvironment.kilnBench.path,
                ["make-checkpoint", dir.path, "--tokenizer-from", "fixtures/tiny-llama"]
                    + (QuantizeOracleTests.manifest.variants[variant] ?? []), directory: TestEnvironment.repositoryRoot)
            guard r.status == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: r.stderr])
            }
            made[variant] = dir
            return dir
        }
    }

    @Test("the recorded cases are present") func listed() {
        #expect(
            Self.manifest.cases.count >= 40,
            "fixtures/oracle-quantize/cases.json lists \(Self.manifest.cases.count) cases")
    }

    @Test(arguments: manifest.cases)
    func sameAsLlamaQuantize(c: Case) throws {
        let ckpt = try Checkpoints.shared.checkpoint(c.variant)
        let out = TemporaryFolder()
        let options = c.options.map {
            $0 == "IMATRIX_GGUF"
                ? "fixtures/oracle-quantize/imatrix.gguf"
                : $0 == "IMATRIX_DAT" ? "fixtures/oracle-quantize/imatrix.dat" : $0
        }
        let r = try run(
            TestEnvironment.kiln.path,
            ["quantize"] + options + [ckpt.path, out.file("q.gguf").path, c.type, "--threads", "2", "-q"],
            directory: TestEnvironment.repositoryRoot)
        try #require(r.status == 0, "kiln quantize: \(r.stderr)")
        let golden = Self.folder.appendingPathComponent("\(c.variant)/\(c.name).json")
        try expectSameAsGolden(out.file("q.gguf"), golden: golden, "\(c.variant)/\(c.name)")
    }
}
