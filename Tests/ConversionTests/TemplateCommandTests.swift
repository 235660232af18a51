import Conversion
import Foundation
import JSON
import KilnTestSupport
import Testing

/// `kiln template check/render`, `kiln generate --message` and `kiln chat` end to end.
@Suite("kiln template, generate --message and chat")
struct TemplateCommandTests {
    let kiln = TestEnvironment.kiln.path

    func check(_ source: String) throws -> (status: Int32, report: JSONValue) {
        let r = try run(kiln, ["template", "check", source, "--json"])
        let report = try JSONParser.parse(Data(r.stdout.utf8))
        return (r.status, report)
    }

    func strings(_ v: JSONValue?) -> [String] {
        guard case .array(let a)? = v else { return [] }
        return a.compactMap(\.stringValue)
    }

    /// What each fixture's template is known to do (its template and the vocabulary its GGUF carries).
    struct Expected: Sendable, CustomStringConvertible {
        var fixture: String
        var system: Bool
        var reasoning: Bool
        var stop: [String]
        var unknown: [String]
        var doubleBOS: Bool
        var promptTemplate: Bool
        var description: String { fixture }
    }

    static let expected: [Expected] = [
        .init(
            fixture: "tiny-llama", system: true, reasoning: false, stop: ["<|im_end|>"], unknown: [], doubleBOS: false,
            promptTemplate: true),
        .init(
            fixture: "tiny-qwen2", system: true, reasoning: false, stop: ["<|im_end|>"], unknown: [], doubleBOS: false,
            promptTemplate: true),
        .init(
            fixture: "tiny-qwen3", system: true, reasoning: true, stop: ["<|im_end|>"], unknown: [], doubleBOS: false,
            promptTemplate: true),
        .init(
            fixture: "tiny-gemma", system: false, reasoning: false, stop: ["<end_of_turn>"], unknown: [],
            doubleBOS: true, promptTemplate: true),
        .init(
            fixture: "tiny-gemma2", system: false, reasoning: false, stop: ["<end_of_turn>"], unknown: [],
            doubleBOS: true, promptTemplate: true),
        .init(
            fixture: "tiny-gemma3", system: true, reasoning: false, stop: ["<end_of_turn>"], unknown: [],
            doubleBOS: true, promptTemplate: true),
        .init(
            fixture: "tiny-mistral", system: false, reasoning: false, stop: ["</s>"], unknown: [], doubleBOS: true,
            promptTemplate: true),
        .init(
            fixture: "tiny-phi3", system: true, reasoning: false, stop: ["<|end|>", "<|endoftext|>"], unknown: [],
            doubleBOS: false, promptTemplate: false),
        .init(
            fixture: "tiny-llama-sharded", system: true, reasoning: false, stop: ["<|eot_id|>"],
            unknown: ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], doubleBOS: true, promptTemplate: true)
    ]

    @Test("check reports each fixture's facts, the same for the folder and its GGUF", arguments: expected)
    func fixtures(e: Expected) throws {
        let folder = TemporaryFolder()
        let checkpoint = TestEnvironment.fixtures.appendingPathComponent(e.fixture).path
        let gguf = folder.file("model.gguf").path
        let converted = try run(kiln, ["convert", checkpoint, "-o", gguf, "-q"])
        #expect(converted.status == 0, "\(converted.stderr)")
        var reports: [JSONValue] = []
        for source in [checkpoint, gguf] {
            let (status, r) = try check(source)
            let findings = !e.unknown.isEmpty || e.doubleBOS
            #expect(status == (findings ? 3 : 0), "\(source)")
            #expect(r["renders"] == .bool(true))
            #expect(r["supportsSystemRole"] == .bool(e.system), "\(source)")
            #expect(r["supportsReasoning"] == .bool(e.reasoning), "\(source)")
            #expect(r["supportsTools"] == .bool(false))
            #expect(strings(r["stopTokens"]) == e.stop, "\(source)")
            #expect(strings(r["unknownSpecialTokens"]) == e.unknown, "\(source)")
            #expect(r["doubleBOS"] == .bool(e.doubleBOS), "\(source)")
            #expect((r["promptTemplate"] != nil) == e.promptTemplate, "\(source)")
            if e.promptTemplate {
                for role in ["user", "assistant", "prompt"] {
                    #expect(r["promptTemplate"]?[role]?.stringValue?.contains("{Content}") == true)
                }
            } else {
                #expect(r["promptTemplateProblem"]?.stringValue != nil)
            }
            reports.append(r)
        }
        #expect(reports[0] == reports[1], "the folder and its GGUF agree")
    }

    @Test("SmolLM2: checkpoint and GGUF", .tags(.slow), .fullTier)
    func smolLM2() throws {
        let folder = TemporaryFolder()
        let checkpoint = try TestEnvironment.smolLM2.path
        let gguf = folder.file("smol.gguf").path
        #expect(try run(kiln, ["convert", checkpoint, "-o", gguf, "--outtype", "q8_0", "-q"]).status == 0)
        for source in [checkpoint, gguf] {
            let (status, r) = try check(source)
            #expect(status == 0)
            #expect(r["supportsSystemRole"] == .bool(true) && r["supportsTools"] == .bool(false))
            #expect(strings(r["stopTokens"]) == ["<|im_end|>"])
            #expect(strings(r["unknownSpecialTokens"]).isEmpty && r["doubleBOS"] == .bool(false))
            let p = r["promptTemplate"]
            #expect(p?["system"] == .string("<|im_start|>system\n{Content}<|im_end|>\n"))
            #expect(p?["user"] == .string("<|im_start|>user\n{Content}<|im_end|>\n"))
            #expect(p?["assistant"] == .string("<|im_start|>assistant\n{Content}<|im_end|>\n"))
            #expect(p?["prompt"] == .string("<|im_start|>user\n{Content}<|im_end|>\n<|im_start|>assistant\n"))
        }

        // generate --message formats the conversation with the model's template.
        var r = try run(
            kiln,
            ["generate", gguf, "--message", "What is the capital of France? Answer in one sentence.", "--threads", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "The capital of France is Paris.\n")

        // chat: two turns through a pipe, the second answered after the first (cache kept across turns).
        let input =
            "What is the capital of France? Answer in one sentence.\nWhat is the capital of Germany? Answer in one sentence.\n"
        r = try run(
            kiln, ["chat", gguf, "--system", "You are a concise assistant.", "--max-tokens", "40", "--threads", "2"],
            input: Data(input.utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(r.stdout)")
        #expect(lines.first?.contains("Paris") == true)
        #expect(lines.last?.contains("Berlin") == true)

        // render prints exactly the prompt.
        let messages = folder.file("m.json")
        try Data(#"[{"role": "user", "content": "Hi {{ not a tag }} \"quoted\" \\ ünïcode 🙂"}]"#.utf8).write(
            to: messages)
        r = try run(kiln, ["template", "render", checkpoint, "--messages", messages.path, "--add-generation-prompt"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stdout
                == "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi {{ not a tag }} \"quoted\" \\ ünïcode 🙂<|im_end|>\n<|im_start|>assistant\n"
        )
    }

    @Test("broken, unknown-special-token and double-BOS templates are flagged")
    func flagged() throws {
        let folder = TemporaryFolder()
        let broken = folder.file("broken.jinja")
        try Data("{% for m in messages %}{{ m.content }\n{% endfor %}".utf8).write(to: broken)
        var (status, r) = try check(broken.path)
        #expect(status == 3 && r["renders"] == .bool(false))
        #expect(r["error"]?.stringValue?.hasPrefix(broken.path + ":1:") == true)

        // A ChatML template put on a tokenizer without ChatML tokens: they would be tokenized as text.
        let qwen = TestEnvironment.fixtures.appendingPathComponent("tiny-qwen2")
        let llama3 = folder.file("mismatched")
        try FileManager.default.copyItem(
            at: TestEnvironment.fixtures.appendingPathComponent("tiny-llama-sharded"), to: llama3)
        (status, r) = try check(llama3.path)
        #expect(status == 3 && strings(r["unknownSpecialTokens"]).contains("<|eot_id|>"))

        // A template that writes the BOS its tokenizer also adds.
        let doubled = folder.file("doubled")
        try FileManager.default.copyItem(at: qwen, to: doubled)
        let configURL = doubled.appendingPathComponent("tokenizer_config.json")
        var config = try JSONParser.parse(Data(contentsOf: configURL))
        let template = config["chat_template"]?.stringValue ?? ""
        config = config.setting("chat_template", to: .string("{{ bos_token }}" + template))
        try Data(config.dumps().utf8).write(to: configURL)
        (status, r) = try check(doubled.path)
        let bosAdded = try run(kiln, ["tokenize", doubled.path, "--text", "a", "--json"]).stdout
        if bosAdded.split(separator: ",").count > 1 {
            #expect(status == 3 && r["doubleBOS"] == .bool(true))
        } else {
            // This tokenizer adds no BOS, so the template's own BOS is the only one.
            #expect(r["doubleBOS"] == .bool(false))
        }
        // --strict-template refuses to convert a flagged checkpoint and writes nothing.
        let out = folder.file("out.gguf")
        let converted = try run(kiln, ["convert", llama3.path, "-o", out.path, "--strict-template", "-q"])
        #expect(converted.status == 3 && converted.stderr.contains("--strict-template"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
        #expect(try run(kiln, ["convert", llama3.path, "-o", out.path, "-q"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: out.path))
    }

    @Test("bad input: one clear error line, exit status not zero")
    func badInput() throws {
        let folder = TemporaryFolder()
        let messages = folder.file("m.json")
        try Data(#"[{"role": "user", "content": "hi"}]"#.utf8).write(to: messages)
        func render(_ template: String, _ messagesFile: String? = nil) throws -> CommandResult {
            let file = folder.file("t\(template.hashValue & 0xffff).jinja")
            try Data(template.utf8).write(to: file)
            return try run(kiln, ["template", "render", file.path, "--messages", messagesFile ?? messages.path])
        }
        func oneError(_ r: CommandResult, _ needle: String) {
            #expect(r.status == 1, "\(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("kiln: error: ") && r.stderr.contains(needle), "\(r.stderr)")
        }
        oneError(try render("{% if true %}x"), ":1:")
        oneError(try render("{{ messages | frobnicate }}"), "frobnicate")
        oneError(try render("{% if messages is frobnicated %}{% endif %}"), "frobnicated")
        oneError(try render("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}"), "recursion")
        oneError(
            try render(
                "{% for i in range(99999) %}{% for j in range(99999) %}{{ 'xxxxxxxx' * 1000 }}{% endfor %}{% endfor %}"),
            "longer than")
        let notJSON = folder.file("bad.json")
        try Data("[{\"role\": ".utf8).write(to: notJSON)
        oneError(try render("{{ 1 }}", notJSON.path), "not valid JSON")
        let noRole = folder.file("norole.json")
        try Data(#"[{"content": "x"}]"#.utf8).write(to: noRole)
        oneError(try render("{{ 1 }}", noRole.path), "role")
        let notList = folder.file("object.json")
        try Data(#"{"role": "user"}"#.utf8).write(to: notList)
        oneError(try render("{{ 1 }}", notList.path), "list")
    }
}
