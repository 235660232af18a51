import Foundation

// MARK: - Python string predicates (on Unicode scalars, like Python's code points)

enum PythonString {
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
            } else {
                cur.append(c)
            }
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
            if c == "." {
                ascii.append(".")
            } else if isDecimal(c), let v = c.properties.numericValue {
                ascii += String(Int(v)); sawDigit = true
            } else {
                return nil
            }
        }
        guard sawDigit, ascii.filter({ $0 == "." }).count <= 1 else { return nil }
        if ascii.hasPrefix(".") { ascii = "0" + ascii }
        if ascii.hasSuffix(".") { ascii += "0" }
        return Double(ascii)
    }
}
