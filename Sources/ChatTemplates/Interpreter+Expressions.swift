import Foundation

/// Expression evaluation: names, lookups, calls and Python's operators.
extension Interpreter {
    func evaluate(_ expression: Expression) throws(RenderFailure) -> Value {
        switch expression {
        case .literal(let value):
            return value
        case .name(let symbol, _):
            return lookup(symbol)
        case .attribute(let base, let name, let position):
            return try attribute(of: try evaluate(base), name, at: position)
        case .item(let base, let key, let position):
            return try item(of: try evaluate(base), try evaluate(key), at: position)
        case .slice(let base, let start, let stop, let step, let position):
            let value = try evaluate(base)
            if case .undefined(let reason) = value { throw reason.failure.at(position) }
            return try slice(
                value, start: try start.map { e throws(RenderFailure) in try evaluate(e) },
                stop: try stop.map { e throws(RenderFailure) in try evaluate(e) },
                step: try step.map { e throws(RenderFailure) in try evaluate(e) }, at: position)
        case .call(let callee, let argumentExpressions, let position):
            if case .attribute(let base, let name, let attributePosition) = callee {
                let receiver = try evaluate(base)
                let arguments = try evaluateArguments(argumentExpressions)
                if let result = try callMethod(on: receiver, name, arguments, at: position) { return result }
                return try call(try attribute(of: receiver, name, at: attributePosition), arguments, at: position)
            }
            let function = try evaluate(callee)
            return try call(function, try evaluateArguments(argumentExpressions), at: position)
        case .filter(let base, let filter):
            return try applyFilter(filter, to: try evaluate(base))
        case .test(let base, let test, let negated):
            let result = try applyTest(test, to: try evaluate(base))
            return .bool(result != negated)
        case .negate(let operand, let position):
            let value = try evaluate(operand)
            switch value {
            case .int(let i):
                guard i != Int.min else { throw RenderFailure(.limit, "integer overflow", at: position) }
                return .int(-i)
            case .bool(let b): return .int(b ? -1 : 0)
            case .double(let d): return .double(-d)
            case .undefined(let reason): throw reason.failure.at(position)
            default: throw RenderFailure(.type, "bad operand type for unary -: '\(value.typeName)'", at: position)
            }
        case .plus(let operand, let position):
            let value = try evaluate(operand)
            switch value {
            case .int, .double: return value
            case .bool(let b): return .int(b ? 1 : 0)
            case .undefined(let reason): throw reason.failure.at(position)
            default: throw RenderFailure(.type, "bad operand type for unary +: '\(value.typeName)'", at: position)
            }
        case .not(let operand):
            return .bool(!(try evaluate(operand).isTruthy))
        case .and(let left, let right):
            let l = try evaluate(left)
            return l.isTruthy ? try evaluate(right) : l
        case .or(let left, let right):
            let l = try evaluate(left)
            return l.isTruthy ? l : try evaluate(right)
        case .binary(let op, let left, let right, let position):
            return try binary(op, try evaluate(left), try evaluate(right), at: position)
        case .compare(let first, let operations, let position):
            var left = try evaluate(first)
            for operation in operations {
                let right = try evaluate(operation.rhs)
                guard try compare(operation.op, left, right, at: position) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .concat(let parts, let position):
            var text = ""
            for part in parts {
                let value = try evaluate(part)
                switch value {
                case .string(let s), .markup(let s): text += s
                default: text += try value.pythonString()
                }
                try checkStringSize(text.utf8.count, at: position)
            }
            return .string(text)
        case .conditional(let test, let then, let otherwise, let position):
            if try evaluate(test).isTruthy { return try evaluate(then) }
            if let otherwise { return try evaluate(otherwise) }
            return .undefined(UndefinedReason(.inlineIf(line: position.line)))
        case .list(let items):
            var values: [Value] = []
            values.reserveCapacity(items.count)
            for item in items { values.append(try evaluate(item)) }
            return .list(ListBox(values))
        case .tuple(let items):
            var values: [Value] = []
            for item in items { values.append(try evaluate(item)) }
            return .list(ListBox(values, kind: .tuple))
        case .dict(let pairs):
            var dict = DictBuilder(capacity: pairs.count)
            for pair in pairs { try dict.set(try evaluate(pair.key), try evaluate(pair.value)) }
            return .dict(DictBox(dict))
        }
    }

    func evaluateArguments(_ expressions: [Argument]) throws(RenderFailure) -> Arguments {
        var arguments = Arguments()
        for argument in expressions {
            switch argument.kind {
            case .positional: arguments.positional.append(try evaluate(argument.value))
            case .keyword(let name): arguments.keywords.append((name, try evaluate(argument.value)))
            case .star: arguments.positional.append(contentsOf: try evaluate(argument.value).iterated())
            case .doubleStar:
                guard case .dict(let dict) = try evaluate(argument.value) else {
                    throw RenderFailure(.type, "argument after ** must be a mapping", at: statementPosition)
                }
                for i in 0..<dict.count {
                    guard let key = dict.keys[i].stringValue else {
                        throw RenderFailure(.type, "keywords must be strings")
                    }
                    arguments.keywords.append((key, dict.values[i]))
                }
            }
        }
        return arguments
    }

    func checkStringSize(_ bytes: Int, at position: SourcePosition?) throws(RenderFailure) {
        if bytes > options.limits.maxStringBytes {
            throw RenderFailure(.limit, "string longer than \(options.limits.maxStringBytes) bytes", at: position)
        }
    }

    // MARK: - Lookup

    /// `a.b`: the Python attribute (a method) first, then the item, as jinja2's sandboxed `getattr` does.
    func attribute(of value: Value, _ name: String, at position: SourcePosition) throws(RenderFailure) -> Value {
        // The sandbox refuses Python attributes starting with `_`: dunders exist on every object, and a
        // namespace's names are attributes. A dict has no `_x` attribute, so `d._x` falls back to the key.
        if name.hasPrefix("_") {
            if case .undefined(let reason) = value { throw reason.failure.at(position) }
            var isNamespace = false
            if case .namespace = value { isNamespace = true }
            if name.hasPrefix("__") || isNamespace {
                return .undefined(
                    UndefinedReason(.unsafe("access to attribute '\(name)' of '\(value.typeName)' object is unsafe.")))
            }
        }
        switch value {
        case .undefined(let reason):
            throw reason.failure.at(position)
        case .dict(let dict):
            if Interpreter.isDictMethod(name) { return methodValue(value, name) }
            if let found = dict.value(forString: name) { return found }
            return .undefined(UndefinedReason(.missingAttribute(owner: "dict object", name: name)))
        case .string, .markup:
            if Interpreter.isStringMethod(name) { return methodValue(value, name) }
            return .undefined(UndefinedReason(.missingAttribute(owner: "str object", name: name)))
        case .list(let box):
            if box.kind == .list || box.kind == .tuple, Interpreter.isListMethod(name) {
                return methodValue(value, name)
            }
            return .undefined(UndefinedReason(.missingAttribute(owner: "\(value.typeName) object", name: name)))
        case .namespace(let ns):
            return ns.get(name) ?? .undefined(UndefinedReason(.missingAttribute(owner: "Namespace object", name: name)))
        case .object(let object):
            if let found = object.attribute(name) { return found }
            if ["cycle", "changed", "next", "reset", "current"].contains(name) {
                return .callable(Callable(.method(receiver: value, name: name)))
            }
            return .undefined(UndefinedReason(.missingAttribute(owner: "\(object.typeName) object", name: name)))
        case .none:
            return .undefined(UndefinedReason(.missingAttribute(owner: "None", name: name)))
        default:
            return .undefined(UndefinedReason(.missingAttribute(owner: "\(value.typeName) object", name: name)))
        }
    }

    private func methodValue(_ receiver: Value, _ name: String) -> Value {
        if Interpreter.isMutatingMethod(name) {
            return .undefined(
                UndefinedReason(.unsafe("access to attribute '\(name)' of '\(receiver.typeName)' object is unsafe.")))
        }
        return .callable(Callable(.method(receiver: receiver, name: name)))
    }

    /// `a[b]`: the item first, then (for a string key) the attribute.
    func item(of value: Value, _ key: Value, at position: SourcePosition) throws(RenderFailure) -> Value {
        switch value {
        case .undefined(let reason):
            throw reason.failure.at(position)
        case .dict(let dict):
            if let found = try? dict.value(for: key) { return found }
        case .list(let box) where box.kind == .list || box.kind == .tuple:
            if let index = key.integerIndex {
                let i = index < 0 ? index + box.items.count : index
                if i >= 0 && i < box.items.count { return box.items[i] }
                return .undefined(UndefinedReason(.message("'\(value.typeName) object' has no element \(index)")))
            }
        case .string(let s), .markup(let s):
            if let index = key.integerIndex {
                let scalars = s.unicodeScalars
                let count = scalars.count
                let i = index < 0 ? index + count : index
                if i >= 0 && i < count {
                    let character = String(scalars[scalars.index(scalars.startIndex, offsetBy: i)])
                    if case .markup = value { return .markup(character) }
                    return .string(character)
                }
                return .undefined(UndefinedReason(.message("'str object' has no element \(index)")))
            }
        default:
            break
        }
        if let name = key.stringValue { return try attribute(of: value, name, at: position) }
        return .undefined(
            UndefinedReason(.missingItem(owner: "\(value.typeName) object", key: (try? key.pythonString()) ?? "?")))
    }

    func slice(
        _ value: Value, start: Value?, stop: Value?, step: Value?, at position: SourcePosition
    ) throws(RenderFailure) -> Value {
        func bound(_ v: Value?) throws(RenderFailure) -> Int? {
            guard let v else { return nil }
            if case .none = v { return nil }
            guard let i = v.integerIndex else {
                throw RenderFailure(
                    .type, "slice indices must be integers or None or have an __index__ method", at: position)
            }
            return i
        }
        let stepValue = try bound(step) ?? 1
        guard stepValue != 0 else { throw RenderFailure(.type, "slice step cannot be zero", at: position) }
        let startValue = try bound(start)
        let stopValue = try bound(stop)
        func indices(count: Int) -> [Int] {
            var lo: Int
            var hi: Int
            if stepValue > 0 {
                lo = startValue.map { $0 < 0 ? max(0, $0 + count) : min($0, count) } ?? 0
                hi = stopValue.map { $0 < 0 ? max(0, $0 + count) : min($0, count) } ?? count
                return lo < hi ? Array(stride(from: lo, to: hi, by: stepValue)) : []
            }
            lo = startValue.map { $0 < 0 ? max(-1, $0 + count) : min($0, count - 1) } ?? (count - 1)
            hi = stopValue.map { $0 < 0 ? max(-1, $0 + count) : min($0, count - 1) } ?? -1
            return lo > hi ? Array(stride(from: lo, to: hi, by: stepValue)) : []
        }
        switch value {
        case .list(let box) where box.kind == .list || box.kind == .tuple:
            let items = box.items
            if stepValue == 1 {
                let picked = indices(count: items.count)
                guard let first = picked.first, let last = picked.last else {
                    return .list(ListBox([], kind: box.kind))
                }
                return .list(ListBox(Array(items[first...last]), kind: box.kind))
            }
            return .list(ListBox(indices(count: items.count).map { items[$0] }, kind: box.kind))
        case .string(let s), .markup(let s):
            let scalars = Array(s.unicodeScalars)
            let text = PythonText.string(indices(count: scalars.count).lazy.map { scalars[$0] })
            if case .markup = value { return .markup(text) }
            return .string(text)
        default:
            return .undefined(UndefinedReason(.message("'\(value.typeName)' object is not subscriptable")))
        }
    }

    // MARK: - Calls

    func call(_ function: Value, _ arguments: Arguments, at position: SourcePosition) throws(RenderFailure) -> Value {
        switch function {
        case .callable(let callable):
            switch callable.kind {
            case .macro(let macro): return try callMacro(macro, arguments, at: position)
            case .global(let global): return try callGlobal(global, arguments, at: position)
            case .method(let receiver, let name):
                if let result = try callMethod(on: receiver, name, arguments, at: position) { return result }
                throw RenderFailure(.type, "'\(receiver.typeName)' object has no attribute '\(name)'", at: position)
            case .caller(let body): return try callCaller(callable, body, arguments, at: position)
            }
        case .undefined(let reason):
            throw reason.failure.at(position)
        case .object(let object):
            if let result = try object.call(method: "__call__", arguments: arguments, interpreter: self) {
                return result
            }
            throw RenderFailure(.type, "'\(function.typeName)' object is not callable", at: position)
        default:
            throw RenderFailure(.type, "'\(function.typeName)' object is not callable", at: position)
        }
    }

    // MARK: - Operators

    func binary(
        _ op: BinaryOperator, _ left: Value, _ right: Value, at position: SourcePosition
    ) throws(RenderFailure) -> Value {
        if case .undefined(let reason) = left { throw reason.failure.at(position) }
        if case .undefined(let reason) = right { throw reason.failure.at(position) }
        func unsupported() -> RenderFailure {
            RenderFailure(
                .type, "unsupported operand type(s) for \(op.rawValue): '\(left.typeName)' and '\(right.typeName)'",
                at: position)
        }
        if let a = left.numericValue, let b = right.numericValue {
            return try arithmetic(op, a, b, at: position)
        }
        switch op {
        case .add:
            switch (left, right) {
            case (.string(let a), .string(let b)):
                try checkStringSize(a.utf8.count + b.utf8.count, at: position)
                return .string(a + b)
            case (.markup(let a), .string(let b)):
                return .markup(a + PythonText.htmlEscape(b))
            case (.string(let a), .markup(let b)):
                return .markup(PythonText.htmlEscape(a) + b)
            case (.markup(let a), .markup(let b)):
                return .markup(a + b)
            case (.list(let a), .list(let b)) where a.kind == b.kind && (a.kind == .list || a.kind == .tuple):
                try checkStringSize((a.items.count + b.items.count) * 8, at: position)
                return .list(ListBox(a.items + b.items, kind: a.kind))
            case (.string, _), (.markup, _):
                throw RenderFailure(.type, "can only concatenate str (not \"\(right.typeName)\") to str", at: position)
            case (.list(let a), _) where a.kind == .list || a.kind == .tuple:
                throw RenderFailure(
                    .type, "can only concatenate \(left.typeName) (not \"\(right.typeName)\") to \(left.typeName)",
                    at: position)
            default:
                throw unsupported()
            }
        case .multiply:
            var sequence = left
            var countValue = right
            if left.numericValue != nil { (sequence, countValue) = (right, left) }
            guard
                case .int(let raw)? = countValue.numericValue.map({ n -> Value in
                    if case .int(let i) = n { .int(i) } else { .none }
                })
            else {
                if sequence.stringValue != nil || { if case .list = sequence { true } else { false } }() {
                    throw RenderFailure(
                        .type, "can't multiply sequence by non-int of type '\(countValue.typeName)'", at: position)
                }
                throw unsupported()
            }
            let count = max(0, raw)
            switch sequence {
            case .string(let s), .markup(let s):
                let (total, overflow) = s.utf8.count.multipliedReportingOverflow(by: count)
                if overflow { throw RenderFailure(.limit, "repeated string too long", at: position) }
                try checkStringSize(total, at: position)
                let repeated = String(repeating: s, count: count)
                if case .markup = sequence { return .markup(repeated) }
                return .string(repeated)
            case .list(let box) where box.kind == .list || box.kind == .tuple:
                let (total, overflow) = box.items.count.multipliedReportingOverflow(by: count)
                if overflow { throw RenderFailure(.limit, "repeated list too long", at: position) }
                try checkStringSize(total * 8, at: position)
                var items: [Value] = []
                items.reserveCapacity(total)
                for _ in 0..<count { items.append(contentsOf: box.items) }
                return .list(ListBox(items, kind: box.kind))
            default:
                throw unsupported()
            }
        case .modulo:
            if let format = left.stringValue {
                let result = try percentFormat(format, right, at: position)
                if case .markup = left { return .markup(result) }
                return .string(result)
            }
            throw unsupported()
        default:
            throw unsupported()
        }
    }

    private func arithmetic(
        _ op: BinaryOperator, _ a: Number, _ b: Number, at position: SourcePosition
    ) throws(RenderFailure) -> Value {
        func overflow() -> RenderFailure { RenderFailure(.limit, "integer overflow", at: position) }
        if case .int(let x) = a, case .int(let y) = b {
            switch op {
            case .add:
                let (r, o) = x.addingReportingOverflow(y)
                if o { throw overflow() }
                return .int(r)
            case .subtract:
                let (r, o) = x.subtractingReportingOverflow(y)
                if o { throw overflow() }
                return .int(r)
            case .multiply:
                let (r, o) = x.multipliedReportingOverflow(by: y)
                if o { throw overflow() }
                return .int(r)
            case .divide:
                guard y != 0 else { throw RenderFailure(.type, "division by zero", at: position) }
                return .double(Double(x) / Double(y))
            case .floorDivide:
                guard y != 0 else { throw RenderFailure(.type, "integer division or modulo by zero", at: position) }
                if x == Int.min && y == -1 { throw overflow() }
                let q = x / y
                return .int((x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q)
            case .modulo:
                guard y != 0 else { throw RenderFailure(.type, "integer division or modulo by zero", at: position) }
                if y == -1 { return .int(0) }
                let r = x % y
                return .int(r != 0 && (r < 0) != (y < 0) ? r + y : r)
            case .power:
                if y < 0 { return .double(pow(Double(x), Double(y))) }
                var result = 1
                var base = x
                var exponent = y
                while exponent > 0 {
                    if exponent & 1 == 1 {
                        let (r, o) = result.multipliedReportingOverflow(by: base)
                        if o { throw overflow() }
                        result = r
                    }
                    exponent >>= 1
                    if exponent > 0 {
                        let (sq, o) = base.multipliedReportingOverflow(by: base)
                        if o { throw overflow() }
                        base = sq
                    }
                }
                return .int(result)
            }
        }
        let x = a.asDouble
        let y = b.asDouble
        switch op {
        case .add: return .double(x + y)
        case .subtract: return .double(x - y)
        case .multiply: return .double(x * y)
        case .divide:
            guard y != 0 else { throw RenderFailure(.type, "float division by zero", at: position) }
            return .double(x / y)
        case .floorDivide:
            guard y != 0 else { throw RenderFailure(.type, "float floor division by zero", at: position) }
            return .double((x / y).rounded(.down))
        case .modulo:
            guard y != 0 else { throw RenderFailure(.type, "float modulo", at: position) }
            var r = fmod(x, y)
            if r != 0 && (r < 0) != (y < 0) { r += y }
            return .double(r)
        case .power:
            return .double(pow(x, y))
        }
    }

    func compare(
        _ op: CompareOperator, _ left: Value, _ right: Value, at position: SourcePosition
    ) throws(RenderFailure) -> Bool {
        do {
            switch op {
            case .equal: return pythonEquals(left, right)
            case .notEqual: return !pythonEquals(left, right)
            case .less: return try pythonLess(left, right, op: "<")
            case .greater: return try pythonLess(right, left, op: ">")
            case .lessEqual: return try !pythonLess(right, left, op: "<=")
            case .greaterEqual: return try !pythonLess(left, right, op: ">=")
            case .contains: return try contains(right, left)
            case .notContains: return try !contains(right, left)
            }
        } catch {
            throw error.at(position)
        }
    }

    /// Python `needle in container`.
    func contains(_ container: Value, _ needle: Value) throws(RenderFailure) -> Bool {
        switch container {
        case .string(let s), .markup(let s):
            guard let n = needle.stringValue else {
                if case .undefined(let reason) = needle { throw reason.failure }
                throw RenderFailure(.type, "'in <string>' requires string as left operand, not \(needle.typeName)")
            }
            return n.isEmpty || PythonText.find(s, n) >= 0
        case .list(let box):
            return box.items.contains { pythonEquals($0, needle) }
        case .dict(let dict):
            return try dict.position(of: needle) != nil
        case .undefined:
            return false
        default:
            throw RenderFailure(.type, "argument of type '\(container.typeName)' is not iterable")
        }
    }
}

extension RenderFailure {
    /// The same failure, placed at `position` unless it already has a place.
    func at(_ position: SourcePosition) -> RenderFailure {
        var copy = self
        if copy.position == nil || copy.position?.line == 0 { copy.position = position }
        return copy
    }
}

extension Value {
    /// The value as a Python sequence index (`int`, or `bool`).
    var integerIndex: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
}
