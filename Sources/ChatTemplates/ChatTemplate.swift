import Foundation
import JSON

/// A Hugging Face chat template, parsed once and rendered as `transformers` renders it (jinja2 3.1.6 in an
/// `ImmutableSandboxedEnvironment` with `trim_blocks` and `lstrip_blocks`).
public struct ChatTemplate: Sendable {
    public let source: String
    let origin: String
    let program: Program

    /// Parses once (lexer + parser); `origin` (a file path or "model.gguf:tokenizer.chat_template") names the
    /// template in errors.
    ///
    /// - Throws: `.syntax` for invalid Jinja, `.unknownFilter`/`.unknownTest` where jinja2 rejects them at
    ///   compile time, `.limit` for nesting deeper than the parser accepts.
    public init(_ source: String, origin: String = "chat template") throws(ChatTemplateError) {
        self.source = source
        self.origin = origin
        do {
            let tokens = try Lexer.tokenize(source)
            var parser = Parser(tokens: tokens, maxDepth: RenderLimits.maxParseDepth)
            let nodes = try parser.parseTemplate()
            program = Program(nodes: nodes, symbols: parser.symbols, referencedVariables: parser.referencedVariables)
        } catch {
            throw error.stamped(origin: origin, fallback: nil)
        }
    }

    /// Names of top-level variables the template reads (for capability checks), e.g. `["messages", "tools",
    /// "enable_thinking"]`. Locals (`set`, loop targets, macro parameters) and the environment's globals are
    /// left out.
    public var referencedVariables: Set<String> { program.referencedVariables }

    /// Plain Jinja render with these top-level variables (in order; later wins), no preprocessing.
    public func render(
        variables: [(name: String, value: JSONValue)], options: RenderOptions = RenderOptions()
    )
        throws(ChatTemplateError) -> String
    {
        try render(values: variables.map { ($0.name, Value($0.value)) }, options: options)
    }

    func render(values: [(name: String, value: Value)], options: RenderOptions) throws(ChatTemplateError) -> String {
        let interpreter = Interpreter(program: program, options: options)
        for (name, value) in values {
            if let id = program.symbols[name] { interpreter.globals[id] = value }
        }
        interpreter.output.reserveCapacity(source.utf8.count + 1024)
        do {
            _ = try interpreter.execute(program.nodes)
        } catch {
            throw error.stamped(origin: origin, fallback: interpreter.statementPosition)
        }
        return interpreter.output
    }
}

/// The parsed template: statements plus the symbol table their names were resolved against. Immutable after
/// parsing (literal values inside are never mutated), hence shareable across threads.
final class Program: @unchecked Sendable {
    let nodes: [Node]
    let symbols: [String: Int]
    let symbolNames: [String]
    let referencedVariables: Set<String>
    /// The symbol of `loop`, if the template uses it (otherwise loops skip creating the loop object).
    let loopSymbol: Int?

    init(nodes: [Node], symbols: [String: Int], referencedVariables: Set<String>) {
        self.nodes = nodes
        self.symbols = symbols
        var names = Array(repeating: "", count: symbols.count)
        for (name, id) in symbols { names[id] = name }
        symbolNames = names
        self.referencedVariables = referencedVariables
        loopSymbol = symbols["loop"]
    }
}

/// How a render runs: the clock for `strftime_now` and the resource bounds.
public struct RenderOptions: Sendable {
    /// `strftime_now`'s clock (formatted in `timeZone`, C locale, English month and day names).
    public var now: Date = Date()
    public var timeZone: TimeZone = .current
    public var limits: RenderLimits = RenderLimits()

    public init(now: Date = Date(), timeZone: TimeZone = .current, limits: RenderLimits = RenderLimits()) {
        self.now = now
        self.timeZone = timeZone
        self.limits = limits
    }
}

/// Bounds that keep an untrusted template from exhausting the stack, the CPU or memory. `range()` is also held
/// to 100,000 items, as jinja2's sandbox holds it.
public struct RenderLimits: Sendable {
    /// Nested macro (and `caller`) calls, which bounds recursion.
    public var maxCallDepth: Int = 64
    /// Loop iterations over the whole render (including `for ... if` filtering).
    public var maxLoopIterations: Int = 1_000_000
    public var maxOutputBytes: Int = 16 << 20
    /// The largest string (or list) built by `*`, `+`, `~`, `join`, `replace`...
    public var maxStringBytes: Int = 16 << 20

    /// Nesting of statements and expressions the parser accepts (each level recurses while rendering).
    static let maxParseDepth = 100

    public init(
        maxCallDepth: Int = 64, maxLoopIterations: Int = 1_000_000, maxOutputBytes: Int = 16 << 20,
        maxStringBytes: Int = 16 << 20
    ) {
        self.maxCallDepth = maxCallDepth
        self.maxLoopIterations = maxLoopIterations
        self.maxOutputBytes = maxOutputBytes
        self.maxStringBytes = maxStringBytes
    }
}
