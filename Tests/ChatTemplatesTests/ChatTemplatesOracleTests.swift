import ChatTemplates
import Foundation
import JSON
import KilnTestSupport
import Testing

/// Kiln's chat-template engine against `transformers`' `apply_chat_template(..., tokenize=False)`.
///
/// `scripts/oracle/chat_templates.py` renders the corpus (`Resources/conversations.json`) with every template once,
/// in one Python process: llama.cpp's 70 real templates (`KILN_LLAMA_CPP`), the fixtures' checkpoints and SmolLM2's
/// (`KILN_SMOLLM2_DIR`). Kiln then renders the same (template, conversation) pairs with the same special tokens,
/// variables and frozen clock. An expected output must match byte for byte; an expected error must be an error.
/// All differences of a template are reported in one issue, so a run shows the whole picture.
///
/// The tools come from `scripts/test` through `TestEnvironment`; a missing one is a failure.
@Suite("Chat templates against transformers", .tags(.oracle), .fullTier)
struct ChatTemplatesOracleTests {
    static let repositoryRoot = TestEnvironment.repositoryRoot
    static let corpusURL =
        repositoryRoot
        .appendingPathComponent("Tests/ChatTemplatesTests/Resources/conversations.json")
    static let oracleScript = repositoryRoot.appendingPathComponent("scripts/oracle/chat_templates.py")

    /// llama-cpp-python 0.3.36 ships this many templates in `models/templates` (spec section 1).
    static let llamaTemplateCount = 70
    /// Special tokens of a bare `.jinja` file, as the oracle uses them.
    static let defaultSpecialTokens: [(name: String, value: String)] = [("bos_token", "<s>"), ("eos_token", "</s>")]
    /// The named special tokens transformers passes to a template, in its order.
    static let specialTokenNames = [
        "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
        "mask_token"
    ]

    @Test("Every template renders every conversation as transformers does")
    func matchesTransformers() throws {
        let started = ContinuousClock.now
        let python = try TestEnvironment.oraclePython
        let sources = try Self.templateSources()
        let conversations = try Conversation.corpus(at: Self.corpusURL)

        let results = FileManager.default.temporaryDirectory
            .appendingPathComponent("kiln-chat-oracle-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: results) }
        let oracleStarted = ContinuousClock.now
        let oracle = try run(
            python,
            [Self.oracleScript.path, "--corpus", Self.corpusURL.path, "--out", results.path] + sources.map(\.url.path),
            environment: ["HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"])
        let oracleTime = ContinuousClock.now - oracleStarted
        guard oracle.status == 0 else {
            Issue.record("chat_templates.py failed (exit \(oracle.status)):\n\(oracle.stderr.suffix(4000))")
            return
        }

        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .current
        let now = try #require(
            calendar.date(
                from: DateComponents(
                    year: 2025, month: 3, day: 7,
                    hour: 9, minute: 5, second: 3)))
        let options = RenderOptions(now: now, timeZone: .current)

        var compared = 0, differing = 0, failingTemplates = 0
        for source in sources {
            let expected: [Outcome]
            do {
                expected = try Self.readResults(results.appendingPathComponent(source.name + ".jsonl"))
            } catch {
                Issue.record("\(source.name): unreadable oracle results: \(error)")
                continue
            }
            guard expected.map(\.conversation) == conversations.map(\.id) else {
                Issue.record("\(source.name): the oracle's results do not list the corpus conversations in order")
                continue
            }
            var problems: [String] = []
            var compiled: [String: Result<ChatTemplate, ChatTemplateError>] = [:]
            for (conversation, outcome) in zip(conversations, expected) {
                compared += 1
                let rendered = source.render(conversation, options: options, cache: &compiled)
                if let problem = Self.difference(expected: outcome.result, actual: rendered) {
                    problems.append("  \(conversation.id): \(problem)")
                }
            }
            if !problems.isEmpty {
                differing += problems.count
                failingTemplates += 1
                Issue.record(
                    """
                    \(source.name): \(problems.count) of \(conversations.count) conversations differ from transformers
                    \(problems.joined(separator: "\n"))
                    """)
            }
        }
        #expect(compared == sources.count * conversations.count)
        print(
            """
            Chat templates against transformers: \(sources.count) templates × \(conversations.count) conversations = \
            \(compared) pairs compared, \(compared - differing) match, \(differing) differ in \(failingTemplates) \
            templates (oracle \(Self.seconds(oracleTime)), total \(Self.seconds(ContinuousClock.now - started))); \
            \(oracle.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            """)
    }

    // MARK: - Templates

    /// A template file or a checkpoint folder, loaded as the oracle loads it.
    struct TemplateSource {
        enum Templates {
            case single(String)
            case named([(name: String, template: String)])
        }

        let name: String
        let url: URL
        let templates: Templates
        let specialTokens: [(name: String, value: String)]

        /// Kiln's rendering of one conversation: the output, or the error it threw.
        /// `cache` keeps each compiled template (or its compile error) under its source text.
        func render(
            _ conversation: Conversation, options: RenderOptions,
            cache: inout [String: Result<ChatTemplate, ChatTemplateError>]
        )
            -> Result<String, ChatTemplateError>
        {
            let selected: (key: String, source: String)
            switch templates {
            case .single(let source):
                selected = ("", source)
            case .named(let named):
                guard let source = ChatTemplate.select(named: named, hasTools: conversation.tools != nil) else {
                    return .failure(ChatTemplateError(kind: .input, message: "no default template", origin: name))
                }
                selected = (source, source)
            }
            let template: Result<ChatTemplate, ChatTemplateError>
            if let cached = cache[selected.key] {
                template = cached
            } else {
                template = Result { () throws(ChatTemplateError) in try ChatTemplate(selected.source, origin: name) }
                cache[selected.key] = template
            }
            var request = ChatRequest(messages: conversation.messages)
            request.tools = conversation.tools
            request.documents = conversation.documents
            request.addGenerationPrompt = conversation.addGenerationPrompt
            request.continueFinalMessage = conversation.continueFinalMessage
            request.specialTokens = specialTokens
            request.variables = conversation.kwargs
            return template.flatMap { template in
                Result { () throws(ChatTemplateError) in try template.apply(request, options: options) }
            }
        }
    }

    /// llama.cpp's templates, the fixtures' checkpoints with a chat template, and SmolLM2's checkpoint.
    static func templateSources() throws -> [TemplateSource] {
        var sources: [TemplateSource] = []
        let fm = FileManager.default
        do {
            let folder = try TestEnvironment.llamaCpp.appendingPathComponent("models/templates")
            let files = jinjaFiles(in: folder)
            #expect(
                files.count >= llamaTemplateCount,
                "\(folder.path) holds \(files.count) templates, expected \(llamaTemplateCount)")
            for file in files {
                let url = folder.appendingPathComponent(file)
                sources.append(
                    TemplateSource(
                        name: String(file.dropLast(".jinja".count)), url: url,
                        templates: .single(try String(contentsOf: url, encoding: .utf8)),
                        specialTokens: defaultSpecialTokens))
            }
        }
        let fixtures = repositoryRoot.appendingPathComponent("fixtures")
        for name in try fm.contentsOfDirectory(atPath: fixtures.path).sorted() {
            if let source = try checkpoint(fixtures.appendingPathComponent(name)) { sources.append(source) }
        }
        let smol = try TestEnvironment.smolLM2
        if let source = try checkpoint(smol) {
            sources.append(source)
        } else {
            Issue.record("\(smol.path) has no chat template")
        }
        return sources
    }

    /// A checkpoint folder's chat template(s) and named special tokens, or nil when it has no template.
    /// `chat_template.jinja` and `additional_chat_templates/*.jinja` win over tokenizer_config.json's
    /// `chat_template` (a string or a list of `{name, template}`), as in transformers' tokenizer loading, which
    /// reads those files with universal newlines; a processor's legacy `chat_template.json` comes last.
    static func checkpoint(_ folder: URL) throws -> TemplateSource? {
        let fm = FileManager.default
        let configURL = folder.appendingPathComponent("tokenizer_config.json")
        guard fm.fileExists(atPath: configURL.path) else { return nil }
        let config = try JSONParser.parse(Data(contentsOf: configURL))
        var specialTokens: [(name: String, value: String)] = []
        for name in specialTokenNames {
            switch config[name] {
            case .some(.string(let text)): specialTokens.append((name, text))
            case .some(let value): if let text = value["content"]?.stringValue { specialTokens.append((name, text)) }
            case .none: break
            }
        }

        func universalNewlines(_ url: URL) throws -> String {
            try String(contentsOf: url, encoding: .utf8)
                .replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        }
        var files: [(name: String, template: String)] = []
        let jinja = folder.appendingPathComponent("chat_template.jinja")
        if fm.fileExists(atPath: jinja.path) { files.append(("default", try universalNewlines(jinja))) }
        let extra = folder.appendingPathComponent("additional_chat_templates")
        for file in jinjaFiles(in: extra) {
            let text = try universalNewlines(extra.appendingPathComponent(file))
            files.append((String(file.dropLast(".jinja".count)), text))
        }

        let templates: TemplateSource.Templates
        if files.count == 1 && files[0].name == "default" {
            templates = .single(files[0].template)
        } else if !files.isEmpty {
            templates = .named(files)
        } else if case .string(let text) = config["chat_template"] {
            templates = .single(text)
        } else if case .array(let entries) = config["chat_template"] {
            templates = .named(
                entries.compactMap { entry in
                    guard let name = entry["name"]?.stringValue, let text = entry["template"]?.stringValue else {
                        return nil
                    }
                    return (name, text)
                })
        } else if let legacy = try? Data(contentsOf: folder.appendingPathComponent("chat_template.json")),
            let text = (try? JSONParser.parse(legacy))?["chat_template"]?.stringValue
        {
            templates = .single(text)
        } else {
            return nil
        }
        return TemplateSource(
            name: folder.lastPathComponent, url: folder, templates: templates,
            specialTokens: specialTokens)
    }

    // MARK: - Corpus and results

    /// One entry of the corpus (spec section 6).
    struct Conversation {
        let id: String
        let messages: [JSONValue]
        let tools: [JSONValue]?
        let documents: [JSONValue]?
        let addGenerationPrompt: Bool
        let continueFinalMessage: Bool
        let kwargs: [(name: String, value: JSONValue)]

        /// Read with `JSONParser`, which keeps key order and ints apart from floats, as Python's `json` does.
        static func corpus(at url: URL) throws -> [Conversation] {
            let root = try JSONParser.parse(Data(contentsOf: url))
            let entries = try #require(root["conversations"]?.arrayValue, "\(url.path): no `conversations` list")
            return try entries.map { entry in
                let id = try #require(entry["id"]?.stringValue, "a conversation without an id")
                return Conversation(
                    id: id,
                    messages: try #require(entry["messages"]?.arrayValue, "\(id): no messages"),
                    tools: entry["tools"]?.arrayValue,
                    documents: entry["documents"]?.arrayValue,
                    addGenerationPrompt: entry["add_generation_prompt"]?.boolValue ?? false,
                    continueFinalMessage: entry["continue_final_message"]?.boolValue ?? false,
                    kwargs: (entry["kwargs"]?.objectMembers ?? []).map { (name: $0.key, value: $0.value) })
            }
        }
    }

    /// One line of an oracle results file: the rendered text, or the error transformers raised.
    struct Outcome {
        let conversation: String
        let result: Result<String, OracleError>
    }

    struct OracleError: Error { let description: String }

    /// Lines are split on `\n` bytes only: outputs hold raw U+2028 and other separators inside JSON strings.
    static func readResults(_ url: URL) throws -> [Outcome] {
        let data = try Data(contentsOf: url)
        return try data.split(separator: UInt8(ascii: "\n")).map { line in
            let record = try JSONParser.parse(Data(line))
            let file = url.lastPathComponent
            let id = try #require(record["conversation"]?.stringValue, "\(file): a line without a conversation")
            if let output = record["output"]?.stringValue { return Outcome(conversation: id, result: .success(output)) }
            let error = try #require(record["error"]?.stringValue, "\(file): \(id) has neither output nor error")
            return Outcome(conversation: id, result: .failure(OracleError(description: error)))
        }
    }

    // MARK: - Comparison

    /// nil when Kiln agrees with transformers, else one line saying how it differs.
    static func difference(
        expected: Result<String, OracleError>, actual: Result<String, ChatTemplateError>
    )
        -> String?
    {
        switch (expected, actual) {
        case (.failure, .failure):
            return nil
        case (.failure(let error), .success(let output)):
            return "expected error `\(clip(error.description, 160))`, got output (\(output.utf8.count) bytes) "
                + "\"\(escaped(clip(output, 60)))\""
        case (.success(let output), .failure(let error)):
            return "unexpected error `\(clip(error.description, 200))` (expected \(output.utf8.count) bytes "
                + "\"\(escaped(clip(output, 60)))\")"
        case (.success(let want), .success(let got)):
            let a = Array(want.utf8), b = Array(got.utf8)
            guard a != b else { return nil }
            let offset = zip(a, b).prefix { $0 == $1 }.count
            return "first difference at byte \(offset) (expected \(a.count) bytes, got \(b.count)): "
                + "expected \"\(context(a, offset))\", got \"\(context(b, offset))\""
        }
    }

    /// About 60 characters around `offset`: 20 before it and 40 from it, cut at scalar boundaries.
    static func context(_ bytes: [UInt8], _ offset: Int) -> String {
        func scalarStart(_ i: Int) -> Int {
            var i = min(max(i, 0), bytes.count)
            while i > 0 && i < bytes.count && bytes[i] & 0xC0 == 0x80 { i -= 1 }
            return i
        }
        let start = scalarStart(offset)
        let before = String(decoding: bytes[scalarStart(start - 80)..<start], as: UTF8.self).unicodeScalars.suffix(20)
        let after = String(decoding: bytes[start..<scalarStart(start + 160)], as: UTF8.self).unicodeScalars.prefix(40)
        return escaped(String(String.UnicodeScalarView(before))) + "⟪here⟫"
            + escaped(String(String.UnicodeScalarView(after)))
    }

    static func clip(_ text: String, _ limit: Int) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > limit else { return text }
        return String(String.UnicodeScalarView(scalars.prefix(limit))) + "…"
    }

    /// Control characters, separators and quotes made visible, so the message stays on one line.
    static func escaped(_ text: String) -> String {
        let named: [Unicode.Scalar: String] = ["\n": "\\n", "\r": "\\r", "\t": "\\t", "\"": "\\\"", "\\": "\\\\"]
        var out = ""
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if let name = named[scalar] {
                out += name
            } else if v < 0x20 || (0x7F...0xA0).contains(v) || v == 0x2028 || v == 0x2029 || v == 0xFEFF {
                out += "\\u{\(String(v, radix: 16, uppercase: true))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    // MARK: - Environment and processes

    static func seconds(_ duration: Duration) -> String {
        let (whole, attoseconds) = duration.components
        return String(format: "%.1f s", Double(whole) + Double(attoseconds) * 1e-18)
    }

    /// The `.jinja` files of a folder, sorted by name (none when the folder does not exist).
    static func jinjaFiles(in folder: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".jinja") }.sorted()
    }
}
