/// Python's `json.dumps`, byte for byte.
///
/// Kiln writes JSON that Python tools read back and compare as text (chat templates serialize tool schemas with
/// `tojson`, manifests are diffed against the converter's), so the output follows CPython 3.11's encoder exactly:
/// separators, indentation, key order, string escapes and the `repr` of floats.
extension JSONValue {
    /// The text `json.dumps(value, ensure_ascii=, indent=, separators=, sort_keys=)` returns in Python.
    ///
    /// - Parameters:
    ///   - ensureASCII: escape every character outside printable ASCII as `\uXXXX` (surrogate pairs above U+FFFF),
    ///     Python's default; `false` writes them as raw UTF-8.
    ///   - indent: `nil` writes everything on one line; otherwise each member goes on its own line, nested by the
    ///     given indent (`.spaces(0)` still breaks lines, as Python's `indent=0` does).
    ///   - separators: `(item, key)`; by default `(", ", ": ")`, or `(",", ": ")` when indenting.
    ///   - sortKeys: order object members by key (code point order) instead of insertion order.
    public func dumps(
        ensureASCII: Bool = true, indent: JSONIndent? = nil, separators: (item: String, key: String)? = nil,
        sortKeys: Bool = false
    ) -> String {
        var writer = PythonJSONWriter(
            ensureASCII: ensureASCII, indent: indent?.text, separators: separators, sortKeys: sortKeys)
        writer.write(self, level: 0)
        return writer.output
    }
}

/// The `indent` argument of `json.dumps`: a number of spaces or a literal string.
public enum JSONIndent: Sendable, Equatable, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    case spaces(Int)
    case text(String)

    public init(integerLiteral value: Int) { self = .spaces(value) }
    public init(stringLiteral value: String) { self = .text(value) }

    /// The string repeated once per nesting level (Python: `' ' * indent`, so a negative count is empty).
    public var text: String {
        switch self {
        case .spaces(let n): return String(repeating: " ", count: max(0, n))
        case .text(let s): return s
        }
    }
}

/// Python formatting primitives shared by `dumps` and by other modules that must print like Python
/// (the chat template engine prints floats with `str()` and serializes its own values with `tojson`).
public enum PythonFormat {
    /// `repr(float)` (also `str(float)`): the shortest digits that round-trip, fixed notation for decimal
    /// exponents from -4 to 15 and scientific (`1e-07`, `1e+16`) outside; `nan`, `inf`, `-inf`.
    public static func floatRepr(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description also yields the shortest round-trip digits; only the layout differs from Python's.
        let text = value.magnitude.description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var digits: [UInt8] = []
        var pointPosition = 0
        var seenPoint = false
        for byte in mantissa.utf8 {
            if byte == UInt8(ascii: ".") { seenPoint = true; continue }
            digits.append(byte)
            if !seenPoint { pointPosition += 1 }
        }
        pointPosition += exponent
        while let first = digits.first, first == UInt8(ascii: "0") { digits.removeFirst(); pointPosition -= 1 }
        while let last = digits.last, last == UInt8(ascii: "0") { digits.removeLast() }
        if digits.isEmpty { return value.sign == .minus ? "-0.0" : "0.0" }
        var out = value.sign == .minus ? "-" : ""
        let scientificExponent = pointPosition - 1
        if scientificExponent >= -4 && scientificExponent < 16 {
            if pointPosition <= 0 {
                out += "0." + String(repeating: "0", count: -pointPosition) + String(decoding: digits, as: UTF8.self)
            } else if pointPosition >= digits.count {
                out += String(decoding: digits, as: UTF8.self)
                out += String(repeating: "0", count: pointPosition - digits.count) + ".0"
            } else {
                out += String(decoding: digits[..<pointPosition], as: UTF8.self) + "."
                out += String(decoding: digits[pointPosition...], as: UTF8.self)
            }
        } else {
            out += String(decoding: digits[..<1], as: UTF8.self)
            if digits.count > 1 { out += "." + String(decoding: digits[1...], as: UTF8.self) }
            let magnitude = abs(scientificExponent)
            out += (scientificExponent < 0 ? "e-" : "e+") + (magnitude < 10 ? "0" : "") + String(magnitude)
        }
        return out
    }

    /// A float as `json.dumps` writes it: `repr`, except `NaN`, `Infinity` and `-Infinity`.
    public static func jsonFloat(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return floatRepr(value)
    }

    /// Appends `string` as a quoted JSON string with Python's escapes: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`,
    /// other controls as `\u00xx` (lowercase hex); with `ensureASCII`, also everything outside `' '...'~'`.
    public static func appendJSONString(_ string: String, ensureASCII: Bool, to out: inout String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(string.utf8.count + 2)
        appendJSONString(string, ensureASCII: ensureASCII, to: &bytes)
        out.append(String(decoding: bytes, as: UTF8.self))
    }

    /// `appendJSONString` into UTF-8 bytes, for writers that build a long document.
    public static func appendJSONString(_ string: String, ensureASCII: Bool, to out: inout [UInt8]) {
        out.append(0x22)
        var string = string
        string.makeContiguousUTF8()  // a no-op for native strings
        let clean = string.utf8.withContiguousStorageIfAvailable { buffer in
            for byte in buffer where byte < 0x20 || byte == 0x22 || byte == 0x5C || (ensureASCII && byte >= 0x7F) {
                return false
            }
            out.append(contentsOf: buffer)
            return true
        }
        if clean == true {
            out.append(0x22)
            return
        }
        for scalar in string.unicodeScalars {
            let v = scalar.value
            switch v {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0x08: out.append(contentsOf: [0x5C, 0x62])
            case 0x0C: out.append(contentsOf: [0x5C, 0x66])
            case 0..<0x20: appendUnicodeEscape(v, to: &out)
            case 0x7F...:
                if !ensureASCII {
                    out.append(contentsOf: String(scalar).utf8)
                } else if v > 0xFFFF {
                    let offset = v - 0x10000
                    appendUnicodeEscape(0xD800 + (offset >> 10), to: &out)
                    appendUnicodeEscape(0xDC00 + (offset & 0x3FF), to: &out)
                } else {
                    appendUnicodeEscape(v, to: &out)
                }
            default: out.append(UInt8(v))
            }
        }
        out.append(0x22)
    }

    private static func appendUnicodeEscape(_ value: UInt32, to out: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        out.append(contentsOf: [0x5C, 0x75])
        for shift in stride(from: 12, through: 0, by: -4) { out.append(hex[Int((value >> UInt32(shift)) & 0xF)]) }
    }
}

/// The recursive encoder behind `dumps`, mirroring CPython's `json.encoder` layout rules.
private struct PythonJSONWriter {
    let sortKeys: Bool
    var text: PythonJSONText

    init(ensureASCII: Bool, indent: String?, separators: (item: String, key: String)?, sortKeys: Bool) {
        self.sortKeys = sortKeys
        text = PythonJSONText(ensureASCII: ensureASCII, indent: indent, separators: separators)
    }

    var output: String { text.text }

    mutating func write(_ value: JSONValue, level: Int) {
        switch value {
        case .null: text.null()
        case .bool(let b): text.bool(b)
        case .int(let i): text.int(i)
        case .double(let d): text.double(d)
        case .string(let s): text.string(s)
        case .array(let elements):
            guard !elements.isEmpty else { return text.empty(.array) }
            text.open(.array)
            for (i, element) in elements.enumerated() {
                text.member(i, level: level)
                write(element, level: level + 1)
            }
            text.close(.array, level: level)
        case .object(let rawMembers):
            guard !rawMembers.isEmpty else { return text.empty(.object) }
            var members = Self.pythonDictionary(rawMembers)
            if sortKeys {
                members.sort { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
            }
            text.open(.object)
            for (i, member) in members.enumerated() {
                text.member(i, level: level)
                text.key(member.key)
                write(member.value, level: level + 1)
            }
            text.close(.object, level: level)
        }
    }

    /// Members as a Python dict holds them after `json.load`: a repeated key keeps its first position and
    /// its last value.
    static func pythonDictionary(_ members: [(key: String, value: JSONValue)]) -> [(key: String, value: JSONValue)] {
        guard members.count > 1 else { return members }
        var seen = Set<[Unicode.Scalar]>()
        var hasDuplicates = false
        for member in members where !seen.insert(Array(member.key.unicodeScalars)).inserted {
            hasDuplicates = true
            break
        }
        guard hasDuplicates else { return members }
        var result: [(key: String, value: JSONValue)] = []
        var position: [[Unicode.Scalar]: Int] = [:]
        for member in members {
            let key = Array(member.key.unicodeScalars)
            if let index = position[key] {
                result[index].value = member.value
            } else {
                position[key] = result.count
                result.append(member)
            }
        }
        return result
    }
}
