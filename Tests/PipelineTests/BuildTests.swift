import Catalog
import Foundation
import JSON
import KilnTestSupport
import Testing

/// `kiln build` on the bundled tiny checkpoint, through the command line as a user runs it.
@Suite struct BuildTests {
    static let fixture = TestEnvironment.fixtures.appendingPathComponent("tiny-llama")
    static let text = TestEnvironment.repositoryRoot.appendingPathComponent("recipes/texts/calibration-small.txt")

    /// A recipe in a temporary folder, reading the fixture and the small text by absolute path.
    static func recipe(
        in tmp: TemporaryFolder, name: String = "tiny", variants: String = "[Q8_0, Q4_K_M, Q2_K]",
        verify: String? = nil, extra: String = ""
    ) throws -> URL {
        let v =
            verify ?? """
                verify:
                  text: \(text.path)
                  ctx: 64
                  chunks: 4
                  max_mean_kld: 5
                """
        let yaml = """
            name: \(name)
            tasks: [chat-completion]
            source: \(fixture.path)
            \(extra)
            variants: \(variants)
            \(v)
            """
        let url = tmp.file("\(name).yaml")
        try Data(yaml.utf8).write(to: url)
        return url
    }

    static func build(_ args: [String]) throws -> CommandResult {
        try run(TestEnvironment.kiln.path, ["build"] + args)
    }

    /// The JSON events of a build, by event name.
    static func events(_ r: CommandResult) throws -> [[String: Any]] {
        try r.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    static func ran(_ events: [[String: Any]]) -> [String] {
        events.filter { $0["event"] as? String == "node" && $0["action"] as? String == "run" }.map {
            "\($0["stage"]!)" + (($0["variant"] as? String).map { " \($0)" } ?? "")
        }
    }

    @Test func buildsTheLadderByteIdenticalToKilnQuantize() throws {
        let tmp = TemporaryFolder()
        let recipe = try Self.recipe(
            in: tmp,
            variants: """

                  - Q8_0
                  - Q4_K_M
                  - name: Q4_K_M-embed-q8
                    type: Q4_K_M
                    token_embedding_type: Q8_0
                    tensor_types: ["ffn_down=Q6_K"]
                """, extra: "base: f16")
        let dist = tmp.file("dist")
        let r = try Self.build([recipe.path, "-o", dist.path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let folder = dist.appendingPathComponent("tiny")
        let manifest = try Manifest(contentsOf: folder.appendingPathComponent("manifest.json"))
        #expect(manifest.variants.map(\.name) == ["F16", "Q8_0", "Q4_K_M", "Q4_K_M-embed-q8"])
        #expect(manifest.published.count == 4)

        // Each file equals the single-stage command's.
        let single: [(String, [String])] = [
            ("F16", ["convert", Self.fixture.path, "--outtype", "f16", "-o"]),
            ("Q8_0", ["quantize", Self.fixture.path, "OUT", "Q8_0"]),
            ("Q4_K_M", ["quantize", Self.fixture.path, "OUT", "Q4_K_M"]),
            (
                "Q4_K_M-embed-q8",
                [
                    "quantize", Self.fixture.path, "OUT", "Q4_K_M", "--token-embedding-type", "q8_0", "--tensor-type",
                    "ffn_down=Q6_K"
                ]
            )
        ]
        for (name, args) in single {
            let out = tmp.file("single-\(name).gguf")
            let a = args.last == "-o" ? args + [out.path] : args.map { $0 == "OUT" ? out.path : $0 }
            let s = try run(TestEnvironment.kiln.path, a + ["--quiet"].filter { _ in args[0] == "quantize" })
            #expect(s.status == 0, "\(s.stderr)")
            let built = folder.appendingPathComponent("tiny-\(name).gguf")
            #expect(try sha256(of: built) == sha256(of: out), "\(name)")
            let v = try #require(manifest.variants.first { $0.name == name })
            #expect(v.sha256 == (try sha256(of: out)))
            #expect(v.bytes == (try FileManager.default.attributesOfItem(atPath: out.path)[.size] as! Int))
            #expect(v.quality != nil)
            // The provenance statement names the file and its digest.
            let statement =
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: folder.appendingPathComponent(v.provenance))) as! [String: Any]
            #expect(statement["_type"] as? String == "https://in-toto.io/Statement/v1")
            let subject = (statement["subject"] as! [[String: Any]])[0]
            #expect(subject["name"] as? String == v.file)
            #expect((subject["digest"] as! [String: String])["sha256"] == v.sha256)
        }
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("report.md").path))
    }

    @Test func aSecondRunReusesEverythingAndAnEditedVariantRebuildsAlone() throws {
        let tmp = TemporaryFolder()
        let dist = tmp.file("dist")
        var recipe = try Self.recipe(in: tmp)
        let first = try Self.events(try Self.build([recipe.path, "-o", dist.path, "--json"]))
        #expect(Self.ran(first).contains("quantize Q2_K"))
        #expect(Self.ran(first).contains("reference"))
        let manifest = try Data(contentsOf: dist.appendingPathComponent("tiny/manifest.json"))

        let second = try Self.events(try Self.build([recipe.path, "-o", dist.path, "--json"]))
        #expect(Self.ran(second) == ["manifest"])
        #expect(!second.contains { ["tensor", "chunk"].contains($0["event"] as? String) })
        #expect(try Data(contentsOf: dist.appendingPathComponent("tiny/manifest.json")) == manifest)

        // One variant edited: only it is quantized and measured again.
        recipe = try Self.recipe(
            in: tmp, variants: "[Q8_0, Q4_K_M, {name: Q2_K, type: Q2_K, output_tensor_type: Q8_0}]")
        let third = try Self.events(try Self.build([recipe.path, "-o", dist.path, "--json"]))
        #expect(Self.ran(third) == ["quantize Q2_K", "verify Q2_K", "manifest"])
    }

    @Test func aTightGateRejectsTheVariantWithStatus3() throws {
        let tmp = TemporaryFolder()
        let recipe = try Self.recipe(
            in: tmp,
            verify: """
                verify:
                  text: \(Self.text.path)
                  ctx: 64
                  chunks: 4
                  max_mean_kld: 0.00000001
                """)
        let r = try Self.build([recipe.path, "-o", tmp.file("dist").path])
        #expect(r.status == 3, "\(r.stderr)")
        let m = try Manifest(contentsOf: tmp.file("dist/tiny/manifest.json"))
        let q2 = try #require(m.variants.first { $0.name == "Q2_K" })
        #expect(q2.status == .rejected)
        #expect(q2.rejectedBecause.first?.contains("max_mean_kld") == true)
        #expect(q2.gates.first?.passed == false)
        #expect(m.published.allSatisfy { $0.quality!.meanKLD <= 0.00000001 })
        #expect(r.stdout.contains("rejected"))
    }

    @Test func aSecondBuildIntoTheSameFolderIsRefusedWhileTheFirstHoldsTheLock() throws {
        let tmp = TemporaryFolder()
        let recipe = try Self.recipe(in: tmp)
        let state = tmp.file("dist/tiny/.kiln")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let fd = open(state.appendingPathComponent("lock").path, O_RDWR | O_CREAT, 0o644)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let r = try Self.build([recipe.path, "-o", tmp.file("dist").path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("another kiln build is writing here"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        flock(fd, LOCK_UN)
        #expect(try Self.build([recipe.path, "-o", tmp.file("dist").path]).status == 0)
    }

    @Test func runningEveryNodeOfThePlanAloneGivesTheSameFolder() throws {
        let tmp = TemporaryFolder()
        let recipe = try Self.recipe(in: tmp, extra: "base: f16")
        let whole = try Self.build([recipe.path, "-o", tmp.file("one").path])
        #expect(whole.status == 0, "\(whole.stderr)")
        let plan = try Self.build([recipe.path, "-o", tmp.file("nodes").path, "--plan", "--json"])
        let nodes = try Self.events(plan)[0]["nodes"] as! [[String: Any]]
        #expect(nodes.map { $0["stage"] as! String }.first == "facts")
        for n in nodes {
            let command = n["command"] as! [String]
            #expect(command.first == "kiln")
            let r = try run(TestEnvironment.kiln.path, Array(command.dropFirst()))
            #expect(r.status == 0, "\(n["stage"]!): \(r.stderr)")
        }
        // Run again: every node is a no-op now.
        for n in nodes where n["stage"] as? String != "manifest" {
            let r = try run(TestEnvironment.kiln.path, Array((n["command"] as! [String]).dropFirst()) + ["--json"])
            #expect(!Self.ran(try Self.events(r)).contains { !$0.hasPrefix("manifest") })
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: tmp.file("one/tiny").path).sorted()
        #expect(names == (try FileManager.default.contentsOfDirectory(atPath: tmp.file("nodes/tiny").path).sorted()))
        for name in names where name != "report.md" && name != ".kiln" {
            #expect(
                try sha256(of: tmp.file("one/tiny/\(name)")) == sha256(of: tmp.file("nodes/tiny/\(name)")), "\(name)")
        }
    }

    @Test func aNodeWhoseInputsAreMissingIsRefused() throws {
        let tmp = TemporaryFolder()
        let recipe = try Self.recipe(in: tmp)
        let plan = try Self.build([recipe.path, "-o", tmp.file("d").path, "--plan", "--json"])
        let nodes = try Self.events(plan)[0]["nodes"] as! [[String: Any]]
        let verify = try #require(nodes.first { $0["stage"] as? String == "verify" })
        let r = try run(TestEnvironment.kiln.path, Array((verify["command"] as! [String]).dropFirst()))
        #expect(r.status == 1)
        #expect(r.stderr.contains("first"), "\(r.stderr)")
    }

    @Test func severalRecipesBuildAtOnceWithJobs() throws {
        let tmp = TemporaryFolder()
        let a = try Self.recipe(in: tmp, name: "tiny-a", variants: "[Q8_0, Q4_K_M]")
        let b = try Self.recipe(in: tmp, name: "tiny-b", variants: "[Q6_K]")
        let r = try Self.build([a.path, b.path, "-o", tmp.file("dist").path, "--jobs", "2", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let done = try Self.events(r).filter { $0["event"] as? String == "done" }.map { $0["alias"] as! String }
        #expect(done == ["tiny-a", "tiny-b"])
        #expect(try Manifest(contentsOf: tmp.file("dist/tiny-a/manifest.json")).published.count == 2)
        #expect(try Manifest(contentsOf: tmp.file("dist/tiny-b/manifest.json")).published.count == 1)
        // Two recipes with one name are refused before any work.
        let clash = try Self.build([a.path, a.path, "-o", tmp.file("dist2").path])
        #expect(clash.status == 1)
        #expect(!FileManager.default.fileExists(atPath: tmp.file("dist2").path))
    }

    @Test func dryRunPrintsThePlanWithSizesAndWritesNothing() throws {
        let tmp = TemporaryFolder()
        let recipe = try Self.recipe(in: tmp)
        let r = try Self.build([recipe.path, "-o", tmp.file("dist").path, "--dry-run"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("build quantize"))
        #expect(r.stdout.contains("MiB"))
        #expect(!FileManager.default.fileExists(atPath: tmp.file("dist").path))
    }

    /// (what is wrong, recipe text or nil for a missing file, the key the one-line error names)
    @Test func badRecipesFailWithOneLineNamingTheKeyAndWriteNothing() throws {
        let tmp = TemporaryFolder()
        let short = tmp.file("short.txt")
        try Data("Only a few words.".utf8).write(to: short)
        let cases: [(String, String)] = [
            ("name: tiny\nsource: \(tmp.file("nowhere").path)\nvariants: [Q8_0]\n", "`source`"),
            ("name: tiny\nsource: hf:NoOrg/NoModel@main\nvariants: [Q8_0]\n", "`source`"),
            ("name: tiny\nsource: \(Self.fixture.path)\nvariants: [Q8_0]\nbogus: 1\n", "`bogus`"),
            ("name: tiny\nsource: \(Self.fixture.path)\nvariants: [Q8_0, Q8_0]\n", "`variants[1].name`"),
            ("name: tiny\nsource: \(Self.fixture.path)\nvariants: [Q9_0]\n", "`variants[0]`"),
            ("name: ../up\nsource: \(Self.fixture.path)\nvariants: [Q8_0]\n", "`name`"),
            (
                "name: tiny\nsource: \(Self.fixture.path)\nvariants: [Q8_0]\nverify:\n  text: \(short.path)\n  ctx: 64\n",
                "`verify.text`"
            ),
            (
                "name: tiny\nsource: \(Self.fixture.path)\nvariants: [Q8_0]\nverify:\n  text: missing.txt\n",
                "`verify.text`"
            )
        ]
        for (i, (text, key)) in cases.enumerated() {
            let recipe = tmp.file("bad\(i).yaml")
            try Data(text.utf8).write(to: recipe)
            let dist = tmp.file("dist\(i)")
            let r = try Self.build([recipe.path, "-o", dist.path])
            #expect(r.status == 1, "case \(i): \(r.stdout) \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1, "case \(i): \(r.stderr)")
            #expect(r.stderr.contains(recipe.path) && r.stderr.contains(key), "case \(i): \(r.stderr)")
            let written = (try? FileManager.default.subpathsOfDirectory(atPath: dist.path)) ?? []
            #expect(
                written.allSatisfy { !$0.hasSuffix(".gguf") && !$0.hasSuffix(".json") || $0.contains(".kiln") },
                "case \(i): \(written)")
        }
        let missing = try Self.build([tmp.file("none.yaml").path, "-o", tmp.file("d").path])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("none.yaml"))
    }
}
