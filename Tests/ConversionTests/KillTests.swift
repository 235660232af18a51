import Foundation
import KilnTestSupport
import Testing

/// `kill -9` at any point of `kiln convert` and `kiln quantize` leaves nothing incomplete under the output's
/// name: either no file, or the file an uninterrupted run writes.
@Suite(.tags(.golden, .slow), .fullTier)
struct KillTests {
    /// Runs `arguments` (with `OUT` standing for the output path) once to completion, then `trials` times killed
    /// with SIGKILL right after event t × events / trials of its `--json` stream; checks the output path after
    /// each kill. Returns how many kills landed while the command was still running.
    static func killAtProgress(_ arguments: [String], trials: Int = 20) throws -> Int {
        let tmp = TemporaryFolder()
        func args(_ out: URL) -> [String] { arguments.map { $0 == "OUT" ? out.path : $0 } + ["--json"] }
        let cleanOut = tmp.file("clean.gguf")
        let clean = try run(TestEnvironment.kiln.path, args(cleanOut))
        try #require(clean.status == 0, "\(clean.stderr)")
        let expected = try sha256(of: cleanOut)
        let events = clean.stdout.split(separator: "\n").count
        var killedMidway = 0
        for trial in 0..<trials {
            let folder = tmp.file("trial\(trial)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let out = folder.appendingPathComponent("out.gguf")
            if try killKiln(args(out), afterEvents: trial * (events - 1) / trials) { killedMidway += 1 }
            if FileManager.default.fileExists(atPath: out.path) {
                #expect(try sha256(of: out) == expected, "trial \(trial): out.gguf is not the complete file")
            }
            // Only the final name and hidden temporary names may exist; nothing else looks like an output.
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            #expect(names.allSatisfy { $0 == "out.gguf" || $0.hasPrefix(".") }, "trial \(trial): \(names)")
        }
        return killedMidway
    }

    @Test func convertKilledAtAnyPoint() throws {
        let checkpoint = try TestEnvironment.smolLM2.path
        let midway = try Self.killAtProgress(["convert", checkpoint, "-o", "OUT", "--outtype", "f16"])
        #expect(midway >= 10, "most kills should land while the command runs")
    }

    @Test func quantizeKilledAtAnyPoint() throws {
        let checkpoint = try TestEnvironment.smolLM2.path
        let midway = try Self.killAtProgress(["quantize", checkpoint, "OUT", "Q4_K_M"])
        #expect(midway >= 10, "most kills should land while the command runs")
    }
}
