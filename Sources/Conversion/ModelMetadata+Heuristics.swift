// Helpers for ModelMetadata: a Python-like value model, a JSON reader that keeps
// Python's int/float distinction, PyYAML-style scalar typing on top of Yams, Python
// string predicates, and gguf-py's naming heuristics (get_model_id_components,
// id_to_title, size_label).

import Foundation
import Yams

// MARK: - Python-like values

/// A value as Python's json / yaml.safe_load would produce it.
indirect enum MMValue: Equatable, Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case str(String)
    case list([MMValue])
    /// Ordered pairs; duplicate keys keep the first position and the last value (Python dict).
    case dict([(key: MMValue, value: MMValue)])
    /// Anything else Python would hold (dates, big ints, binary, sets…): never usable as a string.
    case other(String)

    static func == (lhs: MMValue, rhs: MMValue) -> Bool {
        switch (lhs, rhs) {
        case (.none, .none): true
        case let (.bool(a), .bool(b)): a == b
        case let (.int(a), .int(b)): a == b
        case let (.float(a), .float(b)): a == b || (a.isNaN && b.isNaN)
        case let (.str(a), .str(b)): a == b
        case let (.list(a), .list(b)): a == b
        case let (.dict(a), .dict(b)): a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
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
    subscript(key: String) -> MMValue? {
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

    static func makeDict(_ pairs: [(MMValue, MMValue)]) -> MMValue {
        var out: [(key: MMValue, value: MMValue)] = []
        for (k, v) in pairs {
            if let i = out.firstIndex(where: { $0.key == k }) { out[i].value = v } else { out.append((k, v)) }
        }
        return .dict(out)
    }
}

// MARK: - JSON (Python json.load semantics)

enum MMJSONError: Error { case invalid(String) }

/// A strict JSON reader matching Python's `json.loads`: ints stay ints, numbers with a
/// fraction or exponent are floats, NaN/Infinity/-Infinity are accepted, a leading BOM
/// or trailing garbage is an error, the last duplicate key wins.
struct MMJSONParser {
    private let s: [Unicode.Scalar]
    private var i = 0

    static func parse(_ text: String) throws -> MMValue {
        var p = MMJSONParser(s: Array(text.unicodeScalars))
        p.skipWS()
        let v = try p.value()
        p.skipWS()
        guard p.i == p.s.count else { throw MMJSONError.invalid("Extra data at offset \(p.i)") }
        return v
    }

    private init(s: [Unicode.Scalar]) { self.s = s }

    private mutating func skipWS() {
        while i < s.count, [" ", "\t", "\n", "\r"].contains(s[i]) { i += 1 }
    }

    private func fail(_ what: String) -> MMJSONError { .invalid("\(what) at offset \(i)") }

    private mutating func literal(_ word: String) -> Bool {
        let w = Array(word.unicodeScalars)
        guard i + w.count <= s.count, Array(s[i..<i + w.count]) == w else { return false }
        i += w.count
        return true
    }

    private mutating func value() throws -> MMValue {
        guard i < s.count else { throw fail("Expecting value") }
        switch s[i] {
        case "{":
            i += 1
            var pairs: [(MMValue, MMValue)] = []
            skipWS()
            if i < s.count, s[i] == "}" { i += 1; return .dict([]) }
            while true {
                skipWS()
                guard i < s.count, s[i] == "\"" else { throw fail("Expecting property name enclosed in double quotes") }
                let k = try string()
                skipWS()
                guard i < s.count, s[i] == ":" else { throw fail("Expecting ':' delimiter") }
                i += 1
                skipWS()
                let v = try value()
                pairs.append((.str(k), v))
                skipWS()
                guard i < s.count else { throw fail("Expecting ',' delimiter") }
                if s[i] == "," { i += 1; continue }
                if s[i] == "}" { i += 1; return MMValue.makeDict(pairs) }
                throw fail("Expecting ',' delimiter")
            }
        case "[":
            i += 1
            var items: [MMValue] = []
            skipWS()
            if i < s.count, s[i] == "]" { i += 1; return .list([]) }
            while true {
                skipWS()
                items.append(try value())
                skipWS()
                guard i < s.count else { throw fail("Expecting ',' delimiter") }
                if s[i] == "," { i += 1; continue }
                if s[i] == "]" { i += 1; return .list(items) }
                throw fail("Expecting ',' delimiter")
            }
        case "\"":
            return .str(try string())
        default:
            if literal("null") { return .none }
            if literal("true") { return .bool(true) }
            if literal("false") { return .bool(false) }
            if literal("NaN") { return .float(.nan) }
            if literal("Infinity") { return .float(.infinity) }
            if literal("-Infinity") { return .float(-.infinity) }
            return try number()
        }
    }

    private static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }

    private mutating func number() throws -> MMValue {
        let start = i
        if i < s.count, s[i] == "-" { i += 1 }
        guard i < s.count, Self.isDigit(s[i]) else { i = start; throw fail("Expecting value") }
        if s[i] == "0" { i += 1 } else { while i < s.count, Self.isDigit(s[i]) { i += 1 } }
        var isFloat = false
        if i + 1 < s.count, s[i] == ".", Self.isDigit(s[i + 1]) {
            isFloat = true
            i += 1
            while i < s.count, Self.isDigit(s[i]) { i += 1 }
        }
        if i < s.count, s[i] == "e" || s[i] == "E" {
            var j = i + 1
            if j < s.count, s[j] == "+" || s[j] == "-" { j += 1 }
            if j < s.count, Self.isDigit(s[j]) {
                isFloat = true
                i = j
                while i < s.count, Self.isDigit(s[i]) { i += 1 }
            }
        }
        let text = String(String.UnicodeScalarView(s[start..<i]))
        if isFloat { return .float(Double(text) ?? .nan) }
        if let v = Int64(text) { return .int(v) }
        return .other("int")  // beyond 64 bits: Python keeps a big int
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= s.count else { throw fail("Invalid \\uXXXX escape") }
        guard let v = UInt32(String(String.UnicodeScalarView(s[i..<i + 4])), radix: 16) else { throw fail("Invalid \\uXXXX escape") }
        i += 4
        return v
    }

    private mutating func string() throws -> String {
        i += 1  // opening quote
        var out = String.UnicodeScalarView()
        while true {
            guard i < s.count else { throw fail("Unterminated string") }
            let c = s[i]
            if c == "\"" { i += 1; return String(out) }
            if c.value < 0x20 { throw fail("Invalid control character") }
            if c != "\\" { out.append(c); i += 1; continue }
            i += 1
            guard i < s.count else { throw fail("Unterminated string") }
            let e = s[i]
            i += 1
            switch e {
            case "\"": out.append("\"")
            case "\\": out.append("\\")
            case "/": out.append("/")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "u":
                var v = try hex4()
                if (0xD800..<0xDC00).contains(v), i + 6 <= s.count, s[i] == "\\", s[i + 1] == "u" {
                    let save = i
                    i += 2
                    let lo = try hex4()
                    if (0xDC00..<0xE000).contains(lo) {
                        v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        i = save
                    }
                }
                // Lone surrogates cannot live in a Swift String; Python would keep them.
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            default:
                throw fail("Invalid \\escape")
            }
        }
    }
}

// MARK: - YAML (PyYAML safe_load typing)

enum MMYAML {
    /// Parses one YAML document the way `yaml.safe_load` types it (YAML 1.1 implicit
    /// resolution of plain scalars: bools yes/no/on/off, ints with 0b/0x/leading-0 octal,
    /// underscores and base 60, floats that need a dot, nulls, timestamps).
    static func load(_ text: String) throws -> MMValue {
        guard let node = try Yams.compose(yaml: text, Resolver.basic) else { return .none }
        return convert(node)
    }

    private static let strTag = "tag:yaml.org,2002:str"

    private static func convert(_ node: Node) -> MMValue {
        switch node {
        case let .scalar(scalar):
            let tag = scalar.tag.rawValue
            if tag.isEmpty { return resolvePlain(scalar.string) }
            return construct(scalar.string, tag: tag)
        case let .sequence(seq):
            let tag = seq.tag.rawValue
            if !tag.isEmpty, tag != "tag:yaml.org,2002:seq", tag != "!" { return .other(tag) }
            return .list(seq.map(convert))
        case let .mapping(map):
            let tag = map.tag.rawValue
            if !tag.isEmpty, tag != "tag:yaml.org,2002:map", tag != "!" { return .other(tag) }
            var pairs: [(MMValue, MMValue)] = []
            for (k, v) in map {
                let key = convert(k)
                // PyYAML's "<<" merge keys are not handled (rare in model cards).
                pairs.append((key, convert(v)))
            }
            return MMValue.makeDict(pairs)
        case .alias:
            return .other("alias")
        }
    }

    private static func construct(_ s: String, tag: String) -> MMValue {
        switch tag {
        case strTag, "!": return .str(s)
        case "tag:yaml.org,2002:null": return .none
        case "tag:yaml.org,2002:bool": return boolValue(s).map(MMValue.bool) ?? .other("bool")
        case "tag:yaml.org,2002:int": return intValue(s) ?? .other("int")
        case "tag:yaml.org,2002:float": return floatValue(s).map(MMValue.float) ?? .other("float")
        default: return .other(tag)
        }
    }

    private static func boolValue(_ s: String) -> Bool? {
        switch s.lowercased() {
        case "yes", "true", "on": true
        case "no", "false", "off": false
        default: nil
        }
    }

    private static func isDigit(_ c: Character) -> Bool { c >= "0" && c <= "9" }

    /// `yaml.resolver.Resolver` implicit resolution for a plain scalar.
    static func resolvePlain(_ s: String) -> MMValue {
        if s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL" { return .none }
        let bools = ["yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF"]
        if bools.contains(s) { return .bool(boolValue(s)!) }
        if isYAMLFloat(s) { return floatValue(s).map(MMValue.float) ?? .other("float") }
        if isYAMLInt(s) { return intValue(s) ?? .other("int") }
        if isYAMLTimestamp(s) { return .other("datetime") }
        return .str(s)
    }

    private static func chars(_ s: String) -> [Character] { Array(s) }

    // [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    // |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    // |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    // |[-+]?\.(?:inf|Inf|INF)
    // |\.(?:nan|NaN|NAN)
    static func isYAMLFloat(_ s: String) -> Bool {
        if [".nan", ".NaN", ".NAN"].contains(s) { return true }
        var c = chars(s)
        var signed = false
        if let f = c.first, f == "-" || f == "+" { c.removeFirst(); signed = true }
        let body = String(c)
        if [".inf", ".Inf", ".INF"].contains(body) { return true }
        func exponentOK(_ t: ArraySlice<Character>) -> Bool {
            // (?:[eE][-+][0-9]+)?
            if t.isEmpty { return true }
            let a = Array(t)
            guard a.count >= 3, a[0] == "e" || a[0] == "E", a[1] == "-" || a[1] == "+" else { return false }
            return a[2...].allSatisfy(isDigit)
        }
        // Alternative 2: no sign allowed.
        if !signed, c.first == "." {
            guard c.count >= 2, isDigit(c[1]) else { return false }
            var j = 2
            while j < c.count, isDigit(c[j]) || c[j] == "_" { j += 1 }
            return exponentOK(c[j...])
        }
        guard let first = c.first, isDigit(first) else { return false }
        var j = 1
        while j < c.count, isDigit(c[j]) || c[j] == "_" { j += 1 }
        guard j < c.count else { return false }
        if c[j] == "." {
            // Alternative 1. [0-9_]* then optional exponent; '_' and digits only before e/E.
            var k = j + 1
            while k < c.count, isDigit(c[k]) || c[k] == "_" { k += 1 }
            return exponentOK(c[k...])
        }
        if c[j] == ":" {
            // Alternative 3: (:[0-5]?[0-9])+ \. [0-9_]*
            var k = j
            var groups = 0
            while k < c.count, c[k] == ":" {
                k += 1
                if k + 1 < c.count, ("0"..."5").contains(c[k]), isDigit(c[k + 1]) { k += 2 }
                else if k < c.count, isDigit(c[k]) { k += 1 }
                else { return false }
                groups += 1
            }
            guard groups > 0, k < c.count, c[k] == "." else { return false }
            k += 1
            while k < c.count, isDigit(c[k]) || c[k] == "_" { k += 1 }
            return k == c.count
        }
        return false
    }

    // [-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+ | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
    static func isYAMLInt(_ s: String) -> Bool {
        var c = chars(s)
        if let f = c.first, f == "-" || f == "+" { c.removeFirst() }
        guard let first = c.first else { return false }
        let rest = c.dropFirst()
        if first == "0" {
            if rest.isEmpty { return true }
            if rest.first == "b" { return rest.count > 1 && rest.dropFirst().allSatisfy { $0 == "0" || $0 == "1" || $0 == "_" } }
            if rest.first == "x" { return rest.count > 1 && rest.dropFirst().allSatisfy { $0.isHexDigit && $0.isASCII || $0 == "_" } }
            return rest.allSatisfy { ("0"..."7").contains($0) || $0 == "_" }
        }
        guard ("1"..."9").contains(first) else { return false }
        var j = 1
        while j < c.count, isDigit(c[j]) || c[j] == "_" { j += 1 }
        if j == c.count { return true }
        var groups = 0
        while j < c.count, c[j] == ":" {
            j += 1
            if j + 1 < c.count, ("0"..."5").contains(c[j]), isDigit(c[j + 1]) { j += 2 }
            else if j < c.count, isDigit(c[j]) { j += 1 }
            else { return false }
            groups += 1
        }
        return groups > 0 && j == c.count
    }

    static func isYAMLTimestamp(_ s: String) -> Bool {
        let c = chars(s)
        func digits(_ r: Range<Int>) -> Bool { r.upperBound <= c.count && c[r].allSatisfy(isDigit) }
        if c.count == 10, digits(0..<4), c[4] == "-", digits(5..<7), c[7] == "-", digits(8..<10) { return true }
        // [0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?
        var j = 0
        func take(_ n: Int) -> Bool { guard digits(j..<j + n) else { return false }; j += n; return true }
        func takeOpt() { if j < c.count, isDigit(c[j]) { j += 1 } }
        func lit(_ ch: Character) -> Bool { guard j < c.count, c[j] == ch else { return false }; j += 1; return true }
        guard take(4), lit("-"), take(1) else { return false }
        takeOpt()
        guard lit("-"), take(1) else { return false }
        takeOpt()
        if j < c.count, c[j] == "T" || c[j] == "t" { j += 1 } else {
            let st = j
            while j < c.count, c[j] == " " || c[j] == "\t" { j += 1 }
            if j == st { return false }
        }
        guard take(1) else { return false }
        takeOpt()
        guard lit(":"), take(2), lit(":"), take(2) else { return false }
        if lit(".") { while j < c.count, isDigit(c[j]) { j += 1 } }
        if j == c.count { return true }
        while j < c.count, c[j] == " " || c[j] == "\t" { j += 1 }
        if lit("Z") { return j == c.count }
        guard j < c.count, c[j] == "-" || c[j] == "+" else { return false }
        j += 1
        guard take(1) else { return false }
        takeOpt()
        if j < c.count, c[j] == ":" { j += 1; guard take(2) else { return false } }
        return j == c.count
    }

    /// SafeConstructor.construct_yaml_int.
    static func intValue(_ s: String) -> MMValue? {
        var v = s.replacingOccurrences(of: "_", with: "")
        var sign: Int64 = 1
        if v.first == "-" { sign = -1 }
        if v.first == "-" || v.first == "+" { v.removeFirst() }
        if v == "0" { return .int(0) }
        var magnitude: Int64?
        if v.hasPrefix("0b") { magnitude = Int64(v.dropFirst(2), radix: 2) }
        else if v.hasPrefix("0x") { magnitude = Int64(v.dropFirst(2), radix: 16) }
        else if v.hasPrefix("0") { magnitude = Int64(v.dropFirst(), radix: 8) }
        else if v.contains(":") {
            var total: Int64 = 0
            var base: Int64 = 1
            for part in v.split(separator: ":", omittingEmptySubsequences: false).reversed() {
                guard let d = Int64(part) else { return nil }
                let (m, o1) = d.multipliedReportingOverflow(by: base)
                let (t, o2) = total.addingReportingOverflow(m)
                if o1 || o2 { return nil }
                total = t
                base = base.multipliedReportingOverflow(by: 60).overflow ? Int64.max : base * 60
            }
            magnitude = total
        } else { magnitude = Int64(v) }
        guard let m = magnitude else { return v.isEmpty ? nil : .other("int") }
        return .int(sign * m)
    }

    /// SafeConstructor.construct_yaml_float.
    static func floatValue(_ s: String) -> Double? {
        var v = s.replacingOccurrences(of: "_", with: "").lowercased()
        var sign = 1.0
        if v.first == "-" { sign = -1 }
        if v.first == "-" || v.first == "+" { v.removeFirst() }
        if v == ".inf" { return sign * .infinity }
        if v == ".nan" { return .nan }
        if v.contains(":") {
            var total = 0.0
            var base = 1.0
            for part in v.split(separator: ":", omittingEmptySubsequences: false).reversed() {
                guard let d = Double(pythonFloatText(String(part))) else { return nil }
                total += d * base
                base *= 60
            }
            return sign * total
        }
        guard let d = Double(pythonFloatText(v)) else { return nil }
        return sign * d
    }

    /// Python's float() accepts "1." and ".5"; make sure Swift's parser sees the same.
    private static func pythonFloatText(_ s: String) -> String {
        var t = s
        if t.hasPrefix(".") { t = "0" + t }
        if let dot = t.firstIndex(of: ".") {
            let after = t.index(after: dot)
            if after == t.endIndex || t[after] == "e" { t.insert("0", at: after) }
        }
        return t
    }
}

// MARK: - Python string predicates (on Unicode scalars, like Python's code points)

enum MMPy {
    static func isDecimal(_ c: Unicode.Scalar) -> Bool { c.properties.generalCategory == .decimalNumber }

    static func isAlpha(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }

    /// `\w` in a Unicode `re` pattern.
    static func isWord(_ c: Unicode.Scalar) -> Bool {
        if c == "_" || isAlpha(c) { return true }
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return c.properties.numericType != nil
        }
    }

    /// `Py_UNICODE_ISSPACE`.
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    static func strip(_ s: String) -> String {
        var u = Array(s.unicodeScalars)
        while let l = u.last, isSpace(l) { u.removeLast() }
        let start = u.firstIndex { !isSpace($0) } ?? u.count
        return String(String.UnicodeScalarView(u[start...]))
    }

    /// `str.split()` with no separator.
    static func splitWhitespace(_ s: String) -> [String] {
        var out: [String] = []
        var cur = String.UnicodeScalarView()
        for c in s.unicodeScalars {
            if isSpace(c) {
                if !cur.isEmpty { out.append(String(cur)); cur = String.UnicodeScalarView() }
            } else { cur.append(c) }
        }
        if !cur.isEmpty { out.append(String(cur)) }
        return out
    }

    /// `str.splitlines()`.
    static func splitLines(_ s: String) -> [String] {
        var out: [String] = []
        var cur = String.UnicodeScalarView()
        let u = Array(s.unicodeScalars)
        var i = 0
        while i < u.count {
            let c = u[i]
            switch c.value {
            case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                out.append(String(cur))
                cur = String.UnicodeScalarView()
                if c == "\r", i + 1 < u.count, u[i + 1] == "\n" { i += 1 }
            default:
                cur.append(c)
            }
            i += 1
        }
        if !cur.isEmpty { out.append(String(cur)) }
        return out
    }

    private static func isTitlecase(_ c: Unicode.Scalar) -> Bool { c.properties.generalCategory == .titlecaseLetter }

    /// `str.islower()`.
    static func isLower(_ s: String) -> Bool {
        var cased = false
        for c in s.unicodeScalars {
            if c.properties.isUppercase || isTitlecase(c) { return false }
            if !cased, c.properties.isLowercase { cased = true }
        }
        return cased
    }

    /// `str.title()`.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s.unicodeScalars {
            if previousCased { out += c.properties.lowercaseMapping } else { out += c.properties.titlecaseMapping }
            previousCased = c.properties.isCased
        }
        return out
    }

    /// Case-insensitive comparison of one scalar with an ASCII pattern letter (re.IGNORECASE).
    static func eqI(_ c: Unicode.Scalar, _ p: Unicode.Scalar) -> Bool {
        c == p || c.properties.lowercaseMapping == p.properties.lowercaseMapping
    }

    static func eqI(_ s: ArraySlice<Unicode.Scalar>, _ word: String) -> Bool {
        let w = Array(word.unicodeScalars)
        return s.count == w.count && zip(s, w).allSatisfy { eqI($0, $1) }
    }

    static func string(_ u: some Sequence<Unicode.Scalar>) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: u)
        return String(v)
    }

    /// Python `float()` of a run of Unicode decimal digits with at most one '.', else nil.
    static func decimalFloat(_ u: ArraySlice<Unicode.Scalar>) -> Double? {
        var ascii = ""
        var sawDigit = false
        for c in u {
            if c == "." { ascii.append(".") }
            else if isDecimal(c), let v = c.properties.numericValue { ascii += String(Int(v)); sawDigit = true }
            else { return nil }
        }
        guard sawDigit, ascii.filter({ $0 == "." }).count <= 1 else { return nil }
        if ascii.hasPrefix(".") { ascii = "0" + ascii }
        if ascii.hasSuffix(".") { ascii += "0" }
        return Double(ascii)
    }
}

// MARK: - Naming heuristics (gguf-py metadata.py / utility.py)

struct MMModelIDComponents: Equatable {
    var fullName: String?
    var organization: String?
    var basename: String?
    var finetune: String?
    var version: String?
    var sizeLabel: String?
}

enum MMNaming {
    /// `Metadata.id_to_title`.
    static func idToTitle(_ string: String) -> String {
        let words = MMPy.splitWhitespace(MMPy.strip(string).replacingOccurrences(of: "-", with: " "))
        return words.map { w in
            MMPy.isLower(w) && !looksLikeVersionOrNumber(w) ? MMPy.title(w) : w
        }.joined(separator: " ")
    }

    /// `re.match(r'^(v\d+(?:\.\d+)*|\d.*)$', w)` for a word without whitespace.
    private static func looksLikeVersionOrNumber(_ w: String) -> Bool {
        let u = Array(w.unicodeScalars)
        guard let first = u.first else { return false }
        if MMPy.isDecimal(first) { return true }
        guard first == "v" else { return false }
        return isDottedDigits(u[1...])
    }

    /// `\d+([.]\d+)*`
    private static func isDottedDigits(_ u: ArraySlice<Unicode.Scalar>) -> Bool {
        guard !u.isEmpty else { return false }
        return u.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0.allSatisfy(MMPy.isDecimal) }
    }

    /// fullmatch `(v|iter)?\d+([.]\d+)*`, IGNORECASE.
    static func isVersion(_ u: ArraySlice<Unicode.Scalar>) -> Bool {
        if isDottedDigits(u) { return true }
        if let f = u.first, MMPy.eqI(f, "v"), isDottedDigits(u.dropFirst()) { return true }
        if u.count > 4, MMPy.eqI(u.prefix(4), "iter"), isDottedDigits(u.dropFirst(4)) { return true }
        return false
    }

    /// fullmatch `i?q\d(_\w)*|b?fp?(16|32)`, IGNORECASE.
    static func isQuantType(_ u: ArraySlice<Unicode.Scalar>) -> Bool {
        var a = u
        if let f = a.first, MMPy.eqI(f, "i") {
            if matchesQ(a.dropFirst()) { return true }
        }
        if matchesQ(a) { return true }
        if let f = a.first, MMPy.eqI(f, "b") { a = a.dropFirst() }
        guard let f = a.first, MMPy.eqI(f, "f") else { return false }
        a = a.dropFirst()
        if let p = a.first, MMPy.eqI(p, "p") {
            let b = a.dropFirst()
            if Array(b) == ["1", "6"] || Array(b) == ["3", "2"] { return true }
        }
        return Array(a) == ["1", "6"] || Array(a) == ["3", "2"]
    }

    private static func matchesQ(_ u: ArraySlice<Unicode.Scalar>) -> Bool {
        let a = Array(u)
        guard a.count >= 2, MMPy.eqI(a[0], "q"), MMPy.isDecimal(a[1]) else { return false }
        let rest = a[2...]
        guard rest.count % 2 == 0 else { return false }
        var i = rest.startIndex
        while i < rest.endIndex {
            guard rest[i] == "_", MMPy.isWord(rest[i + 1]) else { return false }
            i += 2
        }
        return true
    }

    /// fullmatch `(([A]|\d+[x])?\d+([._]\d+)?[KMBT][\d]?|small|mini|medium|large|x?xl)`, IGNORECASE.
    static func isSizeLabel(_ u: ArraySlice<Unicode.Scalar>) -> Bool {
        for w in ["small", "mini", "medium", "large", "xl", "xxl"] where MMPy.eqI(u, w) { return true }
        // Optional prefix: 'A' or \d+x.
        var candidates: [ArraySlice<Unicode.Scalar>] = [u]
        if let f = u.first, MMPy.eqI(f, "a") { candidates.append(u.dropFirst()) }
        if let x = u.firstIndex(where: { MMPy.eqI($0, "x") }), x > u.startIndex, u[u.startIndex..<x].allSatisfy(MMPy.isDecimal) {
            candidates.append(u[(x + 1)...])
        }
        return candidates.contains(where: isSizeCore)
    }

    /// `\d+([._]\d+)?[KMBT][\d]?`
    private static func isSizeCore(_ u: ArraySlice<Unicode.Scalar>) -> Bool {
        func isUnit(_ c: Unicode.Scalar) -> Bool { ["k", "m", "b", "t"].contains { MMPy.eqI(c, $0) } }
        var core = u
        guard let last = core.last else { return false }
        if MMPy.isDecimal(last) {
            core = core.dropLast()
            guard let unit = core.last, isUnit(unit) else { return false }
            core = core.dropLast()
        } else if isUnit(last) {
            core = core.dropLast()
        } else { return false }
        let pieces = core.split(omittingEmptySubsequences: false) { $0 == "." || $0 == "_" }
        guard pieces.count <= 2 else { return false }
        return pieces.allSatisfy { !$0.isEmpty && $0.allSatisfy(MMPy.isDecimal) }
    }

    /// fullmatch `chat|instruct|vision|lora`, IGNORECASE.
    static func isFinetuneWord(_ u: ArraySlice<Unicode.Scalar>) -> Bool {
        ["chat", "instruct", "vision", "lora"].contains { MMPy.eqI(u, $0) }
    }

    private struct Tags: OptionSet {
        let rawValue: UInt8
        static let basename = Tags(rawValue: 1)
        static let sizeLabel = Tags(rawValue: 2)
        static let finetune = Tags(rawValue: 4)
        static let version = Tags(rawValue: 8)
        static let type = Tags(rawValue: 16)
    }

    /// `Metadata.get_model_id_components`.
    static func modelIDComponents(_ modelID: String?, totalParams: Int64) -> MMModelIDComponents {
        guard let modelID else { return MMModelIDComponents() }
        if modelID.unicodeScalars.contains(" ") { return MMModelIDComponents(fullName: modelID) }

        var org: String?
        let fullName: String
        if let slash = modelID.firstIndex(of: "/") {
            org = String(modelID[..<slash])
            fullName = String(modelID[modelID.index(after: slash)...])
        } else {
            fullName = modelID
        }
        if let o = org, o.unicodeScalars.first == "." { org = nil }

        var parts: [[Unicode.Scalar]] = fullName.unicodeScalars.split(separator: "-", omittingEmptySubsequences: true).map(Array.init)
        var types = [Tags](repeating: [], count: parts.count)

        for i in parts.indices {
            var part = parts[i]
            let slice = part[...]
            if isVersion(slice) {
                types[i].insert(.version)
            } else if isQuantType(slice) {
                types[i].insert(.type)
                parts[i] = Array(MMPy.string(part).uppercased().unicodeScalars)
            } else if i > 0, isSizeLabel(slice) {
                part = part.map { $0 == "_" ? "." : $0 }
                if let last = part.last, MMPy.isDecimal(last), part.count >= 2 {
                    // bloom-7b1 notation: "7b1" -> "7.1b"
                    part = Array(part.dropLast(2)) + ["."] + [last, part[part.count - 2]]
                }
                if part.count > 1, MMPy.isDecimal(part[part.count - 2]), ["k", "m", "b", "t"].contains(part[part.count - 1]) {
                    part[part.count - 1] = Unicode.Scalar(UInt8(part[part.count - 1].value) - 32)
                }
                if totalParams != 0, let unit = part.last, let scale = ["K": 1.0e3, "M": 1.0e6, "B": 1.0e9, "T": 1.0e12][String(unit)],
                   let number = MMPy.decimalFloat(part.dropLast()) {
                    let labelParams = number * scale
                    let contextLike: Bool
                    if totalParams < 0 {
                        let absTotal = totalParams.magnitude
                        contextLike = labelParams < Double(absTotal / 8)
                    } else {
                        let sevenEighths = (totalParams / 8) * 7 + ((totalParams % 8) * 7) / 8
                        contextLike = abs(labelParams - Double(totalParams)) > Double(sevenEighths)
                    }
                    if contextLike {
                        types[i].insert(.finetune)
                        part[part.count - 1] = Unicode.Scalar(MMPy.string([unit]).lowercased())!
                    }
                }
                if types[i].isEmpty { types[i].insert(.sizeLabel) }
                parts[i] = part
            } else if i > 0, isFinetuneWord(slice) {
                if totalParams < 0, MMPy.string(part).lowercased() == "lora" {
                    types[i].insert(.type)
                } else {
                    types[i].insert(.finetune)
                }
            }
        }

        // Word-based size labels are dropped when a number-based one exists.
        let hasNumericSize = zip(parts, types).contains { $1.contains(.sizeLabel) && $0.contains(where: MMPy.isDecimal) }
        if hasNumericSize {
            for i in parts.indices where types[i].contains(.sizeLabel) && parts[i].allSatisfy(MMPy.isAlpha) {
                types[i].remove(.sizeLabel)
            }
        }

        var atStart = true
        for i in parts.indices {
            if atStart && ((types[i].isEmpty && MMPy.isAlpha(parts[i][0])) || types[i].contains(.version)) {
                types[i].insert(.basename)
            } else {
                atStart = false
                if types[i].isEmpty { types[i].insert(.finetune) }
            }
        }
        for i in parts.indices.reversed() {
            if types[i].contains(.basename) && types[i] != .basename { types[i].remove(.basename) } else { break }
        }

        func joined(_ include: (Tags) -> Bool, dedup: Bool = false) -> String? {
            var seen = Set<String>()
            var items: [String] = []
            for (p, t) in zip(parts, types) where include(t) {
                let s = MMPy.string(p)
                if dedup { if seen.contains(s) { continue }; seen.insert(s) }
                items.append(s)
            }
            let j = items.joined(separator: "-")
            return j.isEmpty ? nil : j
        }
        var basename = joined { $0.contains(.basename) }
        let sizeLabel = joined({ $0.contains(.sizeLabel) }, dedup: true)
        let finetune = joined { $0.contains(.finetune) }
        let version = joined { $0.contains(.version) && !$0.contains(.basename) }
        if sizeLabel == nil && finetune == nil && version == nil { basename = nil }
        return MMModelIDComponents(fullName: fullName, organization: org, basename: basename, finetune: finetune, version: version, sizeLabel: sizeLabel)
    }

    /// `utility.model_weight_count_rounded_notation(count, min_digits=2)`.
    static func roundedNotation(_ count: Int64) -> String {
        let x = Double(count)
        let scaled: Double
        let suffix: String
        if x > 1e12 { scaled = x * 1e-12; suffix = "T" }
        else if x > 1e9 { scaled = x * 1e-9; suffix = "B" }
        else if x > 1e6 { scaled = x * 1e-6; suffix = "M" }
        else { scaled = x * 1e-3; suffix = "K" }
        let rounded = scaled.rounded(.toNearestOrEven)
        var digits = String(format: "%.0f", rounded)
        while digits.hasPrefix("0") { digits.removeFirst() }
        let fix = max(2 - digits.count, 0)
        return String(format: "%.\(fix)f", scaled) + suffix
    }

    /// `utility.size_label`.
    static func sizeLabel(total: Int64, shared: Int64, expert: Int64, expertCount: Int64) -> String {
        if expertCount > 0 {
            return "\(expertCount)x" + roundedNotation(abs(shared) + abs(expert))
        }
        return roundedNotation(abs(total))
    }
}
