import JSON

/// One `apply_chat_template(..., tokenize=False)` call: the conversation and everything else passed with it.
public struct ChatRequest: Sendable {
    public var messages: [JSONValue]
    /// `nil` makes `tools` none (not undefined), as in transformers.
    public var tools: [JSONValue]?
    public var documents: [JSONValue]?
    public var addGenerationPrompt: Bool
    /// Prefill: render the final message open-ended so that generation continues it.
    public var continueFinalMessage: Bool
    /// The tokenizer's named special tokens (`bos_token`, `eos_token`, ...), in this order.
    public var specialTokens: [(name: String, value: String)]
    /// Extra template variables (`enable_thinking`, `reasoning_effort`...); they override special tokens.
    public var variables: [(name: String, value: JSONValue)]

    public init(
        messages: [JSONValue], tools: [JSONValue]? = nil, documents: [JSONValue]? = nil,
        addGenerationPrompt: Bool = false, continueFinalMessage: Bool = false,
        specialTokens: [(name: String, value: String)] = [], variables: [(name: String, value: JSONValue)] = []
    ) {
        self.messages = messages
        self.tools = tools
        self.documents = documents
        self.addGenerationPrompt = addGenerationPrompt
        self.continueFinalMessage = continueFinalMessage
        self.specialTokens = specialTokens
        self.variables = variables
    }
}

extension ChatTemplate {
    /// The marker transformers appends to the final message for `continue_final_message`.
    static let continueMarker = "CONTINUE_FINAL_MESSAGE_TAG"

    /// What `tokenizer.apply_chat_template(..., tokenize=False)` returns (spec §2): null message keys dropped,
    /// reasoning fields aliased, special tokens then extra variables, `continue_final_message` prefill.
    ///
    /// - Throws: `.input` for an empty conversation or a misused `continueFinalMessage`; any render error.
    public func apply(
        _ request: ChatRequest, options: RenderOptions = RenderOptions()
    ) throws(ChatTemplateError) -> String {
        func inputError(_ message: String) -> ChatTemplateError {
            ChatTemplateError(kind: .input, message: message, origin: origin)
        }
        guard !request.messages.isEmpty else { throw inputError("the conversation is empty") }
        if request.continueFinalMessage && request.addGenerationPrompt {
            throw inputError("continue_final_message and add_generation_prompt are not compatible")
        }
        var messages = request.messages.map(ChatTemplate.preprocess)
        var finalText: String?
        if request.continueFinalMessage {
            let field = "content"
            guard source.contains(field) else {
                throw inputError("continue_final_message needs the template to read the final message's '\(field)'")
            }
            guard let appended = ChatTemplate.appendMarker(to: messages[messages.count - 1], field: field) else {
                throw inputError("continue_final_message is set but the final message has no '\(field)' text")
            }
            messages[messages.count - 1] = appended.message
            finalText = appended.text
        }
        var values: [(name: String, value: Value)] = [
            ("messages", .list(ListBox(messages.map(Value.init)))),
            ("tools", request.tools.map { .list(ListBox($0.map(Value.init))) } ?? .none),
            ("documents", request.documents.map { .list(ListBox($0.map(Value.init))) } ?? .none),
            ("add_generation_prompt", .bool(request.addGenerationPrompt))
        ]
        for token in request.specialTokens { values.append((token.name, .string(token.value))) }
        for variable in request.variables { values.append((variable.name, Value(variable.value))) }
        let rendered = try render(values: values, options: options)
        guard let finalText else { return rendered }
        return try ChatTemplate.cutAtMarker(rendered, finalText: finalText, error: inputError)
    }

    /// Drops null top-level keys and aliases `reasoning_content`/`thinking`/`reasoning` as transformers does.
    static func preprocess(_ message: JSONValue) -> JSONValue {
        guard case .object(let raw) = message else { return message }
        let untouched = raw.allSatisfy { member in
            if case .null = member.value { return false }
            return member.key != "reasoning_content" && member.key != "thinking" && member.key != "reasoning"
        }
        if untouched { return message }
        var members = raw.filter { if case .null = $0.value { false } else { true } }
        let reasoningKeys = ["reasoning_content", "thinking", "reasoning"]
        guard
            let reasoning = reasoningKeys.lazy.compactMap({ key in members.last(where: { $0.key == key })?.value })
                .first
        else {
            return .object(members)
        }
        if !members.contains(where: { $0.key == "thinking" }) {
            members.insert((key: "thinking", value: reasoning), at: 0)
        }
        if let i = members.firstIndex(where: { $0.key == "reasoning_content" }) {
            members[i].value = reasoning
            for j in members.indices.reversed() where j != i && members[j].key == "reasoning_content" {
                members.remove(at: j)
            }
        } else {
            members.append((key: "reasoning_content", value: reasoning))
        }
        return .object(members)
    }

    /// The final message with the prefill marker appended to `field` (or, for list content, to the last part
    /// with `text`), and the text it was appended to.
    static func appendMarker(to message: JSONValue, field: String) -> (message: JSONValue, text: String)? {
        guard case .object(var members) = message, let i = members.lastIndex(where: { $0.key == field }) else {
            return nil
        }
        let marker = continueMarker + " "
        switch members[i].value {
        case .string(let text):
            members[i].value = .string(text + marker)
            return (.object(members), text)
        case .array(var parts):
            for p in parts.indices.reversed() {
                guard case .object(var partMembers) = parts[p],
                    let t = partMembers.lastIndex(where: { $0.key == "text" }),
                    case .string(let text) = partMembers[t].value
                else { continue }
                partMembers[t].value = .string(text + marker)
                parts[p] = .object(partMembers)
                members[i].value = .array(parts)
                return (.object(members), text)
            }
            return nil
        default:
            return nil
        }
    }

    static func cutAtMarker(
        _ rendered: String, finalText: String, error: (String) -> ChatTemplateError
    ) throws(ChatTemplateError) -> String {
        let scalars = Array(rendered.unicodeScalars)
        let marker = Array(continueMarker.unicodeScalars)
        var found: Int?
        if scalars.count >= marker.count {
            for i in stride(from: scalars.count - marker.count, through: 0, by: -1)
            where scalars[i..<(i + marker.count)].elementsEqual(marker) {
                found = i
                break
            }
        }
        guard let index = found else {
            throw error(
                "continue_final_message is set but the final message does not appear in the chat after applying the chat template"
            )
        }
        var kept = PythonText.string(scalars[..<index])
        let markerWithSpace = index + marker.count < scalars.count && scalars[index + marker.count] == " "
        if !markerWithSpace { kept = PythonText.strip(kept, chars: nil, leading: false, trailing: true) }
        let stripped = PythonText.strip(finalText, chars: nil, leading: true, trailing: true)
        guard PythonText.find(kept, stripped) >= 0 || stripped.isEmpty else {
            throw error(
                "continue_final_message is set but the final message does not appear in the chat after applying the chat template"
            )
        }
        return kept
    }

    /// Picks among named templates as transformers does: `tool_use` when tools are given and it exists, else
    /// `default`; nil when neither applies.
    public static func select(named templates: [(name: String, template: String)], hasTools: Bool) -> String? {
        if hasTools, let toolUse = templates.first(where: { $0.name == "tool_use" }) { return toolUse.template }
        return templates.first(where: { $0.name == "default" })?.template
    }
}
