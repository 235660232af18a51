import ArgumentParser
import ChatTemplates
import Conversion
import Foundation
import JSON
import Tokenization

struct TemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Render and check chat templates as transformers' apply_chat_template does.",
        subcommands: [Render.self, Check.self])

    struct Render: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the prompt a conversation renders to (exactly the prompt, nothing added).")

        @Argument(help: "A checkpoint folder, a GGUF file or a .jinja template.") var source: String
        @Option(help: "JSON file: a list of messages ({\"role\": …, \"content\": …}); - reads standard input.")
        var messages: String
        @Option(help: "JSON file: a list of tool (function) definitions.") var tools: String?
        @Option(help: "JSON file: a list of documents.") var documents: String?
        @Flag(help: "End with the assistant turn's opening (add_generation_prompt).") var addGenerationPrompt = false
        @Flag(help: "Leave the final message open for the model to continue (continue_final_message).")
        var continueFinalMessage = false
        @Option(
            name: .customLong("var"),
            help: "An extra template variable, NAME=JSON (e.g. enable_thinking=false); repeatable.")
        var variables: [TemplateVariable] = []
        @Option(help: "The date strftime_now sees, YYYY-MM-DD (default: now).") var date: TemplateDate?
        @Flag(help: "Print {\"prompt\": …, \"tokens\": [...]} instead of the prompt.") var json = false

        func validate() throws {
            if addGenerationPrompt && continueFinalMessage {
                throw ValidationError("--add-generation-prompt and --continue-final-message cannot be used together")
            }
        }

        func run() throws {
            try reportingErrors {
                let loaded = try ChatTemplateSource.load(source)
                var request = ChatRequest(messages: try readMessages(messages))
                request.tools = try tools.map { try readList($0, what: "tool definitions") }
                request.documents = try documents.map { try readList($0, what: "documents") }
                request.addGenerationPrompt = addGenerationPrompt
                request.continueFinalMessage = continueFinalMessage
                request.specialTokens = loaded.specialTokens
                request.variables = variables.map { ($0.name, $0.value) }
                var options = RenderOptions()
                if let date { options.now = date.date }
                let prompt = try loaded.template(hasTools: request.tools != nil).apply(request, options: options)
                if json {
                    let tokens = loaded.tokenizer?.encode(prompt, addSpecialTokens: true)
                    try JSONOutput.print(RenderedPrompt(prompt: prompt, tokens: tokens))
                } else {
                    FileHandle.standardOutput.write(Data(prompt.utf8))
                }
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render probe conversations and report what the template supports and what is wrong with it.",
            discussion:
                "Exit status: 0 no findings, 3 findings (does not render, unknown special tokens, double BOS, no end-of-turn token), 1 error."
        )

        @Argument(help: "A checkpoint folder, a GGUF file or a .jinja template.") var source: String
        @Flag(help: "Print the report as JSON.") var json = false

        func run() throws {
            var findings: [String] = []
            try reportingErrors {
                let loaded = try ChatTemplateSource.load(source)
                let report = loaded.check()
                findings = report.findings
                if json {
                    try JSONOutput.print(report)
                } else {
                    print(report.summary)
                }
            }
            if !findings.isEmpty { throw ExitCode(KilnExit.gateFailed) }
        }
    }
}

/// `kiln template render --json`'s output.
struct RenderedPrompt: Codable {
    var prompt: String
    /// The prompt's token ids as a runtime tokenizes it (BOS added where the tokenizer adds it); absent for a
    /// bare template file.
    var tokens: [Int]?
}

/// `NAME=JSON` for `--var`.
struct TemplateVariable: ExpressibleByArgument {
    var name: String
    var value: JSONValue

    init?(argument: String) {
        guard let eq = argument.firstIndex(of: "="), eq != argument.startIndex else { return nil }
        name = String(argument[..<eq])
        let text = String(argument[argument.index(after: eq)...])
        // A bare word that is not JSON is taken as a string, as a shell user would expect.
        value = (try? JSONParser.parse(Data(text.utf8))) ?? .string(text)
    }

    static var defaultValueDescription: String { "NAME=JSON" }
}

/// `YYYY-MM-DD` for `--date`: local midnight of that day.
struct TemplateDate: ExpressibleByArgument {
    var date: Date

    init?(argument: String) {
        let parts = argument.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, argument.count == 10 else { return nil }
        var components = DateComponents()
        components.year = parts[0]
        components.month = parts[1]
        components.day = parts[2]
        guard (1...12).contains(parts[1]), (1...31).contains(parts[2]),
            let date = Calendar(identifier: .gregorian).date(from: components)
        else { return nil }
        self.date = date
    }
}

/// Reads a JSON file (or standard input for `-`) that must hold a list.
func readList(_ path: String, what: String) throws -> [JSONValue] {
    let data: Data
    if path == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw ValidationErrorLine("\(path): cannot read the file")
        }
        data = contents
    }
    let value: JSONValue
    do {
        value = try JSONParser.parse(data)
    } catch {
        throw ValidationErrorLine("\(path): not valid JSON (\(error.reason) at byte \(error.offset))")
    }
    guard case .array(let list) = value else { throw ValidationErrorLine("\(path): expected a JSON list of \(what)") }
    return list
}

/// Reads a messages file: a list of objects, each with a string `role`.
func readMessages(_ path: String) throws -> [JSONValue] {
    let list = try readList(path, what: "message objects")
    for (i, message) in list.enumerated() {
        guard message.objectMembers != nil else {
            throw ValidationErrorLine("\(path): message \(i) is not a JSON object")
        }
        guard message["role"]?.stringValue != nil else {
            throw ValidationErrorLine("\(path): message \(i) has no \"role\" string")
        }
    }
    return list
}

extension ChatTemplateReport {
    /// The report as a few aligned lines for a terminal.
    var summary: String {
        func yesNo(_ b: Bool) -> String { b ? "yes" : "no" }
        func list(_ items: [String]) -> String { items.isEmpty ? "none" : items.joined(separator: " ") }
        var lines: [String] = []
        lines.append("renders:              \(renders ? "yes" : "no — \(error ?? "")")")
        lines.append("system role:          \(yesNo(supportsSystemRole))")
        lines.append("tools:                \(yesNo(supportsTools))")
        var calls = yesNo(supportsToolCalls)
        if let toolCallStart { calls += " (\(toolCallStart) … \(toolCallEnd ?? "?"))" }
        lines.append("tool calls:           \(calls)")
        var reasoning = yesNo(supportsReasoning)
        if let reasoningStart { reasoning += " (\(reasoningStart) … \(reasoningEnd ?? "?"))" }
        lines.append("reasoning:            \(reasoning)")
        lines.append("extra variables:      \(list(variables))")
        lines.append("stop tokens:          \(list(stopTokens))")
        lines.append("unknown special text: \(list(unknownSpecialTokens))")
        lines.append("double BOS:           \(yesNo(doubleBOS))")
        if let promptTemplate {
            let text = (try? JSONOutput.line(promptTemplate)) ?? "?"
            lines.append("promptTemplate:       \(text)")
        } else {
            lines.append("promptTemplate:       none — \(promptTemplateProblem ?? "")")
        }
        let problems = findings
        lines.append(
            problems.isEmpty
                ? "findings:             none" : "findings:\n" + problems.map { "  - " + $0 }.joined(separator: "\n"))
        return lines.joined(separator: "\n")
    }
}
