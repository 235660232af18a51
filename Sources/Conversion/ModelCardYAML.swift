import Foundation
import Yams

// MARK: - YAML (PyYAML safe_load typing)

enum ModelCardYAML {
    /// Parses one YAML document the way `yaml.safe_load` types it (YAML 1.1 implicit
    /// resolution of plain scalars: bools yes/no/on/off, ints with 0b/0x/leading-0 octal,
    /// underscores and base 60, floats that need a dot, nulls, timestamps).
    static func load(_ text: String) throws -> PythonValue {
        guard let node = try Yams.compose(yaml: text, Resolver.basic) else { return .none }
        return convert(node)
    }

    private static let strTag = "tag:yaml.org,2002:str"

    private static func convert(_ node: Node) -> PythonValue {
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
            var pairs: [(PythonValue, PythonValue)] = []
            for (k, v) in map {
                let key = convert(k)
                // PyYAML's "<<" merge keys are not handled (rare in model cards).
                pairs.append((key, convert(v)))
            }
            return PythonValue.makeDict(pairs)
        case .alias:
            return .other("alias")
        }
    }

    private static func construct(_ s: String, tag: String) -> PythonValue {
        switch tag {
        case strTag, "!": return .str(s)
        case "tag:yaml.org,2002:null": return .none
        case "tag:yaml.org,2002:bool": return boolValue(s).map(PythonValue.bool) ?? .other("bool")
        case "tag:yaml.org,2002:int": return intValue(s) ?? .other("int")
        case "tag:yaml.org,2002:float": return floatValue(s).map(PythonValue.float) ?? .other("float")
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
    static func resolvePlain(_ s: String) -> PythonValue {
        if s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL" { return .none }
        let bools = [
            "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON",
            "off", "Off", "OFF"
        ]
        if bools.contains(s) { return .bool(boolValue(s)!) }
        if isYAMLFloat(s) { return floatValue(s).map(PythonValue.float) ?? .other("float") }
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
                if k + 1 < c.count, ("0"..."5").contains(c[k]), isDigit(c[k + 1]) {
                    k += 2
                } else if k < c.count, isDigit(c[k]) {
                    k += 1
                } else {
                    return false
                }
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
            if rest.first == "b" {
                return rest.count > 1 && rest.dropFirst().allSatisfy { $0 == "0" || $0 == "1" || $0 == "_" }
            }
            if rest.first == "x" {
                return rest.count > 1 && rest.dropFirst().allSatisfy { $0.isHexDigit && $0.isASCII || $0 == "_" }
            }
            return rest.allSatisfy { ("0"..."7").contains($0) || $0 == "_" }
        }
        guard ("1"..."9").contains(first) else { return false }
        var j = 1
        while j < c.count, isDigit(c[j]) || c[j] == "_" { j += 1 }
        if j == c.count { return true }
        var groups = 0
        while j < c.count, c[j] == ":" {
            j += 1
            if j + 1 < c.count, ("0"..."5").contains(c[j]), isDigit(c[j + 1]) {
                j += 2
            } else if j < c.count, isDigit(c[j]) {
                j += 1
            } else {
                return false
            }
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
        if j < c.count, c[j] == "T" || c[j] == "t" {
            j += 1
        } else {
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
    static func intValue(_ s: String) -> PythonValue? {
        var v = s.replacingOccurrences(of: "_", with: "")
        var sign: Int64 = 1
        if v.first == "-" { sign = -1 }
        if v.first == "-" || v.first == "+" { v.removeFirst() }
        if v == "0" { return .int(0) }
        var magnitude: Int64?
        if v.hasPrefix("0b") {
            magnitude = Int64(v.dropFirst(2), radix: 2)
        } else if v.hasPrefix("0x") {
            magnitude = Int64(v.dropFirst(2), radix: 16)
        } else if v.hasPrefix("0") {
            magnitude = Int64(v.dropFirst(), radix: 8)
        } else if v.contains(":") {
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
        } else {
            magnitude = Int64(v)
        }
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
