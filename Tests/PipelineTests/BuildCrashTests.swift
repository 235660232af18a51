import Foundation
import KilnTestSupport
import Testing

/// `kill -9` at any moment of a build leaves no partial file under a final name, and the next run completes
/// with the same files a build that was never interrupted writes.
@Suite(.tags(.slow), .fullTier) struct BuildCrashTests {
    /// Files a reader may open: everything but the build's own state and the report (it holds timings).
    static func finals(_ folder: URL) -> [String: String] {
        var out: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        where !name.hasPrefix(".") && name != "report.md" {
            out[name] = try? sha256(of: folder.appendingPathComponent(name))
        }
        return out
    }

    @Test func aBuildKilledAtAnyPointResumesToIdenticalOutputs() throws {
        let tmp = TemporaryFolder()
        let recipe = try BuildTests.recipe(in: tmp, variants: "[Q8_0, Q6_K, Q4_K_M, Q2_K]", extra: "base: f16")
        let clean = try run(TestEnvironment.kiln.path, ["build", recipe.path, "-o", tmp.file("clean").path, "--json"])
        #expect(clean.status == 0, "\(clean.stderr)")
        // Kill points are placed by progress, not by time (a loaded machine makes time a poor guide): trial t
        // kills right after the build prints event t × events / trials.
        let events = clean.stdout.split(separator: "\n").count
        let expected = Self.finals(tmp.file("clean/tiny"))
        #expect(expected.count == 11)  // five GGUF files, their five statements, manifest.json

        let trials = 20
        var killedMidway = 0
        for trial in 0..<trials {
            let dist = tmp.file("kill\(trial)")
            let arguments = ["build", recipe.path, "-o", dist.path, "--json"]
            if try killKiln(arguments, afterEvents: 1 + trial * (events - 1) / trials) { killedMidway += 1 }
            // Whatever exists under a final name is complete: identical to the uninterrupted build's file.
            for (name, digest) in Self.finals(dist.appendingPathComponent("tiny")) {
                #expect(expected[name] == digest, "trial \(trial): \(name) is not the complete file")
            }
            let resumed = try run(TestEnvironment.kiln.path, ["build", recipe.path, "-o", dist.path])
            #expect(resumed.status == 0, "trial \(trial): \(resumed.stderr)")
            #expect(Self.finals(dist.appendingPathComponent("tiny")) == expected, "trial \(trial)")
            let leftovers = try FileManager.default.subpathsOfDirectory(atPath: dist.path).filter {
                $0.hasSuffix(".partial")
            }
            #expect(leftovers.isEmpty, "trial \(trial): \(leftovers)")
            try? FileManager.default.removeItem(at: dist)
        }
        #expect(killedMidway >= trials / 2, "most kills should land while the build runs")
    }
}
