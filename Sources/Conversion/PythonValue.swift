import Foundation
import JSON

/// A value as Python's `json.load` or `yaml.safe_load` produces it, for the metadata heuristics that port
/// gguf-py's `metadata.py`. JSON documents are parsed once into ``JSONValue`` and bridged here
/// (``init(json:)``); model-card YAML lands here directly, since YAML has what JSON lacks (dates, sets,
/// non-string keys: ``other``).
indirect enum PythonValue: Equatable, Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case str(String)
    case list([PythonValue])
    /// Ordered pairs; duplicate keys keep the first position and the last value (Python dict).
    case dict([(key: PythonValue, value: PythonValue)])
    /// Anything else Python would hold (dates, big ints, binary, sets…): never usable as a string.
    case other(String)

    static func == (lhs: PythonValue, rhs: PythonValue) -> Bool {
        switch (lhs, rhs) {
        case (.none, .none): true
        case let (.bool(a), .bool(b)): a == b
        case let (.int(a), .int(b)): a == b
        case let (.float(a), .float(b)): a == b || (a.isNaN && b.isNaN)
        case let (.str(a), .str(b)): a == b
        case let (.list(a), .list(b)): a == b
        case let (.dict(a), .dict(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.other(a), .other(b)): a == b
        default: false
        }
    }

    var isNone: Bool { if case .none = self { true } else { false } }

    /// Python truthiness.
    var isTruthy: Bool {
        switch self {
        case .none: false
        case let .bool(b): b
        case let .int(i): i != 0
        case let .float(d): d != 0
        case let .str(s): !s.isEmpty
        case let .list(l): !l.isEmpty
        case let .dict(d): !d.isEmpty
        case .other: true
        }
    }

    var string: String? { if case let .str(s) = self { s } else { nil } }

    /// `key in d` for a dict with string keys.
    func has(_ key: String) -> Bool {
        guard case let .dict(pairs) = self else { return false }
        return pairs.contains { $0.key == .str(key) }
    }

    /// `d.get(key)` (nil when absent; `.none` when present with a null value).
    subscript(key: String) -> PythonValue? {
        guard case let .dict(pairs) = self else { return nil }
        return pairs.last { $0.key == .str(key) }?.value
    }

    /// Short description for error messages.
    var pythonTypeName: String {
        switch self {
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .str: "str"
        case .list: "list"
        case .dict: "dict"
        case let .other(t): t
        }
    }

    static func makeDict(_ pairs: [(PythonValue, PythonValue)]) -> PythonValue {
        var out: [(key: PythonValue, value: PythonValue)] = []
        for (k, v) in pairs {
            if let i = out.firstIndex(where: { $0.key == k }) { out[i].value = v } else { out.append((k, v)) }
        }
        return .dict(out)
    }
}

// MARK: - JSON documents as Python values

extension PythonValue {
    /// What Python's `json.load` gives for a parsed document: a repeated key keeps its first position and
    /// its last value, as a dict does.
    init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let n): self = .int(Int64(n))
        case .double(let d): self = .float(d)
        case .string(let s): self = .str(s)
        case .array(let a): self = .list(a.map(PythonValue.init(json:)))
        case .object(let members):
            self = PythonValue.makeDict(members.map { (.str($0.key), PythonValue(json: $0.value)) })
        }
    }
}
