import Foundation
import JSON

/// What `kiln template check` and the conversion-time check find out about a chat template by rendering a
/// fixed set of probe conversations: whether it renders at all, which roles and features it supports, the
/// tokens it ends a turn with, special-token strings the vocabulary does not have, a doubled BOS, and the
/// Foundry-style `promptTemplate` (per-role strings with a `{Content}` placeholder) when the template's output
/// is a plain concatenation of per-message segments.
public struct ChatTemplateReport: Codable, Sendable, Equatable {
    /// The template renders a one-message conversation with a generation prompt.
    public var renders: Bool
    /// The error of that render (`origin:line:column: message`), when it failed.
    public var error: String?
    /// A system message's text reaches the prompt.
    public var supportsSystemRole: Bool
    /// Tool definitions reach the prompt.
    public var supportsTools: Bool
    /// Assistant tool calls render (the call's function name reaches the prompt).
    public var supportsToolCalls: Bool
    /// The text before and after a rendered tool call (`<tool_call>` … `</tool_call>`), when it has markers.
    public var toolCallStart: String?
    public var toolCallEnd: String?
    /// The template has a reasoning mode: it reads `enable_thinking`/`reasoning_content`/`thinking`, or
    /// renders reasoning text between markers.
    public var supportsReasoning: Bool
    public var reasoningStart: String?
    public var reasoningEnd: String?
    /// Extra variables the template reads besides the standard ones (`enable_thinking`, `reasoning_effort`…).
    public var variables: [String]
    /// The special-token strings that end an assistant turn in the rendered prompt (the runtime's stop strings),
    /// followed by the EOS token when the template emits it.
    public var stopTokens: [String]
    /// Special-token-looking strings the template emits that the vocabulary does not hold as single tokens
    /// (they would be tokenized as plain text).
    public var unknownSpecialTokens: [String]
    /// The template writes the BOS token itself while the tokenizer also adds one (two BOS at run time).
    public var doubleBOS: Bool
    /// The Foundry-style prompt template, or nil with `promptTemplateProblem` saying why it cannot be derived.
    public var promptTemplate: PromptTemplate?
    public var promptTemplateProblem: String?

    /// Foundry Local's `promptTemplate`: each string holds `{Content}` where the message text goes.
    public struct PromptTemplate: Codable, Sendable, Equatable {
        public var system: String?
        public var user: String
        public var assistant: String
        /// A user turn followed by the generation prompt.
        public var prompt: String
    }

    /// Problems worth a warning at conversion time (empty when the template is sound).
    public var findings: [String] {
        var list: [String] = []
        if !renders { list.append("does not render: \(error ?? "unknown error")") }
        if !unknownSpecialTokens.isEmpty {
            list.append(
                "emits special-token text the vocabulary lacks as single tokens: "
                    + unknownSpecialTokens.joined(separator: ", "))
        }
        if doubleBOS { list.append("writes the BOS token while the tokenizer also adds one (double BOS)") }
        if renders && stopTokens.isEmpty { list.append("no end-of-turn token found after an assistant message") }
        return list
    }
}

/// What the check needs to know about the model besides the template.
public struct ChatTemplateVocabulary: Sendable {
    /// `bos_token`, `eos_token`, … as the template receives them.
    public var specialTokens: [(name: String, value: String)]
    /// How many tokens a string encodes to without added BOS/EOS; nil when no tokenizer is available.
    public var tokenCount: (@Sendable (String) -> Int)?
    /// Whether encoding a prompt adds a BOS token.
    public var addsBOS: Bool

    public init(specialTokens: [(name: String, value: String)], tokenCount: (@Sendable (String) -> Int)?, addsBOS: Bool)
    {
        self.specialTokens = specialTokens
        self.tokenCount = tokenCount
        self.addsBOS = addsBOS
    }

    func token(_ name: String) -> String? { specialTokens.first { $0.name == name }?.value }
}

extension ChatTemplate {
    /// Renders the probe conversations and reports what they show (see ``ChatTemplateReport``).
    public func check(
        vocabulary: ChatTemplateVocabulary, options: RenderOptions = RenderOptions()
    ) -> ChatTemplateReport {
        ChatTemplateProbe(template: self, vocabulary: vocabulary, options: options).run()
    }
}

/// The probe conversations and their analysis. Sentinel words are plain ASCII that no template contains, so
/// any special-token text around them comes from the template.
private struct ChatTemplateProbe {
    let template: ChatTemplate
    let vocabulary: ChatTemplateVocabulary
    let options: RenderOptions

    static let systemText = "KilnProbeSystem", userText = "KilnProbeUser", userText2 = "KilnProbeFollowUp"
    static let assistantText = "KilnProbeAnswer", reasoningText = "KilnProbeReasoning", toolName = "kiln_probe_tool"

    static let standardVariables: Set<String> = [
        "messages", "tools", "documents", "add_generation_prompt", "bos_token", "eos_token", "unk_token", "sep_token",
        "pad_token", "cls_token", "mask_token", "raise_exception", "strftime_now", "namespace", "range", "dict",
        "cycler", "joiner", "lipsum", "loop", "true", "false", "none", "True", "False", "None"
    ]

    static func message(_ role: String, _ content: String) -> JSONValue {
        .object([("role", .string(role)), ("content", .string(content))])
    }

    static let tool: JSONValue = .object([
        ("type", .string("function")),
        (
            "function",
            .object([
                ("name", .string(toolName)),
                ("description", .string("A probe tool.")),
                (
                    "parameters",
                    .object([
                        ("type", .string("object")),
                        ("properties", .object([("city", .object([("type", .string("string"))]))])),
                        ("required", .array([.string("city")]))
                    ])
                )
            ])
        )
    ])

    func render(
        _ messages: [JSONValue], generationPrompt: Bool = false, tools: [JSONValue]? = nil,
        specialTokens: [(name: String, value: String)]? = nil
    ) -> Result<String, ChatTemplateError> {
        var request = ChatRequest(messages: messages)
        request.addGenerationPrompt = generationPrompt
        request.tools = tools
        request.specialTokens = specialTokens ?? vocabulary.specialTokens
        do { return .success(try template.apply(request, options: options)) } catch { return .failure(error) }
    }

    func output(_ messages: [JSONValue], generationPrompt: Bool = false, tools: [JSONValue]? = nil) -> String? {
        try? render(messages, generationPrompt: generationPrompt, tools: tools).get()
    }

    func run() -> ChatTemplateReport {
        let user = Self.message("user", Self.userText)
        let basic = render([user], generationPrompt: true)
        var report = ChatTemplateReport(
            renders: false, error: nil, supportsSystemRole: false, supportsTools: false, supportsToolCalls: false,
            supportsReasoning: false, variables: [], stopTokens: [], unknownSpecialTokens: [], doubleBOS: false)
        report.variables = template.referencedVariables.subtracting(Self.standardVariables).sorted()
        switch basic {
        case .failure(let error):
            report.error = error.description
            report.promptTemplateProblem = "the template does not render"
            return report
        case .success:
            report.renders = true
        }
        var outputs: [String] = []
        if case .success(let text) = basic { outputs.append(text) }

        // System role.
        if let text = output([Self.message("system", Self.systemText), user], generationPrompt: true) {
            outputs.append(text)
            report.supportsSystemRole = text.contains(Self.systemText)
        }
        // Tools.
        if let text = output([user], generationPrompt: true, tools: [Self.tool]) {
            outputs.append(text)
            report.supportsTools = text.contains(Self.toolName)
        }
        // Tool calls.
        let call: JSONValue = .object([
            ("role", .string("assistant")),
            ("content", .string("")),
            (
                "tool_calls",
                .array([
                    .object([
                        ("id", .string("call0probe")),
                        ("type", .string("function")),
                        (
                            "function",
                            .object([
                                ("name", .string(Self.toolName)), ("arguments", .object([("city", .string("Paris"))]))
                            ])
                        )
                    ])
                ])
            )
        ])
        if let text = output([user, call], tools: [Self.tool]),
            let range = lastRange(of: Self.toolName, in: text, after: Self.userText)
        {
            outputs.append(text)
            report.supportsToolCalls = true
            let before = String(text[text.range(of: Self.userText)!.upperBound..<range.lowerBound])
            let after = String(text[range.upperBound...])
            report.toolCallStart = specialTokens(in: before).last.map(\.text)
            if let start = report.toolCallStart {
                let closing = start.hasPrefix("<") && !start.hasPrefix("</") ? "</" + start.dropFirst() : nil
                let tokensAfter = specialTokens(in: after).map(\.text)
                report.toolCallEnd = closing.flatMap { c in tokensAfter.first { $0 == c } } ?? tokensAfter.first
            }
        }
        // Reasoning.
        let thinking: JSONValue = .object([
            ("role", .string("assistant")), ("content", .string(Self.assistantText)),
            ("reasoning_content", .string(Self.reasoningText))
        ])
        let reasoningVariables: Set<String> = ["enable_thinking", "reasoning_effort", "thinking"]
        var reasoningRendered = false
        if let text = output([user, thinking]), let range = text.range(of: Self.reasoningText) {
            outputs.append(text)
            reasoningRendered = true
            let before = text[..<range.lowerBound], after = text[range.upperBound...]
            report.reasoningStart = specialTokens(in: String(before)).last.map(\.text)
            report.reasoningEnd = specialTokens(in: String(after)).first.map(\.text)
        }
        report.supportsReasoning =
            reasoningRendered || !reasoningVariables.isDisjoint(with: template.referencedVariables)
            || template.source.contains("reasoning_content")
        if report.supportsReasoning, report.reasoningStart == nil, template.source.contains("<think>") {
            report.reasoningStart = "<think>"
            report.reasoningEnd = template.source.contains("</think>") ? "</think>" : nil
        }

        // End of turn: the first special token after an assistant message's text.
        let turn = [user, Self.message("assistant", Self.assistantText)]
        if let text = output(turn), let range = text.range(of: Self.assistantText, options: .backwards) {
            outputs.append(text)
            let tail = String(text[range.upperBound...])
            if let first = specialTokens(in: tail).first { report.stopTokens.append(first.text) }
            if let eos = vocabulary.token("eos_token"), !eos.isEmpty, tail.contains(eos),
                !report.stopTokens.contains(eos)
            {
                report.stopTokens.append(eos)
            }
        }

        // Special-token strings the vocabulary lacks.
        // `[INST]`-style markers are control tokens in some vocabularies (Mistral v3) and plain text the model
        // was trained on in others (Mistral v1): they count only when the vocabulary holds one of them whole.
        if let count = vocabulary.tokenCount {
            var seen = Set<String>()
            var angled: [String] = [], bracketed: [String] = [], bracketVocabulary = false
            for text in outputs {
                for token in specialTokens(in: text) where seen.insert(token.text).inserted {
                    let single = count(token.text) == 1
                    if token.text.hasPrefix("[") {
                        bracketVocabulary = bracketVocabulary || single
                        if !single { bracketed.append(token.text) }
                    } else if !single {
                        angled.append(token.text)
                    }
                }
            }
            report.unknownSpecialTokens = angled + (bracketVocabulary ? bracketed : [])
        }

        // Double BOS.
        if let bos = vocabulary.token("bos_token"), !bos.isEmpty, vocabulary.addsBOS,
            case .success(let text) = basic, text.hasPrefix(bos)
        {
            report.doubleBOS = true
        }

        derivePromptTemplate(into: &report)
        return report
    }

    /// Derives the per-role segments by rendering growing conversations and taking the differences, then
    /// checks that the segments rebuild a longer conversation exactly.
    func derivePromptTemplate(into report: inout ChatTemplateReport) {
        let u = Self.message("user", Self.userText), a = Self.message("assistant", Self.assistantText)
        let u2 = Self.message("user", Self.userText2)
        guard let rU = output([u]), let rUA = output([u, a]), let rUAU = output([u, a, u2]),
            let rUGen = output([u], generationPrompt: true)
        else {
            report.promptTemplateProblem = "a user/assistant/user conversation does not render"
            return
        }
        guard rUA.hasPrefix(rU), rUAU.hasPrefix(rUA), rUGen.hasPrefix(rU) else {
            report.promptTemplateProblem =
                "the prompt of a conversation is not a prefix of the prompt of its continuation"
            return
        }
        let assistantSegment = String(rUA.dropFirst(rU.count))
        let userSegment = String(rUAU.dropFirst(rUA.count))
        let generation = String(rUGen.dropFirst(rU.count))
        guard occurrences(Self.assistantText, in: assistantSegment) == 1,
            occurrences(Self.userText2, in: userSegment) == 1
        else {
            report.promptTemplateProblem = "a message's text does not appear exactly once in its segment"
            return
        }
        let user = userSegment.replacingOccurrences(of: Self.userText2, with: "{Content}")
        let assistant = assistantSegment.replacingOccurrences(of: Self.assistantText, with: "{Content}")
        // The first user turn must be the user segment (after a preamble such as BOS or a default system prompt).
        let firstUser = user.replacingOccurrences(of: "{Content}", with: Self.userText)
        guard rU.hasSuffix(firstUser) else {
            report.promptTemplateProblem = "the first user turn renders differently from later ones"
            return
        }
        let preamble = String(rU.dropLast(firstUser.count))
        var system: String?
        if let rS = output([Self.message("system", Self.systemText), u]), rS.hasSuffix(firstUser),
            rS.contains(Self.systemText)
        {
            var segment = String(rS.dropLast(firstUser.count))
            // A BOS the template writes itself belongs to the preamble, not to the system turn. Whether the
            // template writes `bos_token` is asked with a sentinel: a BOS string can also be a turn marker
            // (SmolLM2's is `<|im_start|>`).
            if let bos = vocabulary.token("bos_token"), !bos.isEmpty, preamble.hasPrefix(bos), segment.hasPrefix(bos),
                writesBOS()
            {
                segment.removeFirst(bos.count)
            }
            if occurrences(Self.systemText, in: segment) == 1 {
                system = segment.replacingOccurrences(of: Self.systemText, with: "{Content}")
            }
        }
        // Check: preamble + user + assistant + user rebuilds the three-message prompt.
        let rebuilt =
            preamble + firstUser + assistant.replacingOccurrences(of: "{Content}", with: Self.assistantText)
            + user.replacingOccurrences(of: "{Content}", with: Self.userText2)
        guard rebuilt == rUAU else {
            report.promptTemplateProblem = "the segments do not rebuild a three-message conversation"
            return
        }
        report.promptTemplate = ChatTemplateReport.PromptTemplate(
            system: system, user: user, assistant: assistant, prompt: user + generation)
    }

    /// Whether the template starts its output with `bos_token` (rendered with a sentinel in its place).
    func writesBOS() -> Bool {
        let sentinel = "KilnProbeBOS"
        var tokens = vocabulary.specialTokens.filter { $0.name != "bos_token" }
        tokens.append((name: "bos_token", value: sentinel))
        let text = try? render([Self.message("user", Self.userText)], specialTokens: tokens).get()
        return text?.hasPrefix(sentinel) ?? false
    }

    func occurrences(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    func lastRange(of needle: String, in text: String, after marker: String) -> Range<String.Index>? {
        guard let m = text.range(of: marker), let r = text.range(of: needle, options: .backwards),
            r.lowerBound >= m.upperBound
        else { return nil }
        return r
    }
}

/// A special-token-looking string in rendered text.
struct SpecialTokenMatch {
    var text: String
}

/// Strings that look like special tokens: `<|…|>`, DeepSeek's `<｜…｜>`, tag-like `<name>`/`</name>` and
/// bracketed upper-case markers such as `[INST]`, plus the tokenizer's own BOS/EOS strings.
func specialTokens(in text: String) -> [SpecialTokenMatch] {
    let scalars = Array(text.unicodeScalars)
    var found: [SpecialTokenMatch] = []
    var i = 0
    func isNameScalar(_ c: Unicode.Scalar) -> Bool {
        c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" || c == "-" || c == "." || c == ":" || c == "▁"
    }
    while i < scalars.count {
        let c = scalars[i]
        var end: Int? = nil
        if c == "<", i + 1 < scalars.count {
            let next = scalars[i + 1]
            if next == "|" || next == "｜" {
                var j = i + 2
                while j < scalars.count, j - i < 64, scalars[j] != next, scalars[j] != "\n", scalars[j] != "<" {
                    j += 1
                }
                if j + 1 < scalars.count, scalars[j] == next, scalars[j + 1] == ">", j > i + 2 { end = j + 2 }
            } else {
                var j = i + 1
                if j < scalars.count, scalars[j] == "/" { j += 1 }
                let nameStart = j
                while j < scalars.count, j - i < 48, isNameScalar(scalars[j]) { j += 1 }
                if j > nameStart, j < scalars.count, scalars[j] == ">",
                    scalars[nameStart].properties.isAlphabetic || scalars[nameStart] == "_"
                {
                    end = j + 1
                }
            }
        } else if c == "[", i + 1 < scalars.count {
            var j = i + 1
            if scalars[j] == "/" { j += 1 }
            let nameStart = j
            while j < scalars.count, j - i < 32, ("A"..."Z").contains(scalars[j]) || scalars[j] == "_" { j += 1 }
            if j - nameStart >= 3, j < scalars.count, scalars[j] == "]" { end = j + 1 }
        }
        if let end {
            var s = String.UnicodeScalarView()
            s.append(contentsOf: scalars[i..<end])
            found.append(SpecialTokenMatch(text: String(s)))
            i = end
        } else {
            i += 1
        }
    }
    return found
}

extension ChatTemplateReport {
    /// The report of a template that does not even parse.
    public init(failedWith error: ChatTemplateError) {
        self.init(
            renders: false, error: error.description, supportsSystemRole: false, supportsTools: false,
            supportsToolCalls: false, supportsReasoning: false, variables: [], stopTokens: [],
            unknownSpecialTokens: [], doubleBOS: false, promptTemplateProblem: "the template does not parse")
    }
}
