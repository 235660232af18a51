import Foundation
import FuzzTargets
import KilnTestSupport
import Testing

/// The fuzzers' inputs replayed in a plain build: the committed seeds must reach past each reader's checks
/// (a seed that is refused fuzzes nothing but the refusal), and every finding kept under fuzz/regressions must
/// now be handled (refused or read) without a crash.
@Suite("Fuzz targets")
struct FuzzTargetsTests {
    static let fuzz = TestEnvironment.repositoryRoot.appendingPathComponent("fuzz")

    static func files(_ folder: String, _ target: FuzzTarget) -> [URL] {
        let url = fuzz.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.sorted().filter { !$0.hasPrefix(".") }.map { url.appendingPathComponent($0) }
    }

    @Test("every committed seed is accepted by its reader", arguments: FuzzTarget.allCases)
    func seeds(target: FuzzTarget) throws {
        let scratch = Scratch()
        let seeds = Self.files("corpus", target)
        #expect(!seeds.isEmpty, "no seeds for \(target.rawValue)")
        for seed in seeds {
            let data = try Data(contentsOf: seed)
            #expect(data.withUnsafeBytes { target.run($0, scratch: scratch) }, "\(seed.lastPathComponent) refused")
        }
    }

    @Test("the generated seeds are the committed ones")
    func generatedSeedsCommitted() throws {
        for seed in try Seeds.all() {
            let committed = Self.fuzz.appendingPathComponent("corpus/\(seed.target.rawValue)/\(seed.name)")
            #expect(
                (try? Data(contentsOf: committed)) == Data(seed.bytes),
                "\(seed.target.rawValue)/\(seed.name) differs from `kiln-fuzz seeds`")
        }
    }

    @Test("every finding is handled without a crash", arguments: FuzzTarget.allCases)
    func regressions(target: FuzzTarget) throws {
        let scratch = Scratch()
        for input in Self.files("regressions", target) {
            let data = try Data(contentsOf: input)
            _ = data.withUnsafeBytes { target.run($0, scratch: scratch) }
        }
    }
}
