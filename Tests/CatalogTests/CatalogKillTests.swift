import Foundation
import KilnTestSupport
import Testing

/// `kill -9` at any point of `kiln catalog build` leaves no incomplete file under a final name: every file the
/// killed run left is the one an uninterrupted run writes, a `catalog.json` that exists passes
/// `kiln catalog verify`, and running the build again completes the catalog.
@Suite(.tags(.golden, .slow), .fullTier)
struct CatalogKillTests {
    static func kiln(_ args: [String]) throws -> CommandResult { try run(TestEnvironment.kiln.path, args) }

    /// Every regular file under `root` whose path has no hidden component, relative to `root`.
    static func visibleFiles(_ root: URL) throws -> [String] {
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        else { return [] }
        var out: [String] = []
        for case let url as URL in walker {
            let relative = String(url.path.dropFirst(root.path.count + 1))
            if relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            if try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true { out.append(relative) }
        }
        return out.sorted()
    }

    @Test func catalogBuildKilledAtAnyPoint() throws {
        let tmp = TemporaryFolder()
        let yaml = """
            name: smollm2-kill
            publisher: HuggingFaceTB
            license: apache-2.0
            tasks: [chat-completion]
            source: \(try TestEnvironment.smolLM2.path)
            variants: [Q8_0, Q4_K_M]
            verify:
              text: \(try TestEnvironment.shared.appendingPathComponent("golden/text/eval.txt").path)
              ctx: 128
              chunks: 2
            """
        let recipe = tmp.file("recipe.yaml")
        try Data(yaml.utf8).write(to: recipe)
        let dist = tmp.file("dist")
        let built = try Self.kiln(["build", recipe.path, "-o", dist.path])
        try #require(built.status == 0, "\(built.stderr)")

        // The uninterrupted run: its files, and how long it takes (copies of about 250 MB).
        let clean = tmp.file("clean")
        let start = Date()
        let r = try Self.kiln(["catalog", "build", dist.path, "-o", clean.path, "--copy"])
        let duration = Date().timeIntervalSince(start)
        try #require(r.status == 0, "\(r.stderr)")
        let cleanFiles = try Self.visibleFiles(clean)
        var digests: [String: String] = [:]
        for f in cleanFiles where f.hasPrefix("files/") { digests[f] = try sha256(of: clean.appendingPathComponent(f)) }

        let trials = 20
        var killedMidway = 0
        for trial in 0..<trials {
            let catalog = tmp.file("trial\(trial)")
            let p = Process()
            p.executableURL = TestEnvironment.kiln
            p.arguments = ["catalog", "build", dist.path, "-o", catalog.path, "--copy"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(useconds_t(duration * 1e6 * Double(trial) / Double(trials)))
            if p.isRunning { killedMidway += 1 }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()

            for f in try Self.visibleFiles(catalog) {
                #expect(cleanFiles.contains(f), "trial \(trial): \(f) is not a file the catalog holds")
                if let digest = digests[f] {
                    #expect(
                        try sha256(of: catalog.appendingPathComponent(f)) == digest,
                        "trial \(trial): \(f) is incomplete")
                }
            }
            if FileManager.default.fileExists(atPath: catalog.appendingPathComponent("catalog.json").path) {
                let v = try Self.kiln(["catalog", "verify", catalog.path])
                #expect(v.status == 0, "trial \(trial): a catalog.json that does not verify: \(v.stderr)")
            }
            // Building again over what the kill left completes the catalog.
            let again = try Self.kiln(["catalog", "build", dist.path, "-o", catalog.path, "--copy"])
            #expect(again.status == 0, "trial \(trial): \(again.stderr)")
            #expect(try Self.kiln(["catalog", "verify", catalog.path]).status == 0, "trial \(trial)")
            try? FileManager.default.removeItem(at: catalog)
        }
        #expect(killedMidway >= 10, "most kills should land while the command runs (\(killedMidway) of \(trials))")
    }
}
