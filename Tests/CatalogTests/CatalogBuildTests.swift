import Catalog
import FileAccess
import Foundation
import JSON
import KilnTestSupport
import Testing
import Yams

/// `kiln catalog build|verify|serve` on catalogs of the tiny fixture, through the command line.
@Suite(.serialized) struct CatalogBuildTests {
    static let fixture = TestEnvironment.fixtures.appendingPathComponent("tiny-llama")
    static let text = TestEnvironment.repositoryRoot.appendingPathComponent("recipes/texts/calibration-small.txt")

    static func kiln(_ args: [String]) throws -> CommandResult { try run(TestEnvironment.kiln.path, args) }

    /// Builds a tiny recipe under `tmp/dist` and returns DIST.
    @discardableResult
    static func build(
        _ tmp: TemporaryFolder, name: String = "tiny", variants: String = "[Q8_0, Q4_K_M, Q2_K]"
    )
        throws -> URL
    {
        let yaml = """
            name: \(name)
            publisher: kiln
            license: mit
            tasks: [chat-completion]
            source: \(fixture.path)
            variants: \(variants)
            verify:
              text: \(text.path)
              ctx: 64
              chunks: 4
            """
        let recipe = tmp.file("\(name).yaml")
        try Data(yaml.utf8).write(to: recipe)
        let r = try kiln(["build", recipe.path, "-o", tmp.file("dist").path])
        #expect(r.status == 0, "\(r.stderr)")
        return tmp.file("dist")
    }

    @Test func buildsACatalogWithFilesAndExports() throws {
        let tmp = TemporaryFolder()
        let dist = try Self.build(tmp)
        let catalog = tmp.file("catalog")
        let r = try Self.kiln(["catalog", "build", dist.path, "-o", catalog.path, "--copy"])
        #expect(r.status == 0, "\(r.stderr)")
        let index = try CatalogIndex(contentsOf: catalog.appendingPathComponent("catalog.json"))
        let m = try #require(index.model("tiny"))
        #expect(m.variants.map(\.id) == ["tiny:Q8_0", "tiny:Q4_K_M", "tiny:Q2_K"])
        #expect(m.variants.contains { $0.id == m.recommended })
        let manifest = try Manifest(contentsOf: dist.appendingPathComponent("tiny/manifest.json"))
        for v in m.variants {
            #expect(v.providerType == "llama.cpp" && v.modelType == "GGUF")
            #expect(v.uri == v.files[0].path && v.uri.hasPrefix("files/\(v.files[0].sha256.prefix(16))/"))
            #expect(try sha256(of: catalog.appendingPathComponent(v.uri)) == v.files[0].sha256)
            #expect(manifest.variants.first { $0.id == v.id }?.sha256 == v.files[0].sha256)
            #expect(v.quality != nil && v.requirements.minMemoryBytes > v.files[0].size)
        }
        // llama-server preset: a section per variant and one for the alias, each with model, c and jinja.
        let ini = try String(contentsOf: catalog.appendingPathComponent("llama-server.ini"), encoding: .utf8)
        for section in ["[tiny]", "[tiny:Q8_0]", "[tiny:Q4_K_M]", "[tiny:Q2_K]"] { #expect(ini.contains(section)) }
        #expect(ini.components(separatedBy: "jinja = true").count - 1 == 4)
        #expect(ini.contains("c = 2048"))
        for line in ini.split(separator: "\n") where line.hasPrefix("model = ") {
            #expect(FileManager.default.fileExists(atPath: String(line.dropFirst(8))))
        }
        try Self.checkModelfiles(catalog, index)
        try Self.checkModelYAML(catalog.appendingPathComponent("lmstudio/tiny/model.yaml"))
        let foundry =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: catalog.appendingPathComponent("foundry-catalog.json"))) as! [String: Any]
        let response = foundry["indexEntitiesResponse"] as! [String: Any]
        #expect(response["totalCount"] as? Int == 3)
        let entry = (response["value"] as! [[String: Any]])[0]
        let tags = (entry["annotations"] as! [String: Any])["tags"] as! [String: String]
        #expect(tags["alias"] == "tiny")
        // promptTemplate is a JSON string, as Foundry sends it.
        let prompt = try JSONSerialization.jsonObject(with: Data(tags["promptTemplate"]!.utf8)) as! [String: String]
        #expect(prompt["user"]?.contains("{Content}") == true)
        #expect(try Self.kiln(["catalog", "verify", catalog.path]).status == 0)
    }

    /// Ollama's Modelfile syntax (docs/modelfile.mdx): one instruction per line, FROM first, known PARAMETER
    /// names with values of their type, strings quoted with escapes.
    static func checkModelfiles(_ catalog: URL, _ index: CatalogIndex) throws {
        let parameters: [String: (String) -> Bool] = [
            "num_ctx": { Int($0) != nil }, "stop": { $0.hasPrefix("\"") && $0.hasSuffix("\"") && $0.count >= 2 }
        ]
        for m in index.models {
            for v in m.variants {
                let text = try String(
                    contentsOf: catalog.appendingPathComponent("ollama/\(m.alias)/\(v.name)/Modelfile"), encoding: .utf8
                )
                let lines = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
                #expect(lines.first?.hasPrefix("FROM ") == true)
                #expect(FileManager.default.fileExists(atPath: String(lines[0].dropFirst(5))))
                for line in lines {
                    let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                    #expect(["FROM", "PARAMETER", "LICENSE", "TEMPLATE", "SYSTEM"].contains(parts[0]), "\(line)")
                    if parts[0] == "PARAMETER" {
                        let kv = parts[1].split(separator: " ", maxSplits: 1).map(String.init)
                        #expect(parameters[kv[0]]?(kv[1]) == true, "\(line)")
                    }
                }
                #expect(lines.contains { $0.hasPrefix("PARAMETER stop ") } == !m.stopTokens.isEmpty)
            }
        }
    }

    /// LM Studio's model.yaml (modelyaml.org): `model` publisher/name, `base` a list of keys with
    /// huggingface sources, `metadataOverrides` with the documented keys and types.
    static func checkModelYAML(_ url: URL) throws {
        let yaml = try #require(try Yams.load(yaml: String(contentsOf: url, encoding: .utf8)) as? [String: Any])
        let model = try #require(yaml["model"] as? String)
        #expect(model.split(separator: "/").count == 2)
        let base = try #require(yaml["base"] as? [[String: Any]])
        #expect(!base.isEmpty)
        for b in base {
            #expect(b["key"] is String)
            let sources = try #require(b["sources"] as? [[String: Any]])
            #expect(
                sources.allSatisfy {
                    $0["type"] as? String == "huggingface" && $0["user"] is String && $0["repo"] is String
                })
        }
        let overrides = try #require(yaml["metadataOverrides"] as? [String: Any])
        let allowed: Set<String> = [
            "domain", "architectures", "compatibilityTypes", "paramsStrings", "minMemoryUsageBytes", "contextLengths",
            "vision", "reasoning", "trainedForToolUse"
        ]
        #expect(Set(overrides.keys).isSubset(of: allowed))
        #expect(overrides["minMemoryUsageBytes"] is Int)
        #expect(overrides["compatibilityTypes"] as? [String] == ["gguf"])
        #expect(overrides["trainedForToolUse"] is Bool)
    }

    @Test func rebuildingWithOneModelChangedTouchesOnlyItsEntries() throws {
        let tmp = TemporaryFolder()
        try Self.build(tmp, name: "tiny")
        let dist = try Self.build(tmp, name: "other", variants: "[Q8_0, Q4_K_M]")
        let catalog = tmp.file("catalog")
        #expect(try Self.kiln(["catalog", "build", dist.path, "-o", catalog.path]).status == 0)
        let before = try CatalogIndex(contentsOf: catalog.appendingPathComponent("catalog.json"))
        let tinyFile = catalog.appendingPathComponent(before.model("tiny")!.variants[0].uri)
        let inode = FileIdentity(path: tinyFile.path)

        try Self.build(tmp, name: "other", variants: "[Q8_0, Q6_K]")
        let r = try Self.kiln(["catalog", "build", dist.path, "-o", catalog.path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(summary["changed"] as? [String] == ["other"])
        #expect(summary["placed"] as? Int == 1)
        let after = try CatalogIndex(contentsOf: catalog.appendingPathComponent("catalog.json"))
        #expect(after.model("tiny") == before.model("tiny"))
        #expect(after.model("other")?.variants.map(\.name) == ["Q8_0", "Q6_K"])
        #expect(FileIdentity(path: tinyFile.path) == inode)
    }

    @Test func verifyCatchesAFlippedByteATruncationAndAnEditedManifest() throws {
        let tmp = TemporaryFolder()
        let dist = try Self.build(tmp)
        let catalog = tmp.file("catalog")
        #expect(try Self.kiln(["catalog", "build", dist.path, "-o", catalog.path, "--copy"]).status == 0)
        let index = try CatalogIndex(contentsOf: catalog.appendingPathComponent("catalog.json"))
        let files = index.models[0].variants.map { catalog.appendingPathComponent($0.uri) }

        var bytes = try Data(contentsOf: files[0])
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: files[0])
        let truncated = try Data(contentsOf: files[1])
        try truncated.prefix(truncated.count - 10).write(to: files[1])
        let manifest = catalog.appendingPathComponent(index.models[0].manifest)
        let text = try String(contentsOf: manifest, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "\"license\" : \"mit\"", with: "\"license\" : \"gpl\"").utf8).write(
            to: manifest)

        let r = try Self.kiln(["catalog", "verify", catalog.path])
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 3, "\(r.stderr)")
        #expect(lines.contains { $0.contains(files[0].path) && $0.contains("SHA-256") })
        #expect(lines.contains { $0.contains(files[1].path) && $0.contains("bytes") })
        #expect(lines.contains { $0.contains(manifest.path) })
    }

    @Test func badInputIsOneErrorAndLeavesThePreviousCatalog() throws {
        let tmp = TemporaryFolder()
        let dist = try Self.build(tmp)
        let catalog = tmp.file("catalog")
        #expect(try Self.kiln(["catalog", "build", dist.path, "-o", catalog.path]).status == 0)
        let previous = try Data(contentsOf: catalog.appendingPathComponent("catalog.json"))

        // A DIST without a manifest.
        let empty = tmp.file("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        // The same alias from another source.
        let other = tmp.file("other/tiny")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        var m = try Manifest(contentsOf: dist.appendingPathComponent("tiny/manifest.json"))
        m.source.location = "hf:someone/else"
        try JSONOutput.prettyData(m).write(to: other.appendingPathComponent("manifest.json"))
        // A manifest from a newer schema.
        let newer = tmp.file("newer/tiny")
        try FileManager.default.createDirectory(at: newer, withIntermediateDirectories: true)
        let text = try String(contentsOf: dist.appendingPathComponent("tiny/manifest.json"), encoding: .utf8)
        try Data(text.replacingOccurrences(of: "\"schema_version\" : 1", with: "\"schema_version\" : 2").utf8).write(
            to: newer.appendingPathComponent("manifest.json"))
        // A catalog folder that cannot be written (a file is in the way).
        let blocker = tmp.file("blocker")
        try Data("x".utf8).write(to: blocker)

        let cases: [([String], String)] = [
            ([empty.path, "-o", catalog.path], "no manifest.json"),
            ([dist.path, tmp.file("other").path, "-o", catalog.path], "another source"),
            ([newer.path, "-o", catalog.path], "schema_version 2"),
            ([dist.path, "-o", blocker.appendingPathComponent("catalog").path], "cannot write the catalog"),
            ([tmp.file("nowhere").path, "-o", catalog.path], "no such build folder")
        ]
        for (args, message) in cases {
            let r = try Self.kiln(["catalog", "build"] + args)
            #expect(r.status == 1, "\(args)")
            #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains(message), "\(r.stderr)")
            #expect(try Data(contentsOf: catalog.appendingPathComponent("catalog.json")) == previous)
        }
    }

    @Test func serveGivesFilesWholeAndInRangesAndRefusesWhatItDoesNotList() throws {
        let tmp = TemporaryFolder()
        let dist = try Self.build(tmp)
        let catalog = tmp.file("catalog")
        #expect(try Self.kiln(["catalog", "build", dist.path, "-o", catalog.path]).status == 0)
        let index = try CatalogIndex(contentsOf: catalog.appendingPathComponent("catalog.json"))
        let v = index.models[0].variants[1]

        let server = try CatalogServerProcess(catalog: catalog)
        defer { server.stop() }
        let base = server.url
        func curl(_ args: [String]) throws -> CommandResult {
            try run("/usr/bin/curl", ["-s", "--path-as-is", "-g"] + args)
        }
        func status(_ args: [String]) throws -> String {
            try curl(["-o", "/dev/null", "-w", "%{http_code}"] + args).stdout
        }
        // Whole, with its digest as ETag and its length.
        let whole = tmp.file("whole.gguf")
        #expect(try curl(["-o", whole.path, "-w", "%{http_code}", "\(base)/\(v.uri)"]).stdout == "200")
        #expect(try sha256(of: whole) == v.files[0].sha256)
        let head = try curl(["-I", "\(base)/\(v.uri)"]).stdout.lowercased()
        #expect(head.contains("etag: \"\(v.files[0].sha256)\""))
        #expect(head.contains("content-length: \(v.files[0].size)"))
        #expect(head.contains("accept-ranges: bytes"))
        // In ranges, reassembled.
        let size = v.files[0].size, cut = size / 3
        var parts = Data()
        for range in ["0-\(cut - 1)", "\(cut)-\(2 * cut - 1)", "\(2 * cut)-"] {
            let part = tmp.file("part")
            #expect(try curl(["-r", range, "-o", part.path, "-w", "%{http_code}", "\(base)/\(v.uri)"]).stdout == "206")
            parts.append(try Data(contentsOf: part))
        }
        #expect(parts == (try Data(contentsOf: whole)))
        let last = tmp.file("last")
        #expect(try curl(["-r", "-100", "-o", last.path, "-w", "%{http_code}", "\(base)/\(v.uri)"]).stdout == "206")
        #expect(try Data(contentsOf: last) == (try Data(contentsOf: whole)).suffix(100))
        #expect(try status(["-r", "\(size)-", "\(base)/\(v.uri)"]) == "416")
        #expect(try status(["-H", "Range: bytes=5-2", "\(base)/\(v.uri)"]) == "416")
        // Traversal, encoded dots, unknown files and aliases, bad parameters.
        for path in [
            "/files/../catalog.json/../../etc/passwd", "/../../etc/passwd", "/files/%2e%2e/%2e%2e/etc/passwd",
            "/files/..%2f..%2fetc%2fpasswd", "/\(v.uri)/..", "/files/unknown.gguf", "/v1/models/nope"
        ] {
            let code = try status(["\(base)\(path)"])
            #expect(code == "404" || code == "400", "\(path): \(code)")
        }
        #expect(try status(["\(base)/v1/models/tiny?memory=lots"]) == "400")
        #expect(try status(["\(base)/v1/models/tiny?memory=1KB"]) == "409")
        let resolved = try curl(["\(base)/v1/models/tiny?memory=4GB"]).stdout
        let r = try JSONSerialization.jsonObject(with: Data(resolved.utf8)) as! [String: Any]
        #expect(r["id"] as? String == "tiny:Q8_0")
        #expect(try status(["\(base)/v1/catalog"]) == "200")
        #expect(try status(["-X", "POST", "\(base)/v1/foundry/index/entities"]) == "200")
        #expect(try status(["\(base)/catalog.json"]) == "200")
        #expect(server.terminate() == 0)
    }
}

/// `kiln catalog serve --port 0` in the background; the port is read from its first line.
final class CatalogServerProcess {
    let process = Process()
    let url: String

    init(catalog: URL) throws {
        process.executableURL = TestEnvironment.kiln
        process.arguments = ["catalog", "serve", catalog.path, "--port", "0"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let r = text.range(of: "http://[^ \n]+", options: .regularExpression) else {
            struct NotStarted: Error {}
            throw NotStarted()
        }
        url = String(text[r])
    }

    /// SIGTERM, then the exit status (0: a graceful shutdown).
    func terminate() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }

    func stop() { if process.isRunning { _ = terminate() } }
}
