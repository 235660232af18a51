import Foundation

/// A run-time value, modelled on the Python objects jinja2 handles.
///
/// Collections are reference-backed (`ListBox`, `DictBox`) and immutable once built, as in jinja2's immutable
/// sandbox, so passing `messages` around or reading `message['content']` never copies a dictionary.
enum Value {
    /// jinja2's default `Undefined`; `reason` is what gets raised when the value is used for more than
    /// printing, testing or iterating.
    case undefined(UndefinedReason)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// A `Markup` string (from `|safe`): concatenating a plain string to it HTML-escapes that string.
    case markup(String)
    case list(ListBox)
    case dict(DictBox)
    case namespace(NamespaceBox)
    case callable(Callable)
    /// Objects with attributes and methods of their own: `loop`, `cycler()`, `joiner()`.
    case object(TemplateObject)

    static var emptyString: Value { .string("") }

    static func undefined(name: String) -> Value { .undefined(UndefinedReason(.missingName(name))) }
}

/// Why a value is undefined, kept lazily so that probing `x is defined` costs no string formatting.
final class UndefinedReason {
    enum Cause {
        case missingName(String)
        case missingAttribute(owner: String, name: String)
        case missingItem(owner: String, key: String)
        case message(String)
        case unsafe(String)
        case inlineIf(line: Int32)
    }

    let cause: Cause

    init(_ cause: Cause) { self.cause = cause }

    /// The error raised when the undefined value is used (jinja2's `UndefinedError` text, or the sandbox's
    /// `SecurityError` for a refused attribute such as `append`).
    var failure: RenderFailure {
        switch cause {
        case .missingName(let name): return RenderFailure(.undefined, "'\(name)' is undefined")
        case .missingAttribute(let owner, let name):
            return RenderFailure(.undefined, "'\(owner)' has no attribute '\(name)'")
        case .missingItem(let owner, let key): return RenderFailure(.undefined, "'\(owner)' has no attribute '\(key)'")
        case .message(let text): return RenderFailure(.undefined, text)
        case .inlineIf(let line):
            return RenderFailure(
                .undefined,
                "the inline if-expression on line \(line) evaluated to false and no else section was defined.")
        case .unsafe(let text): return RenderFailure(.security, text)
        }
    }
}

/// What a list-like value is in Python, which decides how it prints, compares and serializes.
enum SequenceKind {
    case list
    case tuple
    /// A lazy result of `map`, `select`, `items`...: iterable, but no `len`, no indexing, no JSON.
    case generator
    case dictItems
    case dictKeys
    case dictValues
}

final class ListBox {
    let items: [Value]
    let kind: SequenceKind

    init(_ items: [Value], kind: SequenceKind = .list) {
        self.items = items
        self.kind = kind
    }
}

/// An insertion-ordered Python dict, immutable once built (the sandbox forbids mutation), so reads need no
/// exclusivity checks. Small dicts (chat messages) are scanned linearly, larger ones get a hash index on first
/// lookup.
final class DictBox {
    let keys: [Value]
    let values: [Value]
    private var index: [HashKey: Int]?

    init(_ builder: DictBuilder = DictBuilder()) {
        keys = builder.keys
        values = builder.values
    }

    var count: Int { keys.count }

    func position(of key: Value) throws(RenderFailure) -> Int? {
        if keys.count <= 12 { return try DictBuilder.scan(keys, for: key) }
        if index == nil {
            var built: [HashKey: Int] = [:]
            for i in keys.indices { if let k = try? HashKey(keys[i]), built[k] == nil { built[k] = i } }
            index = built
        }
        return index?[try HashKey(key)]
    }

    func value(for key: Value) throws(RenderFailure) -> Value? {
        guard let position = try position(of: key) else { return nil }
        return values[position]
    }

    func value(forString key: String) -> Value? {
        if keys.count <= 12 {
            for i in keys.indices {
                if case .string(let k) = keys[i], PythonText.equal(k, key) { return values[i] }
            }
            return nil
        }
        return (try? position(of: .string(key))).flatMap { $0.map { values[$0] } }
    }
}

/// Builds a `DictBox` with Python's `d[key] = value` semantics (a repeated key keeps its first position).
struct DictBuilder {
    var keys: [Value] = []
    var values: [Value] = []

    init(keys: [Value], values: [Value]) {
        self.keys = keys
        self.values = values
    }

    init(capacity: Int = 0) {
        keys.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    static func scan(_ keys: [Value], for key: Value) throws(RenderFailure) -> Int? {
        if case .string(let s) = key {
            for i in keys.indices {
                switch keys[i] {
                case .string(let k), .markup(let k): if PythonText.equal(k, s) { return i }
                default: continue
                }
            }
            return nil
        }
        let hashable = try HashKey(key)
        for i in keys.indices where (try? HashKey(keys[i])) == hashable { return i }
        return nil
    }

    mutating func set(_ key: Value, _ value: Value) throws(RenderFailure) {
        if keys.count > 64 {
            // Long literal or generated dicts: fall back to hashing through a temporary box.
            if let position = try DictBox(self).position(of: key) { values[position] = value; return }
        } else if let position = try DictBuilder.scan(keys, for: key) {
            values[position] = value
            return
        }
        if case .string = key {} else { _ = try HashKey(key) }  // refuses unhashable keys
        keys.append(key)
        values.append(value)
    }
}

/// A dict key as Python hashes it: `1`, `1.0` and `True` are the same key; strings compare by code point.
enum HashKey: Hashable {
    case none
    case int(Int)
    case double(Double)
    case string(String)
    case tuple([HashKey])

    init(_ value: Value) throws(RenderFailure) {
        switch value {
        case .none: self = .none
        case .bool(let b): self = .int(b ? 1 : 0)
        case .int(let i): self = .int(i)
        case .double(let d):
            if d.rounded() == d, let i = Int(exactly: d) { self = .int(i) } else { self = .double(d) }
        case .string(let s), .markup(let s): self = .string(s)
        case .list(let box) where box.kind == .tuple:
            var parts: [HashKey] = []
            for item in box.items { parts.append(try HashKey(item)) }
            self = .tuple(parts)
        default:
            throw RenderFailure(.type, "unhashable type: '\(value.typeName)'")
        }
    }

    static func == (lhs: HashKey, rhs: HashKey) -> Bool {
        switch (lhs, rhs) {
        case (.none, .none): return true
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.string(let a), .string(let b)): return PythonText.equal(a, b)
        case (.tuple(let a), .tuple(let b)): return a == b
        default: return false
        }
    }

    func hash(into hasher: inout Hasher) {
        switch self {
        case .none: hasher.combine(0)
        case .int(let i): hasher.combine(i)
        case .double(let d): hasher.combine(d)
        case .string(let s): hasher.combine(s.utf8.count); for b in s.utf8.prefix(32) { hasher.combine(b) }
        case .tuple(let parts): hasher.combine(parts)
        }
    }
}

/// jinja2's `namespace(...)`: the only mutable object, changed by `{% set ns.attr = value %}`.
final class NamespaceBox {
    var names: [String] = []
    var values: [Value] = []

    func get(_ name: String) -> Value? {
        for i in names.indices where PythonText.equal(names[i], name) { return values[i] }
        return nil
    }

    func set(_ name: String, _ value: Value) {
        for i in names.indices where PythonText.equal(names[i], name) {
            values[i] = value
            return
        }
        names.append(name)
        values.append(value)
    }
}

/// Something a template can call: a macro, a global function, or a method bound to its receiver.
final class Callable {
    enum Kind {
        case macro(MacroDefinition)
        case global(GlobalFunction)
        case method(receiver: Value, name: String)
        /// The `caller()` of a `{% call %}` block.
        case caller(CallBlockBody)
    }

    let kind: Kind
    /// For `caller`: the scope of the `{% call %}` block, which its body sees.
    var capturedFrame: Frame?

    init(_ kind: Kind) { self.kind = kind }
}

/// An object with its own attributes: `loop`, `cycler`, `joiner`.
protocol TemplateObject: AnyObject {
    var typeName: String { get }
    func attribute(_ name: String) -> Value?
    func call(method: String, arguments: Arguments, interpreter: Interpreter) throws(RenderFailure) -> Value?
}

extension Value {
    /// The Python type name used in error messages (`'str'`, `'NoneType'`...).
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .markup: return "Markup"
        case .list(let box):
            switch box.kind {
            case .list: return "list"
            case .tuple: return "tuple"
            case .generator: return "generator"
            case .dictItems: return "dict_items"
            case .dictKeys: return "dict_keys"
            case .dictValues: return "dict_values"
            }
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .callable(let c):
            switch c.kind {
            case .macro: return "Macro"
            case .method: return "builtin_function_or_method"
            default: return "function"
            }
        case .object(let o): return o.typeName
        }
    }

    var isUndefined: Bool { if case .undefined = self { true } else { false } }

    /// Python truthiness.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s), .markup(let s): return !s.isEmpty
        case .list(let box): return box.kind == .generator || !box.items.isEmpty
        case .dict(let box): return box.count > 0
        case .namespace, .callable, .object: return true
        }
    }

    /// The text when this is a string or markup.
    var stringValue: String? {
        switch self {
        case .string(let s), .markup(let s): return s
        default: return nil
        }
    }
}
