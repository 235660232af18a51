import Foundation

/// Python methods of `str`, `dict` and `list` that templates call (`content.split('</think>')`, `message.get('x')`).
/// Mutating ones exist only to be refused, as jinja2's immutable sandbox refuses them.
extension Interpreter {
    // Switches rather than sets: `message.content` asks "is `content` a dict method?" on every access, and
    // comparing a few short strings is cheaper than hashing one.
    static func isDictMethod(_ name: String) -> Bool {
        switch name {
        case "items", "keys", "values", "get", "copy", "pop", "popitem", "setdefault", "update", "clear", "fromkeys":
            true
        default: false
        }
    }

    static func isListMethod(_ name: String) -> Bool {
        switch name {
        case "count", "index", "copy", "append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear": true
        default: false
        }
    }

    static func isMutatingMethod(_ name: String) -> Bool {
        switch name {
        case "append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear", "update", "setdefault",
            "popitem",
            "add", "discard":
            true
        default: false
        }
    }

    static func isStringMethod(_ name: String) -> Bool { stringMethods.contains(name) }

    static let stringMethods: Set<String> = [
        "split", "rsplit", "splitlines", "strip", "lstrip", "rstrip", "startswith", "endswith", "replace", "upper",
        "lower", "title", "capitalize", "casefold", "swapcase", "find", "rfind", "index", "rindex", "count", "join",
        "isdigit", "isdecimal", "isnumeric", "isalpha", "isalnum", "isspace", "isupper", "islower", "istitle",
        "zfill", "center", "ljust", "rjust", "format", "partition", "rpartition", "removeprefix", "removesuffix",
        "encode", "expandtabs", "format_map", "isidentifier", "isprintable", "isascii", "translate", "maketrans"
    ]

    /// Calls `receiver.name(arguments)` when that is a method of the receiver's type; nil otherwise (then the
    /// attribute, e.g. a dict key holding a macro, is looked up and called).
    func callMethod(
        on receiver: Value, _ name: String, _ arguments: Arguments, at position: SourcePosition
    ) throws(RenderFailure) -> Value? {
        do throws(RenderFailure) {
            switch receiver {
            case .string(let s), .markup(let s):
                guard Interpreter.isStringMethod(name) else { return nil }
                let result = try stringMethod(s, name, arguments)
                if case .markup = receiver, case .string(let text) = result, name != "format" { return .markup(text) }
                return result
            case .dict(let dict):
                guard Interpreter.isDictMethod(name) else { return nil }
                return try dictMethod(dict, receiver, name, arguments)
            case .list(let box) where box.kind == .list || box.kind == .tuple:
                guard Interpreter.isListMethod(name) else { return nil }
                return try listMethod(box, receiver, name, arguments)
            case .object(let object):
                return try object.call(method: name, arguments: arguments, interpreter: self)
            case .undefined(let reason):
                throw reason.failure
            default:
                return nil
            }
        } catch {
            throw error.at(position)
        }
    }

    private func refuse(_ receiver: Value, _ name: String) -> RenderFailure {
        RenderFailure(.security, "access to attribute '\(name)' of '\(receiver.typeName)' object is unsafe.")
    }

    private func dictMethod(
        _ dict: DictBox, _ receiver: Value, _ name: String, _ arguments: Arguments
    ) throws(RenderFailure) -> Value {
        switch name {
        case "items": return .list(ListBox(dictPairs(dict), kind: .dictItems))
        case "keys": return .list(ListBox(dict.keys, kind: .dictKeys))
        case "values": return .list(ListBox(dict.values, kind: .dictValues))
        case "get":
            guard let key = arguments.positional.first else {
                throw RenderFailure(.type, "get expected at least 1 argument, got 0")
            }
            return try dict.value(for: key) ?? (arguments.positional.count > 1 ? arguments.positional[1] : .none)
        case "copy":
            return .dict(DictBox(DictBuilder(keys: dict.keys, values: dict.values)))
        default:
            throw refuse(receiver, name)
        }
    }

    private func listMethod(
        _ box: ListBox, _ receiver: Value, _ name: String, _ arguments: Arguments
    ) throws(RenderFailure) -> Value {
        switch name {
        case "count":
            guard let needle = arguments.positional.first else {
                throw RenderFailure(.type, "count() takes exactly one argument (0 given)")
            }
            return .int(box.items.filter { pythonEquals($0, needle) }.count)
        case "index":
            guard let needle = arguments.positional.first else {
                throw RenderFailure(.type, "index expected at least 1 argument, got 0")
            }
            guard let i = box.items.firstIndex(where: { pythonEquals($0, needle) }) else {
                throw RenderFailure(.type, "\((try? needle.pythonRepr()) ?? "value") is not in list")
            }
            return .int(i)
        case "copy":
            return .list(ListBox(box.items, kind: box.kind))
        default:
            throw refuse(receiver, name)
        }
    }

    private func stringMethod(_ s: String, _ name: String, _ arguments: Arguments) throws(RenderFailure) -> Value {
        func text(_ i: Int, _ key: String) throws(RenderFailure) -> String? {
            guard let v = arguments.value(i, key) else { return nil }
            if case .none = v { return nil }
            guard let s = v.stringValue else {
                throw RenderFailure(.type, "must be str or None, not \(v.typeName)")
            }
            return s
        }
        func required(_ i: Int, _ key: String) throws(RenderFailure) -> String {
            guard let v = arguments.value(i, key) else {
                throw RenderFailure(
                    .type, "\(name)() takes at least \(i + 1) argument(s) (\(arguments.positional.count) given)")
            }
            guard let s = v.stringValue else {
                throw RenderFailure(.type, "\(name)() argument \(i + 1) must be str, not \(v.typeName)")
            }
            return s
        }
        func integer(_ i: Int, _ key: String, _ fallback: Int) throws(RenderFailure) -> Int {
            guard let v = arguments.value(i, key) else { return fallback }
            if case .none = v { return fallback }
            guard let n = v.integerIndex else {
                throw RenderFailure(.type, "'\(v.typeName)' object cannot be interpreted as an integer")
            }
            return n
        }
        func strings(_ values: [String]) -> Value { .list(ListBox(values.map { .string($0) })) }
        switch name {
        case "split":
            return strings(
                try PythonText.split(s, separator: try text(0, "sep"), maxSplit: try integer(1, "maxsplit", -1)))
        case "rsplit":
            return strings(
                try PythonText.rsplit(s, separator: try text(0, "sep"), maxSplit: try integer(1, "maxsplit", -1)))
        case "splitlines":
            return strings(PythonText.splitLines(s, keepEnds: arguments.value(0, "keepends")?.isTruthy ?? false))
        case "strip": return .string(PythonText.strip(s, chars: try text(0, "chars"), leading: true, trailing: true))
        case "lstrip": return .string(PythonText.strip(s, chars: try text(0, "chars"), leading: true, trailing: false))
        case "rstrip": return .string(PythonText.strip(s, chars: try text(0, "chars"), leading: false, trailing: true))
        case "startswith", "endswith":
            guard let prefixValue = arguments.positional.first else {
                throw RenderFailure(.type, "\(name)() takes at least 1 argument (0 given)")
            }
            var candidates: [String] = []
            if let p = prefixValue.stringValue {
                candidates = [p]
            } else if case .list(let box) = prefixValue, box.kind == .tuple {
                for item in box.items {
                    guard let p = item.stringValue else {
                        throw RenderFailure(.type, "tuple for \(name) must only contain str, not \(item.typeName)")
                    }
                    candidates.append(p)
                }
            } else {
                throw RenderFailure(
                    .type, "\(name) first arg must be str or a tuple of str, not \(prefixValue.typeName)")
            }
            var subject = Array(s.unicodeScalars)
            if arguments.positional.count > 1 {
                let count = subject.count
                func clamp(_ i: Int) -> Int { i < 0 ? max(0, i + count) : min(i, count) }
                let start = clamp(try integer(1, "start", 0))
                let end = clamp(try integer(2, "end", count))
                subject = start <= end ? Array(subject[start..<end]) : []
            }
            for candidate in candidates {
                let c = Array(candidate.unicodeScalars)
                if name == "startswith" ? subject.starts(with: c) : subject.reversed().starts(with: c.reversed()) {
                    return .bool(true)
                }
            }
            return .bool(false)
        case "replace":
            let result = PythonText.replace(
                s, try required(0, "old"), try required(1, "new"), count: try integer(2, "count", -1))
            try checkStringSize(result.utf8.count, at: nil)
            return .string(result)
        case "upper": return .string(PythonText.upper(s))
        case "lower", "casefold": return .string(PythonText.lower(s))
        case "title": return .string(PythonText.title(s))
        case "capitalize": return .string(PythonText.capitalize(s))
        case "swapcase":
            var out = ""
            for c in s.unicodeScalars {
                out +=
                    c.properties.isUppercase
                    ? c.properties.lowercaseMapping
                    : c.properties.isLowercase ? c.properties.uppercaseMapping : String(c)
            }
            return .string(out)
        case "find", "index":
            let i = PythonText.find(s, try required(0, "sub"))
            if i < 0 && name == "index" { throw RenderFailure(.type, "substring not found") }
            return .int(i)
        case "rfind", "rindex":
            let i = PythonText.find(s, try required(0, "sub"), reverse: true)
            if i < 0 && name == "rindex" { throw RenderFailure(.type, "substring not found") }
            return .int(i)
        case "count": return .int(PythonText.count(s, try required(0, "sub")))
        case "join":
            guard let iterable = arguments.positional.first else {
                throw RenderFailure(.type, "join() takes exactly one argument (0 given)")
            }
            var out = ""
            for (i, item) in try iterate(iterable).enumerated() {
                guard let part = item.stringValue else {
                    throw RenderFailure(.type, "sequence item \(i): expected str instance, \(item.typeName) found")
                }
                if i > 0 { out += s }
                out += part
                try checkStringSize(out.utf8.count, at: nil)
            }
            return .string(out)
        case "isdigit", "isdecimal", "isnumeric":
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType != nil })
        case "isalpha": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
        case "isalnum":
            return .bool(
                !s.isEmpty
                    && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
        case "isspace": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(PythonText.isWhitespace))
        case "isupper": return .bool(PythonText.isUpper(s))
        case "islower": return .bool(PythonText.isLower(s))
        case "istitle":
            return .bool(!s.isEmpty && PythonText.title(s) == s && s.unicodeScalars.contains { $0.properties.isCased })
        case "isascii": return .bool(s.unicodeScalars.allSatisfy(\.isASCII))
        case "isprintable": return .bool(s.unicodeScalars.allSatisfy(PythonText.isPrintable))
        case "isidentifier":
            let chars = Array(s.unicodeScalars)
            guard let first = chars.first, first == "_" || first.properties.isXIDStart else { return .bool(false) }
            return .bool(chars.dropFirst().allSatisfy { $0 == "_" || $0.properties.isXIDContinue })
        case "zfill":
            let width = try integer(0, "width", 0)
            try checkStringSize(width, at: nil)
            var chars = Array(s.unicodeScalars)
            let fill = max(0, width - chars.count)
            let signed = chars.first == "+" || chars.first == "-"
            chars.insert(contentsOf: Array(repeating: "0", count: fill), at: signed ? 1 : 0)
            return .string(PythonText.string(chars))
        case "center", "ljust", "rjust":
            let width = try integer(0, "width", 0)
            try checkStringSize(width, at: nil)
            let fill = try text(1, "fillchar")?.unicodeScalars.first ?? " "
            let n = s.unicodeScalars.count
            guard width > n else { return .string(s) }
            let pad = String(fill)
            if name == "center" { return .string(PythonText.center(s, width: width, fill: fill)) }
            let padding = String(repeating: pad, count: width - n)
            return .string(name == "ljust" ? s + padding : padding + s)
        case "partition", "rpartition":
            let separator = try required(0, "sep")
            guard !separator.isEmpty else { throw RenderFailure(.type, "empty separator") }
            let i = PythonText.find(s, separator, reverse: name == "rpartition")
            let chars = Array(s.unicodeScalars)
            let parts: [String]
            if i < 0 {
                parts = name == "partition" ? [s, "", ""] : ["", "", s]
            } else {
                let end = i + separator.unicodeScalars.count
                parts = [PythonText.string(chars[..<i]), separator, PythonText.string(chars[end...])]
            }
            return .list(ListBox(parts.map { .string($0) }, kind: .tuple))
        case "removeprefix":
            let p = try required(0, "prefix")
            return .string(
                s.unicodeScalars.starts(with: p.unicodeScalars)
                    ? PythonText.string(s.unicodeScalars.dropFirst(p.unicodeScalars.count)) : s)
        case "removesuffix":
            let p = try required(0, "suffix")
            let chars = Array(s.unicodeScalars)
            let suffix = Array(p.unicodeScalars)
            return .string(
                !suffix.isEmpty && chars.reversed().starts(with: suffix.reversed())
                    ? PythonText.string(chars.dropLast(suffix.count)) : s)
        case "format":
            return .string(try braceFormat(s, arguments))
        default:
            throw RenderFailure(.type, "the str method '\(name)' is not supported by Kiln's template engine")
        }
    }

    /// `str.format` as jinja2's sandboxed formatter runs it: `{}`, `{0}`, `{name}`, `{{`/`}}`, simple
    /// conversions and format specs for strings and numbers.
    func braceFormat(_ format: String, _ arguments: Arguments) throws(RenderFailure) -> String {
        let chars = Array(format.unicodeScalars)
        var out = String.UnicodeScalarView()
        var automatic = 0
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "{" {
                if i + 1 < chars.count && chars[i + 1] == "{" { out.append("{"); i += 2; continue }
                guard let close = chars[i...].firstIndex(of: "}") else {
                    throw RenderFailure(.type, "Single '{' encountered in format string")
                }
                let field = PythonText.string(chars[(i + 1)..<close])
                var spec = ""
                var conversion: Character?
                var name = field
                if let colon = field.firstIndex(of: ":") {
                    spec = String(field[field.index(after: colon)...])
                    name = String(field[..<colon])
                }
                if let bang = name.firstIndex(of: "!") {
                    conversion = name[name.index(after: bang)...].first
                    name = String(name[..<bang])
                }
                var value: Value
                if name.isEmpty {
                    guard automatic < arguments.positional.count else {
                        throw RenderFailure(
                            .type, "Replacement index \(automatic) out of range for positional args tuple")
                    }
                    value = arguments.positional[automatic]
                    automatic += 1
                } else if let index = Int(name) {
                    guard index < arguments.positional.count else {
                        throw RenderFailure(.type, "Replacement index \(index) out of range for positional args tuple")
                    }
                    value = arguments.positional[index]
                } else {
                    var parts = name.split(separator: ".").map(String.init)
                    let head = parts.removeFirst()
                    guard let found = arguments.keywords.first(where: { $0.name == head })?.value else {
                        throw RenderFailure(.type, "KeyError: '\(head)'")
                    }
                    value = found
                    for part in parts { value = try attribute(of: value, part, at: statementPosition) }
                }
                var rendered = conversion == "r" ? try value.pythonRepr() : try value.pythonString()
                if !spec.isEmpty { rendered = try applyFormatSpec(spec, value, rendered) }
                out.append(contentsOf: rendered.unicodeScalars)
                i = close + 1
                continue
            }
            if c == "}" {
                if i + 1 < chars.count && chars[i + 1] == "}" { out.append("}"); i += 2; continue }
                throw RenderFailure(.type, "Single '}' encountered in format string")
            }
            out.append(c)
            i += 1
        }
        return String(out)
    }

    /// A small subset of Python's format-spec mini-language: fill/align/width, `d`, `f` with precision.
    private func applyFormatSpec(_ spec: String, _ value: Value, _ rendered: String) throws(RenderFailure) -> String {
        var chars = Array(spec)
        var fill: Character = " "
        var align: Character?
        if chars.count >= 2, "<>^".contains(chars[1]) {
            fill = chars[0]; align = chars[1]; chars.removeFirst(2)
        } else if let first = chars.first, "<>^".contains(first) {
            align = first; chars.removeFirst()
        }
        var zeroPad = false
        if chars.first == "0" { zeroPad = true; chars.removeFirst() }
        var widthText = ""
        while let first = chars.first, first.isNumber { widthText.append(first); chars.removeFirst() }
        var precision: Int?
        if chars.first == "." {
            chars.removeFirst()
            var p = ""
            while let first = chars.first, first.isNumber { p.append(first); chars.removeFirst() }
            precision = Int(p)
        }
        var text = rendered
        let type = chars.first
        if type == "f" || type == "F" || (precision != nil && value.numericValue != nil) {
            guard let n = value.numericValue else {
                throw RenderFailure(.type, "Unknown format code 'f' for object of type '\(value.typeName)'")
            }
            text = String(format: "%.\(precision ?? 6)f", n.asDouble)
        } else if type == "d" {
            guard case .int? = value.numericValue else {
                throw RenderFailure(.type, "Unknown format code 'd' for object of type '\(value.typeName)'")
            }
        } else if let precision, value.stringValue != nil {
            text = PythonText.string(text.unicodeScalars.prefix(precision))
        }
        let width = Int(widthText) ?? 0
        try checkStringSize(width, at: nil)
        let length = text.unicodeScalars.count
        guard width > length else { return text }
        let pad = width - length
        if zeroPad && align == nil { fill = "0"; align = "=" }
        let effective = align ?? (value.numericValue != nil ? ">" : "<")
        switch effective {
        case "<": return text + String(repeating: fill, count: pad)
        case "^": return String(repeating: fill, count: pad / 2) + text + String(repeating: fill, count: pad - pad / 2)
        default: return String(repeating: fill, count: pad) + text
        }
    }

    /// `format % values` (printf-style): `%s`, `%r`, `%d`/`%i`, `%f`, `%x`, `%%`, and `%(name)s` with a dict.
    func percentFormat(_ format: String, _ values: Value, at position: SourcePosition) throws(RenderFailure) -> String {
        var positional: [Value]
        var mapping: DictBox?
        switch values {
        case .list(let box) where box.kind == .tuple: positional = box.items
        case .dict(let d): positional = [values]; mapping = d
        default: positional = [values]
        }
        let chars = Array(format.unicodeScalars)
        var out = ""
        var next = 0
        var i = 0
        while i < chars.count {
            let c = chars[i]
            guard c == "%" else { out.unicodeScalars.append(c); i += 1; continue }
            i += 1
            guard i < chars.count else { throw RenderFailure(.type, "incomplete format", at: position) }
            var value: Value?
            if chars[i] == "(" {
                guard let close = chars[i...].firstIndex(of: ")"), let mapping else {
                    throw RenderFailure(.type, "format requires a mapping", at: position)
                }
                let key = PythonText.string(chars[(i + 1)..<close])
                guard let found = mapping.value(forString: key) else {
                    throw RenderFailure(.type, "KeyError: '\(key)'", at: position)
                }
                value = found
                i = close + 1
            }
            var flags = ""
            while i < chars.count, "-+ 0#".unicodeScalars.contains(chars[i]) {
                flags.unicodeScalars.append(chars[i]); i += 1
            }
            var width = ""
            while i < chars.count, ("0"..."9").contains(chars[i]) { width.unicodeScalars.append(chars[i]); i += 1 }
            var precision: Int?
            if i < chars.count, chars[i] == "." {
                i += 1
                var p = ""
                while i < chars.count, ("0"..."9").contains(chars[i]) { p.unicodeScalars.append(chars[i]); i += 1 }
                precision = Int(p) ?? 0
            }
            guard i < chars.count else { throw RenderFailure(.type, "incomplete format", at: position) }
            let conversion = chars[i]
            i += 1
            if conversion == "%" { out += "%"; continue }
            if value == nil {
                guard next < positional.count else {
                    throw RenderFailure(.type, "not enough arguments for format string", at: position)
                }
                value = positional[next]
                next += 1
            }
            let v = value!
            var piece: String
            switch conversion {
            case "s": piece = try v.pythonString()
            case "r", "a": piece = try v.pythonRepr()
            case "d", "i", "u":
                guard let n = v.numericValue else {
                    throw RenderFailure(
                        .type, "%\(conversion) format: a real number is required, not \(v.typeName)", at: position)
                }
                switch n {
                case .int(let x): piece = String(x)
                case .double(let d): piece = String(Int(exactly: d.rounded(.towardZero)) ?? 0)
                }
            case "f", "F", "e", "E", "g", "G":
                guard let n = v.numericValue else {
                    throw RenderFailure(.type, "must be real number, not \(v.typeName)", at: position)
                }
                piece = String(format: "%.\(precision ?? 6)\(conversion)", n.asDouble)
            case "x", "X", "o":
                guard let n = v.integerIndex else {
                    throw RenderFailure(
                        .type, "%\(conversion) format: an integer is required, not \(v.typeName)", at: position)
                }
                piece = String(n, radix: conversion == "o" ? 8 : 16, uppercase: conversion == "X")
            default:
                throw RenderFailure(.type, "unsupported format character '\(conversion)'", at: position)
            }
            if let precision, conversion == "s" || conversion == "r" {
                piece = String(piece.unicodeScalars.prefix(precision))
            }
            if let w = Int(width) {
                try checkStringSize(w, at: position)
                let pad = max(0, w - piece.unicodeScalars.count)
                if flags.contains("-") {
                    piece += String(repeating: " ", count: pad)
                } else if flags.contains("0") && "dif".unicodeScalars.contains(conversion) {
                    piece = String(repeating: "0", count: pad) + piece
                } else {
                    piece = String(repeating: " ", count: pad) + piece
                }
            }
            out += piece
        }
        if mapping == nil && next < positional.count {
            throw RenderFailure(.type, "not all arguments converted during string formatting", at: position)
        }
        return out
    }
}
