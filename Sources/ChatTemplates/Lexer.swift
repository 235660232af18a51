/// A token of the template language, with its 1-based source position.
struct Token {
    enum Kind: Equatable {
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        /// `+`, `//`, `==`, `(`, `|`...
        case op(String)
        case end
    }

    var kind: Kind
    var position: SourcePosition
}

/// Splits a template into text and tag tokens the way jinja2's lexer does with `trim_blocks` and `lstrip_blocks`.
///
/// The rules that decide whitespace are subtle and visible in every prompt, so they follow jinja2 3.1.6 to
/// the letter: newlines (`\r\n`, `\r`, `\n`) read as `\n`, one trailing newline of the template is dropped,
/// `-` strips all Python whitespace on its side, `trim_blocks` eats one newline right after `%}` or `#}`, and
/// `lstrip_blocks` drops spaces and tabs before `{%`/`{#` when only they precede the tag on its line.
struct Lexer {
    private let chars: [Unicode.Scalar]
    private var pos = 0
    private var line: Int32 = 1
    private var lineStart = 0
    private var tokens: [Token] = []
    /// Whether the previous match ended with a newline (jinja2's `line_starting`), which lets lstrip apply to
    /// text that has no newline of its own.
    private var lineStarting = true

    init(source: String) {
        var normalized: [Unicode.Scalar] = []
        normalized.reserveCapacity(source.unicodeScalars.count)
        var previousWasCR = false
        for c in source.unicodeScalars {
            if c == "\r" {
                normalized.append("\n")
                previousWasCR = true
                continue
            }
            if c == "\n" && previousWasCR { previousWasCR = false; continue }
            previousWasCR = false
            normalized.append(c)
        }
        if normalized.last == "\n" { normalized.removeLast() }
        chars = normalized
    }

    static func tokenize(_ source: String) throws(RenderFailure) -> [Token] {
        var lexer = Lexer(source: source)
        try lexer.run()
        return lexer.tokens
    }

    private var position: SourcePosition { SourcePosition(line: line, column: Int32(pos - lineStart + 1)) }

    private func at(_ offset: Int) -> Unicode.Scalar? {
        let i = pos + offset
        return i < chars.count ? chars[i] : nil
    }

    /// Moves forward, keeping line and column bookkeeping.
    private mutating func advance(to newPos: Int) {
        while pos < newPos {
            if chars[pos] == "\n" {
                line += 1
                lineStart = pos + 1
            }
            pos += 1
        }
    }

    private mutating func run() throws(RenderFailure) {
        while pos < chars.count {
            // Find the next tag opener.
            var i = pos
            var opener: Unicode.Scalar?
            while i + 1 < chars.count {
                if chars[i] == "{", chars[i + 1] == "{" || chars[i + 1] == "%" || chars[i + 1] == "#" {
                    opener = chars[i + 1]
                    break
                }
                i += 1
            }
            guard let opener else {
                emitText(Array(chars[pos...]))
                advance(to: chars.count)
                return
            }
            var text = Array(chars[pos..<i])
            let sign = i + 2 < chars.count ? chars[i + 2] : nil
            let isRaw = opener == "%" && isRawBegin(at: i)
            if sign == "-" {
                var end = text.count
                while end > 0, PythonText.isWhitespace(text[end - 1]) { end -= 1 }
                text.removeSubrange(end...)
            } else if sign != "+" && opener != "{" {
                let lastNewline = text.lastIndex(of: "\n").map { $0 + 1 } ?? 0
                if lastNewline > 0 || lineStarting {
                    let tail = text[lastNewline...]
                    if !tail.isEmpty && tail.allSatisfy(PythonText.isWhitespace) { text.removeSubrange(lastNewline...) }
                }
            }
            emitText(text)
            advance(to: i)
            lineStarting = false
            let tagPosition = position
            advance(to: i + 2 + (sign == "-" || sign == "+" ? 1 : 0))
            if isRaw {
                try lexRaw(from: tagPosition)
                continue
            }
            switch opener {
            case "#": try lexComment(from: tagPosition)
            case "%":
                tokens.append(Token(kind: .blockBegin, position: tagPosition))
                try lexInside(block: true, from: tagPosition)
            default:
                tokens.append(Token(kind: .variableBegin, position: tagPosition))
                try lexInside(block: false, from: tagPosition)
            }
        }
    }

    private mutating func emitText(_ text: [Unicode.Scalar]) {
        guard !text.isEmpty else { return }
        tokens.append(Token(kind: .text(PythonText.string(text)), position: position))
    }

    /// `{% raw %}` (with optional `-`/`+` signs and spaces) starting at `index`.
    private func isRawBegin(at index: Int) -> Bool { rawTagEnd(at: index, word: "raw") != nil }

    /// The end of a `{%[-+] word [-]%}` tag at `index`, and whether it ends with `-%}`.
    private func rawTagEnd(at index: Int, word: String) -> (end: Int, trimsAfter: Bool)? {
        var j = index + 2
        if j < chars.count, chars[j] == "-" || chars[j] == "+" { j += 1 }
        while j < chars.count, PythonText.isWhitespace(chars[j]) { j += 1 }
        for w in word.unicodeScalars {
            guard j < chars.count, chars[j] == w else { return nil }
            j += 1
        }
        while j < chars.count, PythonText.isWhitespace(chars[j]) { j += 1 }
        var trims = false
        if j < chars.count, chars[j] == "-" { trims = true; j += 1 }
        guard j + 1 < chars.count, chars[j] == "%", chars[j + 1] == "}" else { return nil }
        return (j + 2, trims)
    }

    private mutating func lexRaw(from start: SourcePosition) throws(RenderFailure) {
        // Skip the rest of the `{% raw %}` tag.
        let opening = pos - 2 - ((at(-1) == "-" || at(-1) == "+") ? 1 : 0)
        guard let (end, trims) = rawTagEnd(at: opening, word: "raw") else {
            throw RenderFailure(.syntax, "malformed raw tag", at: start)
        }
        advance(to: end)
        if trims { skipWhitespace() }
        // The body runs to the first `{% endraw %}`.
        var i = pos
        while i + 1 < chars.count {
            if chars[i] == "{", chars[i + 1] == "%", let (closeEnd, closeTrims) = rawTagEnd(at: i, word: "endraw") {
                var body = Array(chars[pos..<i])
                let sign = chars[i + 2]
                if sign == "-" {
                    while let last = body.last, PythonText.isWhitespace(last) { body.removeLast() }
                } else if sign != "+" {
                    let lastNewline = body.lastIndex(of: "\n").map { $0 + 1 } ?? 0
                    let tail = body[lastNewline...]
                    if !tail.isEmpty && tail.allSatisfy(PythonText.isWhitespace) { body.removeSubrange(lastNewline...) }
                }
                emitText(body)
                advance(to: closeEnd)
                if closeTrims {
                    skipWhitespace()
                } else if at(0) == "\n" {
                    advance(to: pos + 1); lineStarting = true; return
                }
                lineStarting = pos > 0 && chars[pos - 1] == "\n"
                return
            }
            i += 1
        }
        throw RenderFailure(.syntax, "Missing end of raw directive", at: start)
    }

    private mutating func skipWhitespace() {
        while let c = at(0), PythonText.isWhitespace(c) { advance(to: pos + 1) }
    }

    private mutating func lexComment(from start: SourcePosition) throws(RenderFailure) {
        while pos + 1 < chars.count {
            if chars[pos] == "-", pos + 2 < chars.count, chars[pos + 1] == "#", chars[pos + 2] == "}" {
                advance(to: pos + 3)
                skipWhitespace()
                lineStarting = pos > 0 && chars[pos - 1] == "\n"
                return
            }
            if chars[pos] == "+", pos + 2 < chars.count, chars[pos + 1] == "#", chars[pos + 2] == "}" {
                advance(to: pos + 3)
                lineStarting = false
                return
            }
            if chars[pos] == "#", chars[pos + 1] == "}" {
                advance(to: pos + 2)
                if at(0) == "\n" { advance(to: pos + 1); lineStarting = true } else { lineStarting = false }
                return
            }
            advance(to: pos + 1)
        }
        throw RenderFailure(.syntax, "Missing end of comment tag", at: start)
    }

    private mutating func lexInside(block: Bool, from start: SourcePosition) throws(RenderFailure) {
        var balance: [Unicode.Scalar] = []
        while true {
            guard let c = at(0) else {
                throw RenderFailure(
                    .syntax,
                    "unexpected end of template, expected '\(block ? "end of statement block" : "end of print statement")'",
                    at: start)
            }
            if balance.isEmpty {
                let closer: Unicode.Scalar = block ? "%" : "}"
                if c == "-", at(1) == closer, at(2) == "}" {
                    advance(to: pos + 3)
                    tokens.append(Token(kind: block ? .blockEnd : .variableEnd, position: position))
                    skipWhitespace()
                    lineStarting = pos > 0 && chars[pos - 1] == "\n"
                    return
                }
                if block, c == "+", at(1) == "%", at(2) == "}" {
                    advance(to: pos + 3)
                    tokens.append(Token(kind: .blockEnd, position: position))
                    lineStarting = false
                    return
                }
                if c == closer, at(1) == "}" {
                    let endPosition = position
                    advance(to: pos + 2)
                    tokens.append(Token(kind: block ? .blockEnd : .variableEnd, position: endPosition))
                    if block, at(0) == "\n" {
                        advance(to: pos + 1)
                        lineStarting = true
                    } else {
                        lineStarting = false
                    }
                    return
                }
            }
            if PythonText.isWhitespace(c) {
                advance(to: pos + 1)
                continue
            }
            let tokenPosition = position
            if c == "_" || c.properties.isAlphabetic && c.isASCII {
                var j = pos
                while j < chars.count,
                    chars[j] == "_"
                        || (chars[j].isASCII && (chars[j].properties.isAlphabetic || ("0"..."9").contains(chars[j])))
                {
                    j += 1
                }
                tokens.append(Token(kind: .name(PythonText.string(chars[pos..<j])), position: tokenPosition))
                advance(to: j)
                continue
            }
            if ("0"..."9").contains(c) {
                try lexNumber(at: tokenPosition)
                continue
            }
            if c == "'" || c == "\"" {
                try lexString(quote: c, at: tokenPosition)
                continue
            }
            let threes = ["//", "**", "==", "!=", ">=", "<="]
            if let next = at(1), threes.contains(String(c) + String(next)) {
                tokens.append(Token(kind: .op(String(c) + String(next)), position: tokenPosition))
                advance(to: pos + 2)
                continue
            }
            switch c {
            case "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";":
                if c == "(" {
                    balance.append(")")
                } else if c == "[" {
                    balance.append("]")
                } else if c == "{" {
                    balance.append("}")
                }
                if c == ")" || c == "]" || c == "}" {
                    guard let expected = balance.popLast() else {
                        throw RenderFailure(.syntax, "unexpected '\(c)'", at: tokenPosition)
                    }
                    guard expected == c else {
                        throw RenderFailure(.syntax, "unexpected '\(c)', expected '\(expected)'", at: tokenPosition)
                    }
                }
                tokens.append(Token(kind: .op(String(c)), position: tokenPosition))
                advance(to: pos + 1)
            default:
                throw RenderFailure(.syntax, "unexpected char '\(c)' at \(pos)", at: tokenPosition)
            }
        }
    }

    private mutating func lexNumber(at tokenPosition: SourcePosition) throws(RenderFailure) {
        var j = pos
        func digits(_ j: inout Int) {
            while j < chars.count,
                ("0"..."9").contains(chars[j])
                    || (chars[j] == "_" && j + 1 < chars.count && ("0"..."9").contains(chars[j + 1]))
            {
                j += 1
            }
        }
        digits(&j)
        var isFloat = false
        if j + 1 < chars.count, chars[j] == ".", ("0"..."9").contains(chars[j + 1]) {
            isFloat = true
            j += 1
            digits(&j)
        }
        if j < chars.count, chars[j] == "e" || chars[j] == "E" {
            var k = j + 1
            if k < chars.count, chars[k] == "+" || chars[k] == "-" { k += 1 }
            if k < chars.count, ("0"..."9").contains(chars[k]) {
                isFloat = true
                j = k
                digits(&j)
            }
        }
        let text = PythonText.string(chars[pos..<j]).replacingOccurrences(of: "_", with: "")
        if isFloat {
            guard let value = Double(text) else {
                throw RenderFailure(.syntax, "invalid number '\(text)'", at: tokenPosition)
            }
            tokens.append(Token(kind: .float(value), position: tokenPosition))
        } else {
            guard let value = Int(text) else {
                throw RenderFailure(.syntax, "integer literal too large: \(text)", at: tokenPosition)
            }
            tokens.append(Token(kind: .integer(value), position: tokenPosition))
        }
        advance(to: j)
    }

    /// A string literal, unescaped as Python's `unicode-escape` codec does (unknown escapes stay as written).
    private mutating func lexString(quote: Unicode.Scalar, at tokenPosition: SourcePosition) throws(RenderFailure) {
        var j = pos + 1
        var out = String.UnicodeScalarView()
        while true {
            guard j < chars.count else {
                throw RenderFailure(.syntax, "unexpected char '\(quote)' at \(pos)", at: tokenPosition)
            }
            let c = chars[j]
            if c == quote { break }
            if c != "\\" {
                out.append(c)
                j += 1
                continue
            }
            guard j + 1 < chars.count else {
                throw RenderFailure(.syntax, "unexpected char '\(quote)' at \(pos)", at: tokenPosition)
            }
            let e = chars[j + 1]
            j += 2
            switch e {
            case "\n": break
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var value = e.value - 0x30
                var n = 1
                while n < 3, j < chars.count, ("0"..."7").contains(chars[j]) {
                    value = value * 8 + chars[j].value - 0x30
                    j += 1
                    n += 1
                }
                out.append(Unicode.Scalar(value) ?? "\u{FFFD}")
            case "x", "u", "U":
                let width = e == "x" ? 2 : e == "u" ? 4 : 8
                guard j + width <= chars.count, let value = UInt32(PythonText.string(chars[j..<(j + width)]), radix: 16)
                else {
                    throw RenderFailure(.syntax, "truncated \\\(e) escape", at: tokenPosition)
                }
                guard let scalar = Unicode.Scalar(value) else {
                    throw RenderFailure(.syntax, "illegal Unicode character", at: tokenPosition)
                }
                out.append(scalar)
                j += width
            default:
                out.append("\\")
                out.append(e)
            }
        }
        // The source is already newline-normalized, so the literal's newlines are `\n` as jinja2's are.
        tokens.append(Token(kind: .string(String(out)), position: tokenPosition))
        advance(to: j + 1)
    }
}
