import Foundation

/// Variables of one scope: a `for` iteration, a macro call, a `with` block. The template's top level lives in
/// `Interpreter.globals`, indexed by symbol number.
final class Frame {
    var ids: [Int] = []
    var values: [Value] = []
    let parent: Frame?

    init(parent: Frame?) { self.parent = parent }

    func set(_ id: Int, _ value: Value) {
        if let i = ids.lastIndex(of: id) {
            values[i] = value
        } else {
            ids.append(id)
            values.append(value)
        }
    }

    func truncate(to count: Int) {
        if ids.count > count {
            ids.removeSubrange(count...)
            values.removeSubrange(count...)
        }
    }
}

/// Call arguments after evaluation (`*args` and `**kwargs` expanded).
struct Arguments {
    var positional: [Value] = []
    var keywords: [(name: String, value: Value)] = []

    /// The argument at `index` or named `name`, as Python binds a parameter.
    func value(_ index: Int, _ name: String) -> Value? {
        if index >= 0 && index < positional.count { return positional[index] }
        for k in keywords where k.name == name { return k.value }
        return nil
    }

    var isEmpty: Bool { positional.isEmpty && keywords.isEmpty }
}

/// Control flow out of a statement list.
enum Flow {
    case normal
    case breakLoop
    case continueLoop
}

/// Renders one template once: a tree walker over the parsed nodes, writing into a single output buffer.
final class Interpreter {
    let program: Program
    let options: RenderOptions
    var output = ""
    var globals: [Value?]
    var frame: Frame?
    var iterations = 0
    var callDepth = 0
    /// The position of the statement being run, for errors raised without one of their own.
    var statementPosition = SourcePosition.unknown

    init(program: Program, options: RenderOptions) {
        self.program = program
        self.options = options
        globals = Array(repeating: nil, count: program.symbolNames.count)
    }

    // MARK: - Variables

    func lookup(_ symbol: Symbol) -> Value {
        var f = frame
        while let current = f {
            var i = current.ids.count - 1
            while i >= 0 {
                if current.ids[i] == symbol.id { return current.values[i] }
                i -= 1
            }
            f = current.parent
        }
        if symbol.id < globals.count, let value = globals[symbol.id] { return value }
        if let global = GlobalFunction(rawValue: symbol.name) { return .callable(Callable(.global(global))) }
        return .undefined(name: symbol.name)
    }

    func assign(_ id: Int, _ value: Value) {
        if let frame { frame.set(id, value) } else if id < globals.count { globals[id] = value }
    }

    func assign(_ target: AssignTarget, _ value: Value) throws(RenderFailure) {
        switch target {
        case .name(let symbol): assign(symbol.id, value)
        case .attribute(let base, let name, let position):
            guard case .namespace(let ns) = try evaluate(base) else {
                throw RenderFailure(.type, "cannot assign attribute on non-namespace object", at: position)
            }
            guard !name.hasPrefix("_") else {
                throw RenderFailure(
                    .security, "access to attribute '\(name)' of 'Namespace' object is unsafe.", at: position)
            }
            ns.set(name, value)
        case .tuple(let targets, let position):
            let items: [Value]
            do { items = try value.iterated() } catch {
                throw RenderFailure(.type, "cannot unpack non-iterable \(value.typeName) object", at: position)
            }
            guard items.count == targets.count else {
                if items.count < targets.count {
                    throw RenderFailure(
                        .type, "not enough values to unpack (expected \(targets.count), got \(items.count))",
                        at: position)
                }
                throw RenderFailure(.type, "too many values to unpack (expected \(targets.count))", at: position)
            }
            for (t, v) in zip(targets, items) { try assign(t, v) }
        }
    }

    // MARK: - Output

    @inline(__always)
    func emit(_ text: String) throws(RenderFailure) {
        output.append(text)
        if output.utf8.count > options.limits.maxOutputBytes {
            throw RenderFailure(.limit, "output longer than \(options.limits.maxOutputBytes) bytes")
        }
    }

    /// Runs `body` into a fresh buffer and returns what it wrote (block `set`, `filter` blocks, macro calls).
    func capture(_ body: [Node]) throws(RenderFailure) -> String {
        let saved = output
        output = ""
        defer { output = saved }
        _ = try execute(body)
        return output
    }

    // MARK: - Statements

    func execute(_ nodes: [Node]) throws(RenderFailure) -> Flow {
        for node in nodes {
            let flow = try execute(node)
            if case .normal = flow { continue }
            return flow
        }
        return .normal
    }

    func execute(_ node: Node) throws(RenderFailure) -> Flow {
        switch node {
        case .text(let text):
            try emit(text)
        case .output(let expression, let position):
            statementPosition = position
            let value = try evaluate(expression)
            switch value {
            case .string(let s), .markup(let s): try emit(s)
            default: try emit(try value.pythonString())
            }
        case .conditional(let branches, let otherwise):
            for branch in branches where try evaluate(branch.test).isTruthy {
                return try execute(branch.body)
            }
            return try execute(otherwise)
        case .loop(let loop):
            return try executeLoop(loop)
        case .assign(let target, let expression, let position):
            statementPosition = position
            try assign(target, try evaluate(expression))
        case .assignBlock(let target, let body, let filters, let position):
            statementPosition = position
            var value = Value.string(try capture(body))
            for f in filters { value = try applyFilter(f, to: value) }
            try assign(target, value)
        case .macro(let definition):
            assign(definition.symbol.id, .callable(Callable(.macro(definition))))
        case .callBlock(let body, let call, let position):
            statementPosition = position
            guard case .call(let callee, let argumentExpressions, let callPosition) = call else { return .normal }
            var arguments = try evaluateArguments(argumentExpressions)
            let caller = Callable(.caller(body))
            caller.capturedFrame = frame
            arguments.keywords.append(("caller", .callable(caller)))
            let result = try self.call(try evaluate(callee), arguments, at: callPosition)
            try emit(try result.pythonString())
        case .filterBlock(let body, let filters):
            var value = Value.string(try capture(body))
            for f in filters { value = try applyFilter(f, to: value) }
            try emit(try value.pythonString())
        case .with(let assignments, let body):
            let scope = Frame(parent: frame)
            var values: [(AssignTarget, Value)] = []
            for (target, expression) in assignments { values.append((target, try evaluate(expression))) }
            let saved = frame
            frame = scope
            defer { frame = saved }
            for (target, value) in values { try assign(target, value) }
            return try execute(body)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    func countIteration() throws(RenderFailure) {
        iterations += 1
        if iterations > options.limits.maxLoopIterations {
            throw RenderFailure(.limit, "more than \(options.limits.maxLoopIterations) loop iterations")
        }
    }

    private func executeLoop(_ loop: ForLoop) throws(RenderFailure) -> Flow {
        statementPosition = loop.position
        let iterable = try evaluate(loop.iterable)
        var items: [Value]
        switch iterable {
        case .list(let box): items = box.items
        case .undefined: items = []
        default:
            do { items = try iterable.iterated() } catch {
                throw RenderFailure(.type, "'\(iterable.typeName)' object is not iterable", at: loop.position)
            }
        }
        let scope = Frame(parent: frame)
        let saved = frame
        frame = scope
        defer { frame = saved }
        if let condition = loop.condition {
            var kept: [Value] = []
            for item in items {
                try countIteration()
                scope.truncate(to: 0)
                try assign(loop.target, item)
                if try evaluate(condition).isTruthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            scope.truncate(to: 0)
            frame = saved
            return try execute(loop.otherwise)
        }
        let state = LoopState(items: items, depth: 1)
        let loopSymbol = program.loopSymbol
        for i in items.indices {
            try countIteration()
            scope.truncate(to: 0)
            state.index0 = i
            if let loopSymbol { scope.set(loopSymbol, .object(state)) }
            try assign(loop.target, items[i])
            switch try execute(loop.body) {
            case .breakLoop: return .normal
            case .continueLoop, .normal: continue
            }
        }
        return .normal
    }

    // MARK: - Calls

    func callMacro(
        _ macro: MacroDefinition, _ arguments: Arguments, at position: SourcePosition
    ) throws(RenderFailure) -> Value {
        callDepth += 1
        defer { callDepth -= 1 }
        guard callDepth <= options.limits.maxCallDepth else {
            throw RenderFailure(
                .limit, "macro calls nested deeper than \(options.limits.maxCallDepth) (recursion?)", at: position)
        }
        let scope = Frame(parent: nil)
        let parameterCount = macro.parameters.count
        if arguments.positional.count > parameterCount && !macro.usesVarargs {
            throw RenderFailure(
                .type, "macro '\(macro.name)' takes not more than \(parameterCount) argument(s)", at: position)
        }
        var extraKeywords: [(name: String, value: Value)] = []
        var callerValue: Value?
        for keyword in arguments.keywords {
            if macro.parameters.contains(where: { $0.symbol.name == keyword.name }) { continue }
            if keyword.name == "caller" && macro.usesCaller { callerValue = keyword.value; continue }
            guard macro.usesKwargs else {
                throw RenderFailure(
                    .type, "macro '\(macro.name)' takes no keyword argument '\(keyword.name)'", at: position)
            }
            extraKeywords.append(keyword)
        }
        let saved = frame
        frame = scope
        defer { frame = saved }
        for (i, parameter) in macro.parameters.enumerated() {
            if let value = arguments.value(i, parameter.symbol.name) {
                if i < arguments.positional.count,
                    arguments.keywords.contains(where: { $0.name == parameter.symbol.name })
                {
                    throw RenderFailure(
                        .type, "macro '\(macro.name)' got multiple values for argument '\(parameter.symbol.name)'",
                        at: position)
                }
                scope.set(parameter.symbol.id, value)
            } else if let defaultValue = parameter.defaultValue {
                scope.set(parameter.symbol.id, try evaluate(defaultValue))
            } else {
                scope.set(
                    parameter.symbol.id,
                    .undefined(UndefinedReason(.message("parameter '\(parameter.symbol.name)' was not provided"))))
            }
        }
        if macro.usesVarargs, let id = program.symbols["varargs"] {
            let extra =
                arguments.positional.count > parameterCount ? Array(arguments.positional[parameterCount...]) : []
            scope.set(id, .list(ListBox(extra, kind: .tuple)))
        }
        if macro.usesKwargs, let id = program.symbols["kwargs"] {
            var dict = DictBuilder()
            for k in extraKeywords { try dict.set(.string(k.name), k.value) }
            scope.set(id, .dict(DictBox(dict)))
        }
        if macro.usesCaller, let id = program.symbols["caller"] {
            scope.set(id, callerValue ?? .undefined(UndefinedReason(.message("No caller defined"))))
        }
        return .string(try capture(macro.body))
    }

    func callCaller(
        _ callable: Callable, _ body: CallBlockBody, _ arguments: Arguments, at position: SourcePosition
    ) throws(RenderFailure) -> Value {
        callDepth += 1
        defer { callDepth -= 1 }
        guard callDepth <= options.limits.maxCallDepth else {
            throw RenderFailure(.limit, "calls nested deeper than \(options.limits.maxCallDepth)", at: position)
        }
        let scope = Frame(parent: callable.capturedFrame)
        let saved = frame
        frame = scope
        defer { frame = saved }
        for (i, parameter) in body.parameters.enumerated() {
            if let value = arguments.value(i, parameter.symbol.name) {
                scope.set(parameter.symbol.id, value)
            } else if let defaultValue = parameter.defaultValue {
                scope.set(parameter.symbol.id, try evaluate(defaultValue))
            } else {
                scope.set(parameter.symbol.id, .undefined(name: parameter.symbol.name))
            }
        }
        return .string(try capture(body.body))
    }
}

/// jinja2's `loop` object.
final class LoopState: TemplateObject {
    let items: [Value]
    let depth: Int
    var index0 = 0
    private var lastChanged: [Value]?

    init(items: [Value], depth: Int) {
        self.items = items
        self.depth = depth
    }

    var typeName: String { "LoopContext" }

    func attribute(_ name: String) -> Value? {
        let n = items.count
        switch name {
        case "index": return .int(index0 + 1)
        case "index0": return .int(index0)
        case "revindex": return .int(n - index0)
        case "revindex0": return .int(n - index0 - 1)
        case "first": return .bool(index0 == 0)
        case "last": return .bool(index0 == n - 1)
        case "length": return .int(n)
        case "depth": return .int(depth)
        case "depth0": return .int(depth - 1)
        case "previtem":
            return index0 > 0 ? items[index0 - 1] : .undefined(UndefinedReason(.message("there is no previous item")))
        case "nextitem":
            return index0 + 1 < n ? items[index0 + 1] : .undefined(UndefinedReason(.message("there is no next item")))
        default: return nil
        }
    }

    func call(method: String, arguments: Arguments, interpreter: Interpreter) throws(RenderFailure) -> Value? {
        switch method {
        case "cycle":
            guard !arguments.positional.isEmpty else { throw RenderFailure(.type, "no items for cycling given") }
            return arguments.positional[index0 % arguments.positional.count]
        case "changed":
            let current = arguments.positional
            if let last = lastChanged, last.count == current.count,
                zip(last, current).allSatisfy({ pythonEquals($0, $1) })
            {
                return .bool(false)
            }
            lastChanged = current
            return .bool(true)
        default: return nil
        }
    }
}
