import JSON

/// Crossing between the `JSON` module's values and template values, and `tojson`.
extension Value {
    /// A JSON document as the Python object `json.load` would give: a repeated key keeps its first position and
    /// its last value.
    init(_ json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let items): self = .list(ListBox(items.map(Value.init)))
        case .object(let members):
            var keys: [Value] = []
            var values: [Value] = []
            keys.reserveCapacity(members.count)
            values.reserveCapacity(members.count)
            for member in members {
                // String keys are always hashable; only a repeated key needs the dict rule.
                if let seen = members.count > 1 ? try? DictBuilder.scan(keys, for: .string(member.key)) : nil {
                    values[seen] = Value(member.value)
                } else {
                    keys.append(.string(member.key))
                    values.append(Value(member.value))
                }
            }
            self = .dict(DictBox(DictBuilder(keys: keys, values: values)))
        }
    }
}

extension Interpreter {
    /// transformers' `tojson`: `json.dumps(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`.
    func toJSON(_ value: Value, _ arguments: Arguments) throws(RenderFailure) -> String {
        let ensureASCII = arguments.value(0, "ensure_ascii")?.isTruthy ?? false
        var indent: String?
        if let v = arguments.value(1, "indent") {
            switch v {
            case .none: indent = nil
            case .string(let s), .markup(let s): indent = s
            default:
                guard let n = v.integerIndex else { throw RenderFailure(.type, "indent must be an int or a str") }
                indent = String(repeating: " ", count: max(0, n))
            }
        }
        var separators: (item: String, key: String)?
        if let v = arguments.value(2, "separators"), !{ if case .none = v { true } else { false } }() {
            let parts = try iterate(v)
            guard parts.count == 2, let item = parts[0].stringValue, let key = parts[1].stringValue else {
                throw RenderFailure(.type, "separators must be a pair of strings")
            }
            separators = (item, key)
        }
        var writer = ValueJSONWriter(
            text: PythonJSONText(ensureASCII: ensureASCII, indent: indent, separators: separators),
            sortKeys: arguments.value(3, "sort_keys")?.isTruthy ?? false)
        try writer.write(value, level: 0)
        try checkStringSize(writer.text.bytes.count, at: nil)
        return writer.text.text
    }
}

/// `json.dumps` over template values, written directly (no conversion to `JSONValue` first).
private struct ValueJSONWriter {
    var text: PythonJSONText
    let sortKeys: Bool

    /// Python's conversion of a dict key to a JSON key.
    func key(_ value: Value) throws(RenderFailure) -> String {
        switch value {
        case .string(let s), .markup(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return PythonFormat.jsonFloat(d)
        case .bool(let b): return b ? "true" : "false"
        case .none: return "null"
        default: throw RenderFailure(.type, "keys must be str, int, float, bool or None, not \(value.typeName)")
        }
    }

    mutating func write(_ value: Value, level: Int) throws(RenderFailure) {
        guard level < 500 else {
            throw RenderFailure(.limit, "maximum recursion depth exceeded while encoding a JSON object")
        }
        switch value {
        case .none: text.null()
        case .bool(let b): text.bool(b)
        case .int(let i): text.int(i)
        case .double(let d): text.double(d)
        case .string(let s), .markup(let s): text.string(s)
        case .list(let box) where box.kind == .list || box.kind == .tuple:
            guard !box.items.isEmpty else { return text.empty(.array) }
            text.open(.array)
            for (i, item) in box.items.enumerated() {
                text.member(i, level: level)
                try write(item, level: level + 1)
            }
            text.close(.array, level: level)
        case .dict(let dict):
            guard dict.count > 0 else { return text.empty(.object) }
            var order = Array(0..<dict.count)
            if sortKeys {
                var keys: [String] = []
                for k in dict.keys {
                    guard let s = k.stringValue else {
                        throw RenderFailure(.type, "'<' not supported between instances of '\(k.typeName)' and 'str'")
                    }
                    keys.append(s)
                }
                order.sort { keys[$0].utf8.lexicographicallyPrecedes(keys[$1].utf8) }
            }
            text.open(.object)
            for (n, i) in order.enumerated() {
                text.member(n, level: level)
                text.key(try key(dict.keys[i]))
                try write(dict.values[i], level: level + 1)
            }
            text.close(.object, level: level)
        default:
            throw RenderFailure(.type, "Object of type \(value.typeName) is not JSON serializable")
        }
    }
}
