import Catalog
import Foundation
import KilnTestSupport
import Testing

/// The SmolLM2 recipe (`recipes/smollm2-135m-instruct.yaml`) built for real: six files byte-identical to
/// llama-quantize's, numbers equal to `kiln verify`'s, a manifest valid against its schema, and memory
/// estimates checked against what llama.cpp allocates.
@Suite(.serialized, .tags(.slow, .golden, .oracle), .fullTier) struct SmolLM2BuildTests {
    static let types = ["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K"]
    static let alias = "smollm2-135m-instruct"

    /// One build shared by the tests of this suite.
    final class Built: @unchecked Sendable {
        let tmp = TemporaryFolder()
        let recipe: URL
        let dist: URL
        let first: CommandResult
        var folder: URL { dist.appendingPathComponent(SmolLM2BuildTests.alias) }

        init() throws {
            // The bundled recipe, pointed at the checkpoint and the evaluation text of this run.
            var text = try String(
                contentsOf: TestEnvironment.repositoryRoot.appendingPathComponent(
                    "recipes/smollm2-135m-instruct.yaml"), encoding: .utf8)
            let checkpoint = try TestEnvironment.smolLM2.path
            text = text.replacingOccurrences(
                of: "source: ../.build/kiln-test/checkpoints/smollm2-135m-instruct", with: "source: \(checkpoint)")
            let eval = try TestEnvironment.shared.appendingPathComponent("golden/text/eval.txt").path
            text = text.replacingOccurrences(of: "text: ../../shared/golden/text/eval.txt", with: "text: \(eval)")
            recipe = tmp.file("smollm2-135m-instruct.yaml")
            try Data(text.utf8).write(to: recipe)
            dist = tmp.file("dist")
            first = try run(TestEnvironment.kiln.path, ["build", recipe.path, "-o", dist.path, "--json"])
        }
    }

    nonisolated(unsafe) static var cached: Built?
    static func built() throws -> Built {
        if let cached { return cached }
        let b = try Built()
        cached = b
        return b
    }

    @Test func theLadderIsByteIdenticalToLlamaQuantizeAndTheManifestIsValid() throws {
        let b = try Self.built()
        #expect(b.first.status == 0, "\(b.first.stderr)")
        let manifest = try Manifest(contentsOf: b.folder.appendingPathComponent("manifest.json"))
        #expect(manifest.variants.map(\.name) == Self.types)
        #expect(manifest.published.count == 6)
        for t in Self.types {
            let golden =
                try JSONSerialization.jsonObject(
                    with: Data(
                        contentsOf: try TestEnvironment.shared.appendingPathComponent("golden/smollm2/\(t).json")))
                as! [String: Any]
            let file = b.folder.appendingPathComponent("\(Self.alias)-\(t).gguf")
            let digest = try sha256(of: file)
            #expect(digest == golden["file_sha256"] as? String, "\(t)")
            let v = try #require(manifest.variants.first { $0.name == t })
            #expect(v.sha256 == digest)
            #expect(v.generation?.passed == true, "\(t): \(v.generation?.reply ?? "")")
        }
        #expect(manifest.model.parameterCount == 134_515_008)
        #expect(manifest.model.contextLength == 8192)
        #expect(manifest.chatTemplate?.promptTemplate != nil)
        let check = try run(
            try TestEnvironment.python,
            [
                "-c",
                """
                import json, sys, jsonschema
                schema = json.load(open(sys.argv[1]))
                jsonschema.Draft202012Validator.check_schema(schema)
                jsonschema.validate(json.load(open(sys.argv[2])), schema, cls=jsonschema.Draft202012Validator)
                """,
                TestEnvironment.repositoryRoot.appendingPathComponent("schemas/manifest.schema.json").path,
                b.folder.appendingPathComponent("manifest.json").path
            ])
        #expect(check.status == 0, "\(check.stderr)")
    }

    @Test func theMeasuredNumbersEqualKilnVerify() throws {
        let b = try Self.built()
        let manifest = try Manifest(contentsOf: b.folder.appendingPathComponent("manifest.json"))
        let files = ["Q4_K_M", "Q2_K"].map { b.folder.appendingPathComponent("\(Self.alias)-\($0).gguf").path }
        let r = try run(
            TestEnvironment.kiln.path,
            ["verify"] + files + [
                "--reference", try TestEnvironment.smolLM2.path, "--text",
                try TestEnvironment.shared.appendingPathComponent("golden/text/eval.txt").path, "--chunks", "8",
                "--json"
            ])
        #expect(r.status == 0, "\(r.stderr)")
        // `kiln verify --json` lines, decoded as the manifest is (Foundation's JSONSerialization rounds the
        // last bit of some doubles).
        struct Verified: Decodable {
            var ppl, ln_ppl_ratio, mean_kld, kld_99, max_kld, rms_dp_percent, same_top_p_percent: Double
        }
        for (line, name) in zip(r.stdout.split(separator: "\n"), ["Q4_K_M", "Q2_K"]) {
            let verify = try JSONDecoder().decode(Verified.self, from: Data(line.utf8))
            let q = try #require(manifest.variants.first { $0.name == name }?.quality)
            #expect(q.ppl == verify.ppl)
            #expect(q.lnPPLRatio == verify.ln_ppl_ratio)
            #expect(q.meanKLD == verify.mean_kld)
            #expect(q.kld99 == verify.kld_99)
            #expect(q.maxKLD == verify.max_kld)
            #expect(q.rmsDpPercent == verify.rms_dp_percent)
            #expect(q.sameTopPPercent == verify.same_top_p_percent)
            #expect(q.chunks == 8)
        }
    }

    @Test func aSecondRunDoesNoEncodingOrInference() throws {
        let b = try Self.built()
        let again = try run(TestEnvironment.kiln.path, ["build", b.recipe.path, "-o", b.dist.path, "--json"])
        #expect(again.status == 0)
        let events = try BuildTests.events(again)
        #expect(BuildTests.ran(events) == ["manifest"])
        #expect(!events.contains { ["tensor", "chunk"].contains($0["event"] as? String) })
    }

    /// llama-completion's log at 4,096 and 8,192 tokens: its model buffers (mapped and repacked), KV cache,
    /// compute and output buffers, against the manifest's estimate (within 10%).
    @Test(arguments: ["Q8_0", "Q4_K_M", "Q2_K"]) func theMemoryEstimateMatchesLlamaCpp(_ type: String) throws {
        let b = try Self.built()
        let manifest = try Manifest(contentsOf: b.folder.appendingPathComponent("manifest.json"))
        let v = try #require(manifest.variants.first { $0.name == type })
        for ctx in [4096, 8192] {
            let r = try run(
                try TestEnvironment.llamaBin.appendingPathComponent("llama-completion").path,
                [
                    "-m", b.folder.appendingPathComponent(v.file).path, "-c", "\(ctx)", "-n", "1", "-p", "Hi", "-t",
                    "2",
                    "-no-cnv", "--no-warmup", "-v"
                ])
            let allocated = try Self.allocatedMiB(r.stderr + r.stdout)
            let estimate = Double(try #require(v.memory.total(atContext: ctx))) / 1_048_576
            #expect(abs(estimate - allocated) / allocated <= 0.10, "\(type) at \(ctx): \(estimate) vs \(allocated) MiB")
        }
    }

    /// The catalog of this build, valid against its schema, served by a real llama-server in router mode
    /// from the preset the catalog writes: every variant listed, and the alias answering a question.
    @Test func llamaServerLoadsTheCatalogsPreset() throws {
        let b = try Self.built()
        let catalog = b.tmp.file("catalog")
        let r = try run(TestEnvironment.kiln.path, ["catalog", "build", b.dist.path, "-o", catalog.path])
        #expect(r.status == 0, "\(r.stderr)")
        let check = try run(
            try TestEnvironment.python,
            [
                "-c",
                """
                import json, sys, jsonschema
                schema = json.load(open(sys.argv[1]))
                jsonschema.Draft202012Validator.check_schema(schema)
                jsonschema.validate(json.load(open(sys.argv[2])), schema, cls=jsonschema.Draft202012Validator)
                """,
                TestEnvironment.repositoryRoot.appendingPathComponent("schemas/catalog.schema.json").path,
                catalog.appendingPathComponent("catalog.json").path
            ])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(try run(TestEnvironment.kiln.path, ["catalog", "verify", catalog.path]).status == 0)

        let port = try Self.freePort()
        let server = Process()
        server.executableURL = try TestEnvironment.llamaBin.appendingPathComponent("llama-server")
        server.arguments = [
            "--models-preset", catalog.appendingPathComponent("llama-server.ini").path, "--host", "127.0.0.1",
            "--port", "\(port)", "-t", "2"
        ]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        // The router starts one llama-server per loaded model. A process started from the test runner may have
        // SIGTERM blocked, so the router and its instances are stopped with SIGKILL.
        defer {
            for pid in Self.children(of: server.processIdentifier) + [server.processIdentifier] { kill(pid, SIGKILL) }
            server.waitUntilExit()
        }
        let base = "http://127.0.0.1:\(port)"
        var models: CommandResult? = nil
        for _ in 0..<60 {
            let m = try run("/usr/bin/curl", ["-sf", "\(base)/v1/models"])
            if m.status == 0 {
                models = m
                break
            }
            usleep(500_000)
        }
        let listed = try #require(models, "llama-server did not answer /v1/models")
        let ids =
            ((try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as! [String: Any])["data"]
            as! [[String: Any]]).map { $0["id"] as! String }
        for t in Self.types { #expect(ids.contains("\(Self.alias):\(t)"), "\(ids)") }
        #expect(ids.contains(Self.alias))
        let request = """
            {"model": "\(Self.alias)", "max_tokens": 32, "temperature": 0,
             "messages": [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]}
            """
        let reply = try run(
            "/usr/bin/curl",
            ["-sf", "-m", "120", "-H", "Content-Type: application/json", "-d", request, "\(base)/v1/chat/completions"])
        #expect(reply.status == 0, "\(reply.stderr)")
        let choices =
            (try JSONSerialization.jsonObject(with: Data(reply.stdout.utf8)) as? [String: Any])?["choices"]
            as? [[String: Any]]
        let content = (choices?.first?["message"] as? [String: Any])?["content"] as? String ?? ""
        #expect(content.contains("Paris"), "\(reply.stdout)")
    }

    /// Processes whose parent is `pid` (from /proc).
    static func children(of pid: Int32) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int32.init).filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == pid
        }
    }

    /// A loopback port nothing listens on (bound to port 0, then released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                bind(fd, p, length) == 0 && getsockname(fd, p, &length) == 0
            }
        }
        struct NoPort: Error {}
        guard bound else { throw NoPort() }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Sums the buffers of the last model load in a llama.cpp log.
    static func allocatedMiB(_ log: String) throws -> Double {
        var total = 0.0
        var model = 0.0, kv = 0.0, compute = 0.0, output = 0.0
        for line in log.split(separator: "\n") {
            func mib() -> Double? {
                guard let r = line.range(of: #"=\s*([0-9.]+) MiB"#, options: .regularExpression) else { return nil }
                return Double(line[r].dropFirst().trimmingCharacters(in: .whitespaces).dropLast(4))
            }
            if line.contains("model buffer size") { model += mib() ?? 0 }
            if line.contains("llama_kv_cache: size =") { kv = mib() ?? kv }
            if line.contains("compute buffer size =") { compute = mib() ?? compute }
            if line.contains("output buffer size =") { output = mib() ?? output }
            if line.contains("print_info: file size") { model = 0 }  // a new load starts: keep only the last one
        }
        total = model + kv + compute + output
        guard total > 0, kv > 0, compute > 0 else {
            struct NoBuffers: Error, CustomStringConvertible {
                let description = "llama.cpp's log names no buffers"
            }
            throw NoBuffers()
        }
        return total
    }
}
