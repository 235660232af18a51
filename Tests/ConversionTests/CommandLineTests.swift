import Foundation
import KilnTestSupport
import Testing

/// The command line end to end: JSON progress events for agents and CI logs, and `kiln inspect`.
@Suite("kiln command line")
struct CommandLineTests {
    func jsonLines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test("convert, quantize and inspect with --json")
    func json() throws {
        let folder = TemporaryFolder()
        let kiln = TestEnvironment.kiln.path
        let fixture = TestEnvironment.fixtures.appendingPathComponent("tiny-llama").path
        let f16 = folder.file("tiny.gguf").path
        var r = try run(kiln, ["convert", fixture, "-o", f16, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        var events = jsonLines(r.stdout)
        #expect(events.count == r.stdout.split(separator: "\n").count, "every line is JSON")
        let tensors = events.filter { $0["event"] as? String == "tensor" }
        #expect(tensors.count == (events.last?["tensors"] as? Int))
        #expect(events.last?["event"] as? String == "done")
        #expect(events.last?["outtype"] as? String == "bf16", "auto picks BF16 for a BF16 checkpoint")

        r = try run(kiln, ["quantize", f16, folder.file("q.gguf").path, "q8_0", "--json", "--allow-requantize"])
        #expect(r.status == 0, "\(r.stderr)")
        events = jsonLines(r.stdout)
        #expect(events.filter { $0["event"] as? String == "tensor" }.count == tensors.count)
        #expect(events.allSatisfy { $0["event"] != nil })
        #expect(events.last?["wrote"] as? Bool == true)

        r = try run(kiln, ["inspect", folder.file("q.gguf").path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let info = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let metadata = info["metadata"] as? [[String: Any]] ?? []
        #expect(metadata.first?["key"] as? String == "general.architecture")
        #expect(metadata.last?["key"] as? String == "general.file_type")
        #expect((info["tensors"] as? [[String: Any]])?.count == tensors.count)

        r = try run(kiln, ["inspect", folder.file("q.gguf").path])
        #expect(r.status == 0 && r.stdout.contains("token_embd.weight") && r.stdout.contains("Q8_0"))
        r = try run(kiln, ["inspect", fixture + "/config.json"])
        #expect(r.status != 0 && r.stderr.contains("not a GGUF file"), "\(r.stderr)")
    }
}
