/// Builds the syntax tree from tokens, following jinja2's grammar and operator precedence.
///
/// The parser also applies jinja2's compile-time rules that decide whether a template loads at all: an unknown
/// filter or test is an error unless it sits inside an `if` (or inline-if) with no `for`/`macro` in between,
/// where jinja2 defers the error until the branch runs.
struct Parser {
    private var tokens: [Token]
    private var index = 0
    private(set) var symbols: [String: Int] = [:]
    /// Inside an `if` statement or inline-if, where unknown filters and tests fail only when executed.
    private var soft = false
    private var depth = 0
    private let maxDepth: Int
    /// Names referenced by each enclosing macro body, to know whether it accepts `varargs`/`kwargs`/`caller`.
    private var macroReferences: [Set<String>] = []
    /// Names bound so far in each lexical scope, to tell template inputs from locals.
    private var declared: [Set<String>] = [[]]
    private(set) var referencedVariables: Set<String> = []
    /// Unknown filters and tests found outside a soft frame; they become errors unless the expression turns out
    /// to be the value of an inline-if.
    private var pendingUnknown: [RenderFailure] = []

    init(tokens: [Token], maxDepth: Int) {
        self.tokens = tokens
        self.maxDepth = maxDepth
    }

    // MARK: - Token helpers

    private var current: Token {
        index < tokens.count ? tokens[index] : Token(kind: .end, position: tokens.last?.position ?? .unknown)
    }
    private var currentPosition: SourcePosition { current.position }

    private func peek(_ offset: Int = 1) -> Token {
        index + offset < tokens.count ? tokens[index + offset] : Token(kind: .end, position: .unknown)
    }

    private mutating func next() { index += 1 }

    private func isOp(_ op: String) -> Bool { if case .op(let o) = current.kind { o == op } else { false } }
    private func isName(_ name: String) -> Bool { if case .name(let n) = current.kind { n == name } else { false } }

    private var currentName: String? { if case .name(let n) = current.kind { n } else { nil } }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .text: return "template data"
        case .variableBegin: return "begin of print statement"
        case .variableEnd: return "end of print statement"
        case .blockBegin: return "begin of statement block"
        case .blockEnd: return "end of statement block"
        case .name(let n): return n
        case .string: return "string"
        case .integer: return "integer"
        case .float: return "float"
        case .op(let o): return o
        case .end: return "end of template"
        }
    }

    private func fail(_ message: String, at position: SourcePosition? = nil) -> RenderFailure {
        RenderFailure(.syntax, message, at: position ?? currentPosition)
    }

    private mutating func expectOp(_ op: String) throws(RenderFailure) {
        guard isOp(op) else { throw fail("expected token '\(op)', got '\(describe(current))'") }
        next()
    }

    private mutating func expectName(_ name: String) throws(RenderFailure) {
        guard isName(name) else { throw fail("expected token '\(name)', got '\(describe(current))'") }
        next()
    }

    private mutating func expectIdentifier() throws(RenderFailure) -> String {
        guard let name = currentName else { throw fail("expected token 'name', got '\(describe(current))'") }
        next()
        return name
    }

    private mutating func expectBlockEnd() throws(RenderFailure) {
        guard case .blockEnd = current.kind else {
            throw fail("expected token 'end of statement block', got '\(describe(current))'")
        }
        next()
    }

    mutating func symbol(_ name: String) -> Symbol {
        if let id = symbols[name] { return Symbol(id: id, name: name) }
        let id = symbols.count
        symbols[name] = id
        return Symbol(id: id, name: name)
    }

    private mutating func declare(_ target: AssignTarget) {
        switch target {
        case .name(let s): declared[declared.count - 1].insert(s.name)
        case .tuple(let parts, _): for p in parts { declare(p) }
        case .attribute: break
        }
    }

    private mutating func enter() throws(RenderFailure) {
        depth += 1
        guard depth <= maxDepth else {
            throw RenderFailure(.limit, "template nesting deeper than \(maxDepth) levels", at: currentPosition)
        }
    }

    // MARK: - Statements

    mutating func parseTemplate() throws(RenderFailure) -> [Node] {
        let (nodes, end) = try parseNodes(until: [])
        if let first = pendingUnknown.first { throw first }
        if let end { throw fail("Encountered unknown tag '\(end.name)'.", at: end.position) }
        return nodes
    }

    /// Parses nodes until a block tag named in `endTags`, consuming that name (the rest of its tag remains).
    private mutating func parseNodes(
        until endTags: Set<String>, opener: String? = nil
    )
        throws(RenderFailure) -> ([Node], end: (name: String, position: SourcePosition)?)
    {
        try enter()
        defer { depth -= 1 }
        var nodes: [Node] = []
        while true {
            let token = current
            switch token.kind {
            case .end:
                if let opener {
                    let wanted = endTags.sorted().map { "'\($0)'" }.joined(separator: " or ")
                    throw fail(
                        "Unexpected end of template. Jinja was looking for the following tags: \(wanted). The innermost block that needs to be closed is '\(opener)'."
                    )
                }
                return (nodes, nil)
            case .text(let text):
                next()
                nodes.append(.text(text))
            case .variableBegin:
                next()
                let expression = try parseTuple(withConditional: true)
                guard case .variableEnd = current.kind else {
                    throw fail("expected token 'end of print statement', got '\(describe(current))'")
                }
                next()
                nodes.append(.output(expression, token.position))
            case .blockBegin:
                next()
                guard let name = currentName else { throw fail("tag name expected") }
                if endTags.contains(name) {
                    let position = currentPosition
                    next()
                    return (nodes, (name, position))
                }
                if name.hasPrefix("end") || name == "elif" || name == "else" {
                    if let opener {
                        let wanted = endTags.sorted().map { "'\($0)'" }.joined(separator: " or ")
                        throw fail(
                            "expected \(wanted), found '\(name)' (the innermost block that needs to be closed is '\(opener)')"
                        )
                    }
                    throw fail("Encountered unknown tag '\(name)'.")
                }
                nodes.append(contentsOf: try parseStatement(name))
            default:
                throw fail("unexpected '\(describe(token))'")
            }
        }
    }

    private mutating func parseStatement(_ name: String) throws(RenderFailure) -> [Node] {
        let position = currentPosition
        next()
        switch name {
        case "if": return [try parseIf()]
        case "for": return [try parseFor(position)]
        case "set": return [try parseSet(position)]
        case "macro": return [try parseMacro(position)]
        case "call": return [try parseCallBlock(position)]
        case "filter": return [try parseFilterBlock()]
        case "with": return [try parseWith()]
        case "generation":
            try expectBlockEnd()
            let (body, _) = try parseNodes(until: ["endgeneration"], opener: "generation")
            try expectBlockEnd()
            return body
        case "break", "continue":
            try expectBlockEnd()
            return [name == "break" ? .breakLoop : .continueLoop]
        default:
            throw fail("Encountered unknown tag '\(name)'.", at: position)
        }
    }

    private mutating func parseIf() throws(RenderFailure) -> Node {
        let wasSoft = soft
        soft = true
        defer { soft = wasSoft }
        var branches: [(test: Expression, body: [Node])] = []
        var test = try parseTuple(withConditional: false)
        try expectBlockEnd()
        while true {
            let (body, end) = try parseNodes(until: ["elif", "else", "endif"], opener: "if")
            branches.append((test, body))
            switch end?.name {
            case "elif":
                test = try parseTuple(withConditional: false)
                try expectBlockEnd()
            case "else":
                try expectBlockEnd()
                let (otherwise, _) = try parseNodes(until: ["endif"], opener: "if")
                try expectBlockEnd()
                return .conditional(branches, otherwise: otherwise)
            default:
                try expectBlockEnd()
                return .conditional(branches, otherwise: [])
            }
        }
    }

    private mutating func parseFor(_ position: SourcePosition) throws(RenderFailure) -> Node {
        let target = try parseAssignTarget(allowAttribute: false, extraEnd: ["in"])
        try expectName("in")
        let iterable = try parseTuple(withConditional: false, extraEnd: ["recursive"])
        let wasSoft = soft
        soft = false
        defer { soft = wasSoft }
        declared.append([])
        declare(target)
        defer { declared.removeLast() }
        var condition: Expression?
        if isName("if") {
            next()
            condition = try parseExpression()
        }
        var recursive = false
        if isName("recursive") { next(); recursive = true }
        try expectBlockEnd()
        let (body, end) = try parseNodes(until: ["endfor", "else"], opener: "for")
        var otherwise: [Node] = []
        if end?.name == "else" {
            try expectBlockEnd()
            (otherwise, _) = try parseNodes(until: ["endfor"], opener: "for")
        }
        try expectBlockEnd()
        return .loop(
            ForLoop(
                target: target, iterable: iterable, condition: condition, body: body, otherwise: otherwise,
                recursive: recursive, usesLoop: symbols["loop"] != nil, position: position))
    }

    private mutating func parseSet(_ position: SourcePosition) throws(RenderFailure) -> Node {
        let target = try parseAssignTarget(allowAttribute: true, extraEnd: [])
        if isOp("=") {
            next()
            let value = try parseTuple(withConditional: true)
            try expectBlockEnd()
            declare(target)
            return .assign(target, value, position)
        }
        let wasSoft = soft
        soft = false
        defer { soft = wasSoft }
        var filters: [FilterCall] = []
        while isOp("|") {
            next()
            filters.append(try parseFilterCall())
        }
        try expectBlockEnd()
        let (body, _) = try parseNodes(until: ["endset"], opener: "set")
        try expectBlockEnd()
        declare(target)
        return .assignBlock(target, body: body, filters: filters, position)
    }

    private mutating func parseParameters() throws(RenderFailure) -> [(symbol: Symbol, defaultValue: Expression?)] {
        var parameters: [(symbol: Symbol, defaultValue: Expression?)] = []
        try expectOp("(")
        while !isOp(")") {
            if !parameters.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            let name = try expectIdentifier()
            var defaultValue: Expression?
            if isOp("=") {
                next()
                defaultValue = try parseExpression()
            } else if parameters.last?.defaultValue != nil {
                throw fail("non-default argument follows default argument")
            }
            parameters.append((symbol(name), defaultValue))
        }
        next()
        return parameters
    }

    private mutating func parseMacro(_ position: SourcePosition) throws(RenderFailure) -> Node {
        let name = try expectIdentifier()
        let macroSymbol = symbol(name)
        declared[declared.count - 1].insert(name)
        let wasSoft = soft
        soft = false
        defer { soft = wasSoft }
        declared.append([])
        defer { declared.removeLast() }
        macroReferences.append([])
        let parameters = try parseParameters()
        for p in parameters { declared[declared.count - 1].insert(p.symbol.name) }
        try expectBlockEnd()
        let (body, _) = try parseNodes(until: ["endmacro"], opener: "macro")
        if currentName == name { next() }
        try expectBlockEnd()
        let used = macroReferences.removeLast()
        return .macro(
            MacroDefinition(
                name: name, symbol: macroSymbol, parameters: parameters, body: body, position: position,
                usesVarargs: used.contains("varargs"), usesKwargs: used.contains("kwargs"),
                usesCaller: used.contains("caller")))
    }

    private mutating func parseCallBlock(_ position: SourcePosition) throws(RenderFailure) -> Node {
        let wasSoft = soft
        soft = false
        defer { soft = wasSoft }
        var parameters: [(symbol: Symbol, defaultValue: Expression?)] = []
        declared.append([])
        defer { declared.removeLast() }
        if isOp("(") { parameters = try parseParameters() }
        for p in parameters { declared[declared.count - 1].insert(p.symbol.name) }
        let call = try parseExpression()
        guard case .call = call else { throw fail("expected call", at: position) }
        try expectBlockEnd()
        let (body, _) = try parseNodes(until: ["endcall"], opener: "call")
        try expectBlockEnd()
        return .callBlock(CallBlockBody(parameters: parameters, body: body), call: call, position)
    }

    private mutating func parseFilterBlock() throws(RenderFailure) -> Node {
        let wasSoft = soft
        soft = false
        defer { soft = wasSoft }
        var filters = [try parseFilterCall()]
        while isOp("|") {
            next()
            filters.append(try parseFilterCall())
        }
        try expectBlockEnd()
        let (body, _) = try parseNodes(until: ["endfilter"], opener: "filter")
        try expectBlockEnd()
        return .filterBlock(body: body, filters: filters)
    }

    private mutating func parseWith() throws(RenderFailure) -> Node {
        let wasSoft = soft
        soft = false
        defer { soft = wasSoft }
        var assignments: [(AssignTarget, Expression)] = []
        var targets: [AssignTarget] = []
        while !(current.kind == .blockEnd) {
            if !assignments.isEmpty { try expectOp(",") }
            let target = try parseAssignTarget(allowAttribute: false, extraEnd: [])
            try expectOp("=")
            assignments.append((target, try parseExpression()))
            targets.append(target)
        }
        try expectBlockEnd()
        declared.append([])
        defer { declared.removeLast() }
        for t in targets { declare(t) }
        let (body, _) = try parseNodes(until: ["endwith"], opener: "with")
        try expectBlockEnd()
        return .with(assignments: assignments, body: body)
    }

    /// `name`, `ns.attr` (only for `set`), or a comma-separated tuple of names, optionally parenthesized.
    private mutating func parseAssignTarget(
        allowAttribute: Bool, extraEnd: Set<String>
    ) throws(RenderFailure) -> AssignTarget {
        let position = currentPosition
        if allowAttribute, let name = currentName, case .op(".") = peek().kind, case .name(let attribute) = peek(2).kind
        {
            next(); next(); next()
            return .attribute(.name(symbol(name), position), attribute, position)
        }
        var targets: [AssignTarget] = []
        var isTuple = false
        while true {
            if !targets.isEmpty { try expectOp(",") }
            if let name = currentName, extraEnd.contains(name) { break }
            if current.kind == .blockEnd || isOp(")") || isOp("=") { break }
            if isOp("(") {
                next()
                targets.append(try parseAssignTarget(allowAttribute: false, extraEnd: []))
                try expectOp(")")
            } else {
                let name = try expectIdentifier()
                guard !["true", "false", "none", "True", "False", "None"].contains(name) else {
                    throw fail("can't assign to '\(name)'", at: position)
                }
                targets.append(.name(symbol(name)))
            }
            if isOp(",") { isTuple = true } else { break }
        }
        guard !targets.isEmpty else { throw fail("expected token 'name', got '\(describe(current))'") }
        return isTuple || targets.count > 1 ? .tuple(targets, position) : targets[0]
    }

    // MARK: - Expressions

    /// jinja2's `parse_tuple`: one expression, or a tuple when commas follow.
    private mutating func parseTuple(
        withConditional: Bool, extraEnd: Set<String> = [], explicitParentheses: Bool = false
    )
        throws(RenderFailure) -> Expression
    {
        var items: [Expression] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            switch current.kind {
            case .blockEnd, .variableEnd, .end: break
            case .op(")"): break
            case .name(let n) where extraEnd.contains(n): break
            default:
                items.append(withConditional ? try parseExpression() : try parseOr())
                if isOp(",") { isTuple = true; continue }
            }
            break
        }
        if !isTuple {
            if let first = items.first { return first }
            if !explicitParentheses { throw fail("Expected an expression, got '\(describe(current))'") }
        }
        return .tuple(items)
    }

    mutating func parseExpression() throws(RenderFailure) -> Expression {
        try enter()
        defer { depth -= 1 }
        let position = currentPosition
        let mark = pendingUnknown.count
        let value = try parseOr()
        guard isName("if") else { return value }
        // jinja2 compiles the whole inline-if (its value included) in a soft frame: unknown filters met while
        // parsing the value are forgiven now that we know it is conditional.
        pendingUnknown.removeSubrange(mark...)
        let wasSoft = soft
        soft = true
        defer { soft = wasSoft }
        var chain = value
        while isName("if") {
            next()
            let test = try parseOr()
            var otherwise: Expression?
            if isName("else") {
                next()
                otherwise = try parseOr()
            }
            chain = .conditional(test: test, then: chain, otherwise: otherwise, position)
            if otherwise == nil { break }
        }
        return chain
    }

    private mutating func parseOr() throws(RenderFailure) -> Expression {
        var left = try parseAnd()
        while isName("or") {
            next()
            left = .or(left, try parseAnd())
        }
        return left
    }

    private mutating func parseAnd() throws(RenderFailure) -> Expression {
        var left = try parseNot()
        while isName("and") {
            next()
            left = .and(left, try parseNot())
        }
        return left
    }

    private mutating func parseNot() throws(RenderFailure) -> Expression {
        if isName("not") {
            try enter()
            defer { depth -= 1 }
            next()
            return .not(try parseNot())
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws(RenderFailure) -> Expression {
        let position = currentPosition
        let left = try parseMath1()
        var operations: [(op: CompareOperator, rhs: Expression)] = []
        while true {
            if case .op(let o) = current.kind, let op = CompareOperator(rawValue: o), op != .contains {
                next()
                operations.append((op, try parseMath1()))
            } else if isName("in") {
                next()
                operations.append((.contains, try parseMath1()))
            } else if isName("not"), case .name("in") = peek().kind {
                next(); next()
                operations.append((.notContains, try parseMath1()))
            } else {
                break
            }
        }
        return operations.isEmpty ? left : .compare(left, operations, position)
    }

    private mutating func parseMath1() throws(RenderFailure) -> Expression {
        var left = try parseConcat()
        while case .op(let o) = current.kind, o == "+" || o == "-" {
            let position = currentPosition
            next()
            left = .binary(o == "+" ? .add : .subtract, left, try parseConcat(), position)
        }
        return left
    }

    private mutating func parseConcat() throws(RenderFailure) -> Expression {
        let position = currentPosition
        var parts = [try parseMath2()]
        while isOp("~") {
            next()
            parts.append(try parseMath2())
        }
        return parts.count == 1 ? parts[0] : .concat(parts, position)
    }

    private mutating func parseMath2() throws(RenderFailure) -> Expression {
        var left = try parsePow()
        while case .op(let o) = current.kind, let op = BinaryOperator(rawValue: o),
            op == .multiply || op == .divide || op == .floorDivide || op == .modulo
        {
            let position = currentPosition
            next()
            left = .binary(op, left, try parsePow(), position)
        }
        return left
    }

    private mutating func parsePow() throws(RenderFailure) -> Expression {
        var left = try parseUnary()
        while isOp("**") {
            let position = currentPosition
            next()
            left = .binary(.power, left, try parseUnary(), position)
        }
        return left
    }

    private mutating func parseUnary(withFilter: Bool = true) throws(RenderFailure) -> Expression {
        try enter()
        defer { depth -= 1 }
        let position = currentPosition
        var node: Expression
        if isOp("-") {
            next()
            node = .negate(try parseUnary(withFilter: false), position)
        } else if isOp("+") {
            next()
            node = .plus(try parseUnary(withFilter: false), position)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpression(node) }
        return node
    }

    private mutating func parsePrimary() throws(RenderFailure) -> Expression {
        let token = current
        switch token.kind {
        case .name(let name):
            next()
            switch name {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default:
                if !macroReferences.isEmpty { macroReferences[macroReferences.count - 1].insert(name) }
                if !declared.contains(where: { $0.contains(name) }) && !Parser.implicitNames.contains(name) {
                    referencedVariables.insert(name)
                }
                return .name(symbol(name), token.position)
            }
        case .string(var text):
            next()
            while case .string(let more) = current.kind {
                text += more
                next()
            }
            return .literal(.string(text))
        case .integer(let i):
            next()
            return .literal(.int(i))
        case .float(let d):
            next()
            return .literal(.double(d))
        case .op("("):
            next()
            let inner = try parseTuple(withConditional: true, explicitParentheses: true)
            try expectOp(")")
            return inner
        case .op("["):
            next()
            var items: [Expression] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            next()
            return .list(items)
        case .op("{"):
            next()
            var items: [(key: Expression, value: Expression)] = []
            while !isOp("}") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                items.append((key, try parseExpression()))
            }
            next()
            return .dict(items)
        default:
            throw fail("unexpected '\(describe(token))', expected an expression")
        }
    }

    /// Names that are never template inputs: loop and macro machinery, and the environment's globals.
    static let implicitNames: Set<String> = [
        "loop", "varargs", "kwargs", "caller", "range", "namespace", "dict", "raise_exception", "strftime_now",
        "cycler", "joiner", "lipsum"
    ]

    private mutating func parsePostfix(_ start: Expression) throws(RenderFailure) -> Expression {
        var node = start
        while true {
            if isOp(".") || isOp("[") {
                node = try parseSubscript(node)
            } else if isOp("(") {
                node = try parseCall(node)
            } else {
                return node
            }
        }
    }

    private mutating func parseFilterExpression(_ start: Expression) throws(RenderFailure) -> Expression {
        var node = start
        while true {
            if isOp("|") {
                next()
                node = .filter(node, try parseFilterCall())
            } else if isName("is") {
                next()
                node = try parseTest(node)
            } else if isOp("(") {
                node = try parseCall(node)
            } else {
                return node
            }
        }
    }

    private mutating func parseSubscript(_ node: Expression) throws(RenderFailure) -> Expression {
        let position = currentPosition
        if isOp(".") {
            next()
            switch current.kind {
            case .name(let attribute):
                next()
                return .attribute(node, attribute, position)
            case .integer(let i):
                next()
                return .item(node, .literal(.int(i)), position)
            default:
                throw fail("expected name or number")
            }
        }
        next()  // [
        var subscripts: [Expression] = []
        var isTuple = false
        while !isOp("]") {
            if !subscripts.isEmpty { try expectOp(","); isTuple = true }
            if isOp("]") { break }
            subscripts.append(try parseSubscribed(node, position))
        }
        next()
        guard !subscripts.isEmpty else { throw fail("expected subscript expression", at: position) }
        if case .slice = subscripts[0], subscripts.count == 1 { return subscripts[0] }
        return .item(node, isTuple ? .tuple(subscripts) : subscripts[0], position)
    }

    private mutating func parseSubscribed(
        _ node: Expression, _ position: SourcePosition
    ) throws(RenderFailure) -> Expression {
        var start: Expression?
        if !isOp(":") {
            start = try parseExpression()
            guard isOp(":") else { return start! }
        }
        next()
        var stop: Expression?
        var step: Expression?
        if !isOp("]") && !isOp(",") && !isOp(":") { stop = try parseExpression() }
        if isOp(":") {
            next()
            if !isOp("]") && !isOp(",") { step = try parseExpression() }
        }
        return .slice(node, start: start, stop: stop, step: step, position)
    }

    private mutating func parseArguments() throws(RenderFailure) -> [Argument] {
        try expectOp("(")
        var arguments: [Argument] = []
        while !isOp(")") {
            if !arguments.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            if isOp("**") {
                next()
                arguments.append(Argument(kind: .doubleStar, value: try parseExpression()))
            } else if isOp("*") {
                next()
                arguments.append(Argument(kind: .star, value: try parseExpression()))
            } else if let name = currentName, case .op("=") = peek().kind {
                next(); next()
                arguments.append(Argument(kind: .keyword(name), value: try parseExpression()))
            } else {
                arguments.append(Argument(kind: .positional, value: try parseExpression()))
            }
        }
        next()
        return arguments
    }

    private mutating func parseCall(_ node: Expression) throws(RenderFailure) -> Expression {
        let position = currentPosition
        return .call(node, try parseArguments(), position)
    }

    private mutating func parseDottedName() throws(RenderFailure) -> String {
        var name = try expectIdentifier()
        while isOp("."), case .name(let more) = peek().kind {
            next(); next()
            name += "." + more
        }
        return name
    }

    private mutating func parseFilterCall() throws(RenderFailure) -> FilterCall {
        let position = currentPosition
        let name = try parseDottedName()
        let arguments = isOp("(") ? try parseArguments() : []
        let filter = Filter(rawValue: name)
        if filter == nil && !soft {
            pendingUnknown.append(RenderFailure(.unknownFilter, "No filter named '\(name)'.", at: position))
        }
        return FilterCall(filter: filter, name: name, arguments: arguments, position: position)
    }

    private mutating func parseTest(_ node: Expression) throws(RenderFailure) -> Expression {
        let position = currentPosition
        var negated = false
        if isName("not") {
            next()
            negated = true
        }
        let name = try parseDottedName()
        var arguments: [Argument] = []
        if isOp("(") {
            arguments = try parseArguments()
        } else {
            let startsArgument: Bool
            switch current.kind {
            case .name(let n): startsArgument = !["else", "or", "and"].contains(n)
            case .string, .integer, .float, .op("("), .op("["), .op("{"): startsArgument = true
            default: startsArgument = false
            }
            if startsArgument {
                if isName("is") { throw fail("You cannot chain multiple tests with is") }
                var argument = try parsePrimary()
                argument = try parsePostfix(argument)
                arguments = [Argument(kind: .positional, value: argument)]
            }
        }
        let test = TestName(rawValue: name)
        if test == nil && !soft {
            pendingUnknown.append(RenderFailure(.unknownTest, "No test named '\(name)'.", at: position))
        }
        return .test(node, TestCall(test: test, name: name, arguments: arguments, position: position), negated: negated)
    }
}

extension Token.Kind {
    static func == (lhs: Token.Kind, rhs: Token.Kind) -> Bool {
        switch (lhs, rhs) {
        case (.variableBegin, .variableBegin), (.variableEnd, .variableEnd), (.blockBegin, .blockBegin),
            (.blockEnd, .blockEnd), (.end, .end):
            return true
        case (.name(let a), .name(let b)), (.op(let a), .op(let b)), (.string(let a), .string(let b)),
            (.text(let a), .text(let b)):
            return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.float(let a), .float(let b)): return a == b
        default: return false
        }
    }
}
