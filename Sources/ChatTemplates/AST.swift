/// Expressions, parsed once. Names are resolved to symbol numbers and filters/tests to enum cases at parse
/// time, so rendering does no string lookups for them.
indirect enum Expression {
    case literal(Value)
    case name(Symbol, SourcePosition)
    case list([Expression])
    case tuple([Expression])
    case dict([(key: Expression, value: Expression)])
    /// `a.b`: Python attribute first, then the key.
    case attribute(Expression, String, SourcePosition)
    /// `a[b]`: the key first, then the attribute.
    case item(Expression, Expression, SourcePosition)
    case slice(Expression, start: Expression?, stop: Expression?, step: Expression?, SourcePosition)
    case call(Expression, [Argument], SourcePosition)
    case filter(Expression, FilterCall)
    case test(Expression, TestCall, negated: Bool)
    case negate(Expression, SourcePosition)
    case plus(Expression, SourcePosition)
    case not(Expression)
    case and(Expression, Expression)
    case or(Expression, Expression)
    case binary(BinaryOperator, Expression, Expression, SourcePosition)
    case compare(Expression, [(op: CompareOperator, rhs: Expression)], SourcePosition)
    /// `a ~ b ~ c`: `str()` of each, joined.
    case concat([Expression], SourcePosition)
    case conditional(test: Expression, then: Expression, otherwise: Expression?, SourcePosition)
}

enum BinaryOperator: String {
    case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", modulo = "%", power = "**"
}

enum CompareOperator: String {
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case contains = "in", notContains = "not in"
}

struct Argument {
    enum Kind {
        case positional
        case keyword(String)
        case star
        case doubleStar
    }

    var kind: Kind
    var value: Expression
}

/// A resolved filter application: `name` is kept for messages and for filters unknown at parse time.
struct FilterCall {
    var filter: Filter?
    var name: String
    var arguments: [Argument]
    var position: SourcePosition
}

struct TestCall {
    var test: TestName?
    var name: String
    var arguments: [Argument]
    var position: SourcePosition
}

/// A variable name interned per template.
struct Symbol: Hashable {
    var id: Int
    var name: String

    static func == (a: Symbol, b: Symbol) -> Bool { a.id == b.id }
    func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// The left side of `set` and `for`: a name, `ns.attr`, or a tuple of targets.
indirect enum AssignTarget {
    case name(Symbol)
    case attribute(Expression, String, SourcePosition)
    case tuple([AssignTarget], SourcePosition)
}

/// Statements.
indirect enum Node {
    case text(String)
    case output(Expression, SourcePosition)
    case conditional([(test: Expression, body: [Node])], otherwise: [Node])
    case loop(ForLoop)
    case assign(AssignTarget, Expression, SourcePosition)
    case assignBlock(AssignTarget, body: [Node], filters: [FilterCall], SourcePosition)
    case macro(MacroDefinition)
    case callBlock(CallBlockBody, call: Expression, SourcePosition)
    case filterBlock(body: [Node], filters: [FilterCall])
    case with(assignments: [(AssignTarget, Expression)], body: [Node])
    case breakLoop
    case continueLoop
}

final class ForLoop {
    let target: AssignTarget
    let iterable: Expression
    let condition: Expression?
    let body: [Node]
    let otherwise: [Node]
    let recursive: Bool
    let usesLoop: Bool
    let position: SourcePosition

    init(
        target: AssignTarget, iterable: Expression, condition: Expression?, body: [Node], otherwise: [Node],
        recursive: Bool, usesLoop: Bool, position: SourcePosition
    ) {
        self.target = target
        self.iterable = iterable
        self.condition = condition
        self.body = body
        self.otherwise = otherwise
        self.recursive = recursive
        self.usesLoop = usesLoop
        self.position = position
    }
}

final class MacroDefinition {
    let name: String
    let symbol: Symbol
    let parameters: [(symbol: Symbol, defaultValue: Expression?)]
    let body: [Node]
    let position: SourcePosition
    /// Whether the body reads `varargs`, `kwargs` or `caller`, which decide what extra arguments are accepted.
    let usesVarargs: Bool
    let usesKwargs: Bool
    let usesCaller: Bool

    init(
        name: String, symbol: Symbol, parameters: [(symbol: Symbol, defaultValue: Expression?)], body: [Node],
        position: SourcePosition, usesVarargs: Bool, usesKwargs: Bool, usesCaller: Bool
    ) {
        self.name = name
        self.symbol = symbol
        self.parameters = parameters
        self.body = body
        self.position = position
        self.usesVarargs = usesVarargs
        self.usesKwargs = usesKwargs
        self.usesCaller = usesCaller
    }
}

/// The body of a `{% call %}` block, callable from the macro as `caller(...)`.
final class CallBlockBody {
    let parameters: [(symbol: Symbol, defaultValue: Expression?)]
    let body: [Node]

    init(parameters: [(symbol: Symbol, defaultValue: Expression?)], body: [Node]) {
        self.parameters = parameters
        self.body = body
    }
}
