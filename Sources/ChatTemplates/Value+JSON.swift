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
        var itemSeparator = indent == nil ? ", " : ","
        var keySeparator = ": "
        if let v = arguments.value(2, "separators"), !{ if case .none = v { true } else { false } }() {
            let parts = try iterate(v)
            guard parts.count == 2, let item = parts[0].stringValue, let key = parts[1].stringValue else {
                throw RenderFailure(.type, "separators must be a pair of strings")
            }
            itemSeparator = item
            keySeparator = key
        }
        var writer = ValueJSONWriter(ensureASCII: ensureASCII, indent: indent, itemSeparator: itemSeparator,
                                     keySeparator: keySeparator, sortKeys: arguments.value(3, "sort_keys")?.isTruthy ?? false)
        try writer.write(value, level: 0)
        try checkStringSize(writer.output.count, at: nil)
        return String(decoding: writer.output, as: UTF8.self)
    }
}

/// `json.dumps` over template values, written directly (no conversion to `JSONValue` first).
private struct ValueJSONWriter {
    let ensureASCII: Bool
    let indent: String?
    let itemSeparator: String
    let keySeparator: String
    let sortKeys: Bool
    var output: [UInt8] = []

    mutating func append(_ text: String) { output.append(contentsOf: text.utf8) }

    mutating func newline(_ level: Int) {
        guard let indent else { return }
        output.append(0x0A)
        for _ in 0..<level { append(indent) }
    }

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
        guard level < 500 else { throw RenderFailure(.limit, "maximum recursion depth exceeded while encoding a JSON object") }
        switch value {
        case .none: append("null")
        case .bool(let b): append(b ? "true" : "false")
        case .int(let i): append(String(i))
        case .double(let d): append(PythonFormat.jsonFloat(d))
        case .string(let s), .markup(let s): PythonFormat.appendJSONString(s, ensureASCII: ensureASCII, to: &output)
        case .list(let box) where box.kind == .list || box.kind == .tuple:
            guard !box.items.isEmpty else { append("[]"); return }
            output.append(0x5B)
            for (i, item) in box.items.enumerated() {
                if i > 0 { append(itemSeparator) }
                newline(level + 1)
                try write(item, level: level + 1)
            }
            newline(level)
            output.append(0x5D)
        case .dict(let dict):
            guard dict.count > 0 else { append("{}"); return }
            var order = Array(0..<dict.count)
            if sortKeys {
                var keys: [String] = []
                for k in dict.keys {
                    guard let s = k.stringValue else { throw RenderFailure(.type, "'<' not supported between instances of '\(k.typeName)' and 'str'") }
                    keys.append(s)
                }
                order.sort { keys[$0].utf8.lexicographicallyPrecedes(keys[$1].utf8) }
            }
            output.append(0x7B)
            for (n, i) in order.enumerated() {
                if n > 0 { append(itemSeparator) }
                newline(level + 1)
                PythonFormat.appendJSONString(try key(dict.keys[i]), ensureASCII: ensureASCII, to: &output)
                append(keySeparator)
                try write(dict.values[i], level: level + 1)
            }
            newline(level)
            output.append(0x7D)
        default:
            throw RenderFailure(.type, "Object of type \(value.typeName) is not JSON serializable")
        }
    }
}
