import Foundation

/// Python `str` operations, which work on Unicode code points (Swift `Character`s are grapheme clusters:
/// `"\r\n"` is one Character, and `"é"` may be two code points), with Python's notion of whitespace.
enum PythonText {
    /// `str.isspace()` / the `\s` class: what `split()`, `strip()` and jinja2's `-` whitespace control remove.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `str.isprintable()` for one character, which decides what `repr` escapes.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x7F { return scalar.value >= 0x20 }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
            .spaceSeparator:
            return false
        default:
            return true
        }
    }

    static func scalars(_ s: String) -> [Unicode.Scalar] { Array(s.unicodeScalars) }

    static func string<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// `str.strip(chars)` (`chars == nil`: whitespace) on the chosen sides.
    static func strip(_ s: String, chars: String?, leading: Bool, trailing: Bool) -> String {
        let view = s.unicodeScalars
        let set: Set<Unicode.Scalar>? = chars.map { Set($0.unicodeScalars) }
        func strippable(_ c: Unicode.Scalar) -> Bool { set?.contains(c) ?? isWhitespace(c) }
        var start = view.startIndex
        var end = view.endIndex
        if leading { while start < end, strippable(view[start]) { start = view.index(after: start) } }
        if trailing {
            while end > start {
                let before = view.index(before: end)
                guard strippable(view[before]) else { break }
                end = before
            }
        }
        if start == view.startIndex && end == view.endIndex { return s }
        return String(view[start..<end])
    }

    /// `str.split(sep, maxsplit)`: with no separator, runs of whitespace split and edges are dropped; with one,
    /// every occurrence splits and empty parts stay.
    static func split(_ s: String, separator: String?, maxSplit: Int = -1) throws(RenderFailure) -> [String] {
        let chars = scalars(s)
        var parts: [String] = []
        guard let separator else {
            var i = 0
            var splits = 0
            while i < chars.count {
                while i < chars.count, isWhitespace(chars[i]) { i += 1 }
                guard i < chars.count else { break }
                if maxSplit >= 0 && splits >= maxSplit {
                    var end = chars.count
                    while end > i, isWhitespace(chars[end - 1]) { end -= 1 }
                    parts.append(string(chars[i..<end]))
                    return parts
                }
                let start = i
                while i < chars.count, !isWhitespace(chars[i]) { i += 1 }
                parts.append(string(chars[start..<i]))
                splits += 1
            }
            return parts
        }
        let sep = scalars(separator)
        guard !sep.isEmpty else { throw RenderFailure(.type, "empty separator") }
        var start = 0
        var i = 0
        var splits = 0
        while i + sep.count <= chars.count {
            if (maxSplit < 0 || splits < maxSplit) && chars[i] == sep[0]
                && chars[i..<(i + sep.count)].elementsEqual(sep)
            {
                parts.append(string(chars[start..<i]))
                i += sep.count
                start = i
                splits += 1
            } else {
                i += 1
            }
        }
        parts.append(string(chars[start...]))
        return parts
    }

    /// `str.rsplit(sep, maxsplit)`.
    static func rsplit(_ s: String, separator: String?, maxSplit: Int) throws(RenderFailure) -> [String] {
        if maxSplit < 0 { return try split(s, separator: separator) }
        let reversedParts = try split(
            string(s.unicodeScalars.reversed()),
            separator: separator.map { string($0.unicodeScalars.reversed()) },
            maxSplit: maxSplit)
        return reversedParts.reversed().map { string($0.unicodeScalars.reversed()) }
    }

    /// `str.splitlines(keepends)` with Python's line boundaries.
    static func splitLines(_ s: String, keepEnds: Bool) -> [String] {
        let chars = scalars(s)
        var lines: [String] = []
        var start = 0
        var i = 0
        while i < chars.count {
            let c = chars[i].value
            let isBreak =
                c == 0x0A || c == 0x0D || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E
                || c == 0x85 || c == 0x2028 || c == 0x2029
            if isBreak {
                var end = i + 1
                if c == 0x0D && end < chars.count && chars[end].value == 0x0A { end += 1 }
                lines.append(string(chars[start..<(keepEnds ? end : i)]))
                start = end
                i = end
            } else {
                i += 1
            }
        }
        if start < chars.count { lines.append(string(chars[start...])) }
        return lines
    }

    /// `str.replace(old, new, count)`; an empty `old` inserts `new` between every character, as Python does.
    static func replace(_ s: String, _ old: String, _ new: String, count: Int = -1) -> String {
        if old.isEmpty {
            var out = String.UnicodeScalarView()
            var done = 0
            for c in s.unicodeScalars {
                if count < 0 || done < count { out.append(contentsOf: new.unicodeScalars); done += 1 }
                out.append(c)
            }
            if count < 0 || done < count { out.append(contentsOf: new.unicodeScalars) }
            return String(out)
        }
        let chars = scalars(s)
        let target = scalars(old)
        var out = String.UnicodeScalarView()
        var i = 0
        var done = 0
        while i < chars.count {
            if (count < 0 || done < count) && i + target.count <= chars.count && chars[i] == target[0]
                && chars[i..<(i + target.count)].elementsEqual(target)
            {
                out.append(contentsOf: new.unicodeScalars)
                i += target.count
                done += 1
            } else {
                out.append(chars[i])
                i += 1
            }
        }
        return String(out)
    }

    /// `str.find(sub)` as a code point offset, or -1.
    static func find(_ s: String, _ sub: String, reverse: Bool = false) -> Int {
        let chars = scalars(s)
        let target = scalars(sub)
        guard target.count <= chars.count else { return -1 }
        let starts = Array(0...(chars.count - target.count))
        for i in reverse ? starts.reversed() : starts where chars[i..<(i + target.count)].elementsEqual(target) {
            return i
        }
        return -1
    }

    static func count(_ s: String, _ sub: String) -> Int {
        let chars = scalars(s)
        let target = scalars(sub)
        if target.isEmpty { return chars.count + 1 }
        var i = 0
        var n = 0
        while i + target.count <= chars.count {
            if chars[i..<(i + target.count)].elementsEqual(target) { n += 1; i += target.count } else { i += 1 }
        }
        return n
    }

    static func isCased(_ c: Unicode.Scalar) -> Bool { c.properties.isCased }

    /// `str.title()`: a cased character after an uncased one is title-cased, the others lowercased.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s.unicodeScalars {
            if previousCased { out += c.properties.lowercaseMapping } else { out += c.properties.titlecaseMapping }
            previousCased = isCased(c)
        }
        return out
    }

    /// `str.capitalize()`: the first character title-cased, the rest lowercased.
    static func capitalize(_ s: String) -> String {
        var out = ""
        for (i, c) in s.unicodeScalars.enumerated() {
            out += i == 0 ? c.properties.titlecaseMapping : c.properties.lowercaseMapping
        }
        return out
    }

    static func upper(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars { out += c.properties.uppercaseMapping }
        return out
    }

    static func lower(_ s: String) -> String {
        if s.utf8.allSatisfy({ $0 < 0x80 }) { return s.lowercased() }
        var out = ""
        for c in s.unicodeScalars { out += c.properties.lowercaseMapping }
        return out
    }

    /// HTML escaping as `markupsafe.escape` does it.
    static func htmlEscape(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            return s
        }
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// `str.center(width)`, padding as CPython does (the extra space goes left when width and margin are odd).
    static func center(_ s: String, width: Int, fill: Unicode.Scalar) -> String {
        let n = s.unicodeScalars.count
        guard width > n else { return s }
        let margin = width - n
        let left = margin / 2 + (margin & width & 1)
        let pad = String(fill)
        return String(repeating: pad, count: left) + s + String(repeating: pad, count: margin - left)
    }

    /// Word characters for `\w` (letters, digits, marks, underscore).
    static func isWordCharacter(_ c: Unicode.Scalar) -> Bool {
        if c == "_" { return true }
        let p = c.properties
        return p.isAlphabetic || p.numericType != nil
    }

    /// The `wordcount` filter: runs of `\w` characters.
    static func wordCount(_ s: String) -> Int {
        var count = 0
        var inWord = false
        for c in s.unicodeScalars {
            let w = isWordCharacter(c)
            if w && !inWord { count += 1 }
            inWord = w
        }
        return count
    }

    /// jinja2's `title` filter (not `str.title`): each chunk after whitespace or one of `-({[<` gets its first
    /// character uppercased and the rest lowercased, so `they're` stays `They're`.
    static func titleFilter(_ s: String) -> String {
        func isBoundary(_ c: Unicode.Scalar) -> Bool { isWhitespace(c) || "-({[<".unicodeScalars.contains(c) }
        var out = ""
        var atStart = true
        for c in s.unicodeScalars {
            if isBoundary(c) {
                out.unicodeScalars.append(c)
                atStart = true
            } else if atStart {
                out += c.properties.uppercaseMapping
                atStart = false
            } else {
                out += c.properties.lowercaseMapping
            }
        }
        return out
    }

    /// Python string equality: same code points. (Swift's `==` treats canonically equivalent strings as equal,
    /// Python does not.) Compares the UTF-8 bytes directly when both strings are contiguous.
    @inline(__always)
    static func equal(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        if let result = a.utf8.withContiguousStorageIfAvailable({ pa in
            b.utf8.withContiguousStorageIfAvailable { pb in
                pa.count == 0 || memcmp(pa.baseAddress!, pb.baseAddress!, pa.count) == 0
            }
        }), let result {
            return result
        }
        return a.utf8.elementsEqual(b.utf8)
    }
}
