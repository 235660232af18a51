/// The character classes the pre-tokenizer split patterns use: `\p{L}`, `\p{N}`, `\p{M}` and `\s`, plus "other".
///
/// `\s` is the Unicode White_Space property, which is what Oniguruma (Hugging Face `tokenizers`) and
/// llama.cpp's `unicode.cpp` use. The Basic Multilingual Plane is tabulated once; other planes ask the
/// standard library's Unicode tables directly (rare in text and not worth 1 MB of table).
enum UnicodeClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    static let mark: UInt8 = 8

    static let bmp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for value in 0..<0x10000 {
            guard let scalar = Unicode.Scalar(UInt32(value)) else { continue }
            table[value] = compute(scalar)
        }
        return table
    }()

    static func compute(_ scalar: Unicode.Scalar) -> UInt8 {
        var flags: UInt8 = 0
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: flags = letter
        case .decimalNumber, .letterNumber, .otherNumber: flags = number
        case .nonspacingMark, .spacingMark, .enclosingMark: flags = mark
        default: break
        }
        if scalar.properties.isWhitespace { flags |= whitespace }
        return flags
    }

    @inline(__always)
    static func of(_ value: UInt32) -> UInt8 {
        if value < 0x10000 { return bmp[Int(value)] }
        guard let scalar = Unicode.Scalar(value) else { return 0 }
        return compute(scalar)
    }
}
