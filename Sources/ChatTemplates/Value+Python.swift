import JSON

/// How values print, compare and iterate: Python's `str`, `repr`, `==`, `<`, `len` and `iter`.
extension Value {
    /// Python `str(value)`, what `{{ value }}`, `~` and `|string` produce.
    func pythonString() throws(RenderFailure) -> String {
        switch self {
        case .undefined: return ""
        case .string(let s), .markup(let s): return s
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return PythonFormat.floatRepr(d)
        default:
            var out = ""
            try appendRepr(to: &out, depth: 0)
            return out
        }
    }

    /// Python `repr(value)`: strings quoted, containers recursively.
    func pythonRepr() throws(RenderFailure) -> String {
        var out = ""
        try appendRepr(to: &out, depth: 0)
        return out
    }

    func appendRepr(to out: inout String, depth: Int) throws(RenderFailure) {
        guard depth < 500 else {
            throw RenderFailure(.limit, "maximum recursion depth exceeded while getting the repr of an object")
        }
        switch self {
        case .undefined: out += "Undefined"
        case .none, .bool, .int, .double: out += try pythonString()
        case .string(let s): Value.appendStringRepr(s, to: &out)
        case .markup(let s):
            out += "Markup("
            Value.appendStringRepr(s, to: &out)
            out += ")"
        case .list(let box):
            let (open, close): (String, String)
            switch box.kind {
            case .list: (open, close) = ("[", "]")
            case .tuple: (open, close) = ("(", box.items.count == 1 ? ",)" : ")")
            case .generator: out += "<generator object>"; return
            case .dictItems: (open, close) = ("dict_items([", "])")
            case .dictKeys: (open, close) = ("dict_keys([", "])")
            case .dictValues: (open, close) = ("dict_values([", "])")
            }
            out += open
            for (i, item) in box.items.enumerated() {
                if i > 0 { out += ", " }
                try item.appendRepr(to: &out, depth: depth + 1)
            }
            out += close
        case .dict(let box):
            out += "{"
            for i in 0..<box.count {
                if i > 0 { out += ", " }
                try box.keys[i].appendRepr(to: &out, depth: depth + 1)
                out += ": "
                try box.values[i].appendRepr(to: &out, depth: depth + 1)
            }
            out += "}"
        case .namespace(let ns):
            out += "<Namespace {"
            for i in ns.names.indices {
                if i > 0 { out += ", " }
                Value.appendStringRepr(ns.names[i], to: &out)
                out += ": "
                try ns.values[i].appendRepr(to: &out, depth: depth + 1)
            }
            out += "}>"
        case .callable(let c):
            if case .macro(let m) = c.kind { out += "<Macro '\(m.name)'>" } else { out += "<built-in function>" }
        case .object(let o): out += "<\(o.typeName) object>"
        }
    }

    /// Python's `repr(str)`: single quotes unless the text has a `'` and no `"`; non-printable characters escaped.
    static func appendStringRepr(_ s: String, to out: inout String) {
        let hasSingle = s.utf8.contains(UInt8(ascii: "'"))
        let hasDouble = s.utf8.contains(UInt8(ascii: "\""))
        let quote: Unicode.Scalar = hasSingle && !hasDouble ? "\"" : "'"
        var scalars = String.UnicodeScalarView()
        scalars.append(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case quote, "\\": scalars.append("\\"); scalars.append(scalar)
            case "\n": scalars.append(contentsOf: #"\n"#.unicodeScalars)
            case "\r": scalars.append(contentsOf: #"\r"#.unicodeScalars)
            case "\t": scalars.append(contentsOf: #"\t"#.unicodeScalars)
            default:
                if PythonText.isPrintable(scalar) {
                    scalars.append(scalar)
                } else {
                    let v = scalar.value
                    let (prefix, width) = v < 0x100 ? ("\\x", 2) : v < 0x10000 ? ("\\u", 4) : ("\\U", 8)
                    var hex = String(v, radix: 16)
                    hex = String(repeating: "0", count: max(0, width - hex.count)) + hex
                    scalars.append(contentsOf: (prefix + hex).unicodeScalars)
                }
            }
        }
        scalars.append(quote)
        out.append(String(scalars))
    }
}

/// Python `==` between values (`1 == 1.0 == True`, lists element-wise, dicts by content, two undefined equal).
func pythonEquals(_ a: Value, _ b: Value, depth: Int = 0) -> Bool {
    guard depth < 500 else { return false }
    switch (a, b) {
    case (.string(let x), .string(let y)), (.string(let x), .markup(let y)), (.markup(let x), .string(let y)),
        (.markup(let x), .markup(let y)):
        return PythonText.equal(x, y)
    case (.int(let x), .int(let y)): return x == y
    case (.none, .none), (.undefined, .undefined): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.int, _), (.bool, _), (.double, _):
        guard let x = a.numericValue, let y = b.numericValue else { return false }
        switch (x, y) {
        case (.int(let i), .int(let j)): return i == j
        default: return x.asDouble == y.asDouble
        }
    case (.list(let x), .list(let y)):
        guard x === y || sameSequenceFamily(x.kind, y.kind) else { return false }
        if x.kind == .generator || x.kind == .dictValues { return x === y }
        if x.kind == .dictKeys || x.kind == .dictItems {
            // Set-like views compare regardless of order.
            guard x.items.count == y.items.count else { return false }
            return x.items.allSatisfy { item in y.items.contains { pythonEquals(item, $0, depth: depth + 1) } }
        }
        guard x.items.count == y.items.count else { return false }
        for i in x.items.indices where !pythonEquals(x.items[i], y.items[i], depth: depth + 1) { return false }
        return true
    case (.dict(let x), .dict(let y)):
        if x === y { return true }
        guard x.count == y.count else { return false }
        for i in 0..<x.count {
            guard let other = try? y.value(for: x.keys[i]), pythonEquals(x.values[i], other, depth: depth + 1) else {
                return false
            }
        }
        return true
    case (.namespace(let x), .namespace(let y)): return x === y
    case (.callable(let x), .callable(let y)): return x === y
    case (.object(let x), .object(let y)): return x === y
    default: return false
    }
}

private func sameSequenceFamily(_ a: SequenceKind, _ b: SequenceKind) -> Bool { a == b }

/// A number as Python's numeric tower sees it (`bool` is an `int`).
enum Number {
    case int(Int)
    case double(Double)

    var asDouble: Double {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        }
    }
}

extension Value {
    var numericValue: Number? {
        switch self {
        case .int(let i): return .int(i)
        case .bool(let b): return .int(b ? 1 : 0)
        case .double(let d): return .double(d)
        default: return nil
        }
    }
}

/// Python's `<` (and friends through it): numbers, strings by code point, sequences lexicographically.
func pythonLess(_ a: Value, _ b: Value, op: String = "<") throws(RenderFailure) -> Bool {
    switch (a, b) {
    case (.string(let x), .string(let y)), (.string(let x), .markup(let y)), (.markup(let x), .string(let y)),
        (.markup(let x), .markup(let y)):
        return x.utf8.lexicographicallyPrecedes(y.utf8)
    case (.list(let x), .list(let y)) where x.kind == y.kind && (x.kind == .list || x.kind == .tuple):
        for (p, q) in zip(x.items, y.items) where !pythonEquals(p, q) { return try pythonLess(p, q) }
        return x.items.count < y.items.count
    default:
        if let x = a.numericValue, let y = b.numericValue {
            if case .int(let i) = x, case .int(let j) = y { return i < j }
            return x.asDouble < y.asDouble
        }
        if case .undefined(let reason) = a { throw reason.failure }
        if case .undefined(let reason) = b { throw reason.failure }
        throw RenderFailure(.type, "'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
    }
}

extension Value {
    /// The items of `iter(value)`: characters of a string, keys of a dict, elements of a list.
    func iterated() throws(RenderFailure) -> [Value] {
        switch self {
        case .undefined: return []
        case .list(let box): return box.items
        case .dict(let box): return box.keys
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .markup(let s): return s.unicodeScalars.map { .markup(String($0)) }
        default: throw RenderFailure(.type, "'\(typeName)' object is not iterable")
        }
    }

    /// Python `len(value)`; undefined has length 0 as in jinja2.
    func pythonLength() throws(RenderFailure) -> Int {
        switch self {
        case .undefined: return 0
        case .string(let s), .markup(let s): return s.unicodeScalars.count
        case .list(let box) where box.kind != .generator: return box.items.count
        case .dict(let box): return box.count
        default: throw RenderFailure(.type, "object of type '\(typeName)' has no len()")
        }
    }
}
