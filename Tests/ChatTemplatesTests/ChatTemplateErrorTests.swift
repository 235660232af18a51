import ChatTemplates
import Foundation
import JSON
import Testing

@Suite("Errors and limits")
struct ChatTemplateErrorTests {
    func render(
        _ source: String, _ variables: [(name: String, value: JSONValue)] = [], limits: RenderLimits = RenderLimits()
    )
        throws(ChatTemplateError) -> String
    {
        try ChatTemplate(source, origin: "tmpl.jinja").render(
            variables: variables, options: RenderOptions(limits: limits))
    }

    func error(_ source: String, limits: RenderLimits = RenderLimits()) -> ChatTemplateError? {
        do {
            _ = try render(source, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test("a syntax error names the template, line and column")
    func syntaxPosition() throws {
        let failure = try #require(error("line one\n{% if x %}\n  {% endfor %}"))
        #expect(failure.kind == .syntax)
        #expect(failure.line == 3)
        #expect(failure.column == 6)
        #expect(failure.description.hasPrefix("tmpl.jinja:3:6: "))
        #expect(failure.description.contains("'endfor'"))
        #expect(!failure.description.contains("\n"))
    }

    @Test(
        "a syntax error says what was expected",
        arguments: [
            ("{% if x %}a", "'endif'"), ("{{ x + }}", "expected an expression"),
            ("{% for x in %}{% endfor %}", "Expected an expression"),
            ("{{ (a, b }}", "expected ')'"), ("{% if x %}a{% endfor %}", "expected 'elif' or 'else' or 'endif'"),
            ("{{ {'a' 1} }}", "expected token ':'")
        ])
    func syntaxExpectation(_ source: String, _ wanted: String) throws {
        let failure = try #require(error(source))
        #expect(failure.kind == .syntax)
        #expect(failure.description.contains(wanted), "\(failure.description)")
    }

    @Test("an unknown filter is named, at parse time outside if-branches")
    func unknownFilter() throws {
        #expect(throws: ChatTemplateError.self) { try ChatTemplate("{{ x | from_json }}") }
        let failure = try #require(error("\n\n\n\n    {{ x | from_json }}"))
        #expect(failure.kind == .unknownFilter)
        #expect(failure.description == "tmpl.jinja:5:12: No filter named 'from_json'.")
        // Inside an if-branch the template loads and fails only when the branch runs.
        let template = try ChatTemplate("{% if args is string %}{{ args | from_json }}{% else %}ok{% endif %}")
        #expect(try template.render(variables: [("args", .object([]))]) == "ok")
        #expect(throws: ChatTemplateError.self) { try template.render(variables: [("args", .string("{}"))]) }
    }

    @Test("raise_exception carries the template's message")
    func raised() throws {
        let failure = try #require(error("{{ raise_exception('Conversation roles must alternate user/assistant') }}"))
        #expect(failure.kind == .raised)
        #expect(failure.message == "Conversation roles must alternate user/assistant")
        #expect(failure.line == 1)
    }

    @Test(
        "mutating methods are refused by the sandbox",
        arguments: [
            "{% set xs = [] %}{{ xs.append(1) }}", "{% set xs = [1] %}{% set _ = xs.pop() %}",
            "{{ {'a': 1}.update({}) }}",
            "{{ {'a': 1}.clear() }}", "{{ [2, 1].sort() }}"
        ])
    func mutationRefused(_ source: String) throws {
        let failure = try #require(error(source))
        #expect(failure.kind == .security)
        #expect(failure.message.contains("is unsafe"))
    }

    @Test("namespace refuses names starting with an underscore")
    func namespaceUnderscore() throws {
        #expect(error("{% set ns = namespace(_x=1) %}")?.kind == .security)
        #expect(error("{% set ns = namespace() %}{% set ns._x = 1 %}")?.kind == .security)
    }

    @Test(
        "runaway templates stop quickly with a limit error",
        arguments: [
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
            "{{ range(1000000) | length }}",
            "{{ 'a' * 10**9 }}",
            "{{ ['a'] * 10**9 }}",
            "{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "{{ 2 ** 100 }}"
        ])
    func limits(_ source: String) throws {
        let start = Date()
        let failure = try #require(error(source))
        #expect(failure.kind == .limit, "\(failure)")
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test("output size is bounded")
    func outputLimit() throws {
        let failure = try #require(
            error("{% for i in range(1000) %}xxxxxxxxxx{% endfor %}", limits: RenderLimits(maxOutputBytes: 5000)))
        #expect(failure.kind == .limit)
    }

    @Test("deeply nested input is refused instead of overflowing the stack")
    func deepNesting() throws {
        let parens = String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)
        #expect(throws: ChatTemplateError.self) { try ChatTemplate("{{ \(parens) }}") }
        let ifs = String(repeating: "{% if true %}", count: 5000) + String(repeating: "{% endif %}", count: 5000)
        #expect(throws: ChatTemplateError.self) { try ChatTemplate(ifs) }
        let lists = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        #expect(throws: ChatTemplateError.self) { try ChatTemplate("{{ \(lists) }}") }
    }

    @Test(
        "malformed templates never crash",
        arguments: [
            "{{", "{%", "{#", "{{ }}", "{% %}", "{{ a.}}", "{{ a[ }}", "{{ 'unterminated }}", "{% for %}", "{% set %}",
            "{% macro %}", "{{ a | }}", "{{ a is }}", "{% if %}{% endif %}", "{% endif %}", "{{ (1, }}", "{{ {1: } }}",
            "{% raw %}never closed", "{{ 1 +* 2 }}", "{{ a ] }}", "{% for x in y %}{% else %}{% else %}{% endfor %}",
            "{% set x = 1 %}{% set x.y.z = 2 %}", "{{ '\\x' }}", "{{ 99999999999999999999999 }}"
        ])
    func malformed(_ source: String) {
        _ = error(source)
    }
}

@Suite("apply_chat_template preprocessing")
struct ChatTemplateApplyTests {
    @Test("null keys are dropped and reasoning fields aliased in transformers' key order")
    func preprocessing() throws {
        let template = try ChatTemplate("{{ messages | tojson }}")
        let messages: [JSONValue] = [
            .object([("role", .string("user")), ("content", .string("Hi")), ("name", .null)]),
            .object([
                ("role", .string("assistant")), ("reasoning", .string("R")), ("content", .string("A")),
                ("tool_calls", .null)
            ]),
            .object([
                ("role", .string("assistant")), ("content", .string("B")), ("thinking", .string("T")),
                ("reasoning_content", .string("X"))
            ])
        ]
        // Python: the spec §2 preprocessing, then env.from_string("{{ messages|tojson }}").render(messages=...)
        let expected =
            #"[{"role": "user", "content": "Hi"}, {"thinking": "R", "role": "assistant", "reasoning": "R", "content": "A", "reasoning_content": "R"}, {"role": "assistant", "content": "B", "thinking": "T", "reasoning_content": "X"}]"#
        #expect(try template.apply(ChatRequest(messages: messages)) == expected)
    }

    @Test("tools and documents are none when absent; special tokens come before extra variables")
    func variables() throws {
        let template = try ChatTemplate(
            "{{ tools is none }}{{ documents is none }}{{ add_generation_prompt }}{{ bos_token }}{{ enable_thinking }}")
        var request = ChatRequest(messages: [.object([("role", .string("user")), ("content", .string("x"))])])
        request.specialTokens = [("bos_token", "<s>")]
        request.variables = [("bos_token", .string("<override>")), ("enable_thinking", .bool(false))]
        #expect(try template.apply(request) == "TrueTrueFalse<override>False")
    }

    @Test("the request is checked before rendering")
    func invalidRequests() throws {
        let template = try ChatTemplate("{{ messages | length }}")
        #expect(throws: ChatTemplateError.self) { try template.apply(ChatRequest(messages: [])) }
        let user: JSONValue = .object([("role", .string("user")), ("content", .string("x"))])
        #expect(throws: ChatTemplateError.self) {
            try template.apply(ChatRequest(messages: [user], addGenerationPrompt: true, continueFinalMessage: true))
        }
        // The template never reads `content`, so the prefill cannot work.
        #expect(throws: ChatTemplateError.self) {
            try template.apply(ChatRequest(messages: [user], continueFinalMessage: true))
        }
    }

    @Test("continue_final_message leaves the final message open")
    func prefill() throws {
        let template = try ChatTemplate(
            "{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>\n{% endfor %}", origin: "t")
        let request = ChatRequest(
            messages: [
                .object([("role", .string("user")), ("content", .string("Hi"))]),
                .object([("role", .string("assistant")), ("content", .string("Hello"))])
            ], continueFinalMessage: true)
        #expect(try template.apply(request) == "<user>Hi</user>\n<assistant>Hello")
        // With trimming the marker loses its space: the output is cut and right-stripped.
        let trimming = try ChatTemplate("{% for m in messages %}[{{ m.content | trim }}]{% endfor %}")
        let spaced = ChatRequest(
            messages: [.object([("role", .string("assistant")), ("content", .string("Hello "))])],
            continueFinalMessage: true)
        #expect(try trimming.apply(spaced) == "[Hello")
    }

    @Test("named templates: tool_use only with tools")
    func selection() {
        let named = [(name: "default", template: "D"), (name: "tool_use", template: "T")]
        #expect(ChatTemplate.select(named: named, hasTools: true) == "T")
        #expect(ChatTemplate.select(named: named, hasTools: false) == "D")
        #expect(ChatTemplate.select(named: [(name: "default", template: "D")], hasTools: true) == "D")
        #expect(ChatTemplate.select(named: [(name: "tool_use", template: "T")], hasTools: false) == nil)
    }

    @Test("referenced variables leave out locals and globals")
    func referencedVariables() throws {
        let template = try ChatTemplate(
            """
            {% set ns = namespace(x=1) %}{% for m in messages %}{{ m.content }}{{ loop.index }}{% endfor %}
            {% if tools %}{{ tools | tojson }}{% endif %}{% if enable_thinking is defined %}{{ raise_exception('x') }}{% endif %}
            {% macro f(a) %}{{ a }}{% endmacro %}{{ f(bos_token) }}{{ range(2) | list }}
            """)
        #expect(template.referencedVariables == ["messages", "tools", "enable_thinking", "bos_token"])
    }
}
