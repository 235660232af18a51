/// Hand-written matchers for the pre-tokenizer split regexes real checkpoints use. Each behaves exactly like
/// the regex run by Oniguruma (`tokenizers`) or llama.cpp's `unicode_regex_split` over one piece of text: the
/// alternatives are tried in order at each position, with the same greedy and backtracking results (see the
/// comments per alternative). NSRegularExpression is avoided: on Linux it is slow and its `\p{…}` and `\s`
/// differ in details.
enum SplitPattern: Sendable, Equatable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    /// (Llama 3 with `maxDigits` 3; Qwen2 with 1).
    case llama3(maxDigits: Int)

    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    /// The pattern for a `Split` regex from `tokenizer.json`, if it is one of the known ones.
    static func known(_ regex: String) -> SplitPattern? {
        if regex == gpt2Regex { return .gpt2 }
        if regex == PreTokenizerIdentification.llama3Regex { return .llama3(maxDigits: 3) }
        if regex == PreTokenizerIdentification.qwen2Regex { return .llama3(maxDigits: 1) }
        return nil
    }

    /// Appends the matches in `s[from..<to]` to `pieces` (gaps between matches too, as `Isolated` does;
    /// these patterns leave none).
    func split(
        _ s: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<UInt8>, from: Int, to: Int,
        into pieces: inout [Range<Int>]
    ) {
        switch self {
        case .gpt2: splitGPT2(s, cls, from, to, &pieces)
        case .llama3(let maxDigits): splitLlama3(s, cls, from, to, maxDigits, &pieces)
        }
    }
}

private let L = UnicodeClass.letter
private let N = UnicodeClass.number
private let W = UnicodeClass.whitespace

@inline(__always) private func isOther(_ c: UInt8) -> Bool { c & (L | N | W) == 0 }

/// The contraction alternatives at `i` (which holds an apostrophe): the match length, or 0.
@inline(__always)
private func contraction(_ s: UnsafeBufferPointer<UInt32>, _ i: Int, _ to: Int, caseInsensitive: Bool) -> Int {
    guard i + 1 < to else { return 0 }
    func lower(_ c: UInt32) -> UInt32 { caseInsensitive && c >= 0x41 && c <= 0x5A ? c + 0x20 : c }
    let a = lower(s[i + 1])
    if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }  // s t m d
    guard i + 2 < to else { return 0 }
    let b = lower(s[i + 2])
    if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }  // re ve ll
    return 0
}

/// `\s+(?!\S)|\s+` at a whitespace position: the whole run if it ends the text, otherwise the run minus its
/// last character (which then starts the next match, e.g. " word"), or the single character.
@inline(__always)
private func whitespaceRun(_ cls: UnsafeBufferPointer<UInt8>, _ i: Int, _ to: Int) -> Int {
    var k = i + 1
    while k < to, cls[k] & W != 0 { k += 1 }
    if k == to || k - i == 1 { return k }
    return k - 1
}

private func splitGPT2(
    _ s: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int,
    _ pieces: inout [Range<Int>]
) {
    var i = from
    while i < to {
        let c = s[i]
        var end = i
        if c == 0x27 { end = i + contraction(s, i, to, caseInsensitive: false) }
        if end == i {
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: the optional space is taken only when what follows
            // it fits the class (otherwise the regex backtracks to the whitespace alternatives).
            let j = (c == 0x20 && i + 1 < to && cls[i + 1] & W == 0) ? i + 1 : i
            let cj = cls[j]
            if cj & L != 0 {
                end = j + 1
                while end < to, cls[end] & L != 0 { end += 1 }
            } else if cj & N != 0 {
                end = j + 1
                while end < to, cls[end] & N != 0 { end += 1 }
            } else if isOther(cj) {
                end = j + 1
                while end < to, isOther(cls[end]) { end += 1 }
            } else {
                end = whitespaceRun(cls, i, to)
            }
        }
        pieces.append(i..<end)
        i = end
    }
}

private func splitLlama3(
    _ s: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, _ maxDigits: Int,
    _ pieces: inout [Range<Int>]
) {
    var i = from
    while i < to {
        let c = s[i]
        let ci = cls[i]
        var end = i
        if c == 0x27 { end = i + contraction(s, i, to, caseInsensitive: true) }
        if end != i {
        } else if ci & L != 0 {
            // `[^\r\n\p{L}\p{N}]?\p{L}+` starting with a letter.
            end = i + 1
            while end < to, cls[end] & L != 0 { end += 1 }
        } else if ci & N == 0, c != 0x0A, c != 0x0D, i + 1 < to, cls[i + 1] & L != 0 {
            // `[^\r\n\p{L}\p{N}]?\p{L}+` with one leading non-letter, non-digit, non-newline character.
            end = i + 2
            while end < to, cls[end] & L != 0 { end += 1 }
        } else if ci & N != 0 {
            // `\p{N}{1,maxDigits}`
            end = i + 1
            while end < to, end - i < maxDigits, cls[end] & N != 0 { end += 1 }
        } else {
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let j = (c == 0x20 && i + 1 < to && isOther(cls[i + 1])) ? i + 1 : i
            if isOther(cls[j]) {
                end = j + 1
                while end < to, isOther(cls[end]) { end += 1 }
                while end < to, s[end] == 0x0A || s[end] == 0x0D { end += 1 }
            } else {
                // `\s*[\r\n]+`: greedy `\s*` backs off to the last newline of the whitespace run.
                var k = i
                var lastNewline = -1
                while k < to, cls[k] & W != 0 {
                    if s[k] == 0x0A || s[k] == 0x0D { lastNewline = k }
                    k += 1
                }
                end = lastNewline >= 0 ? lastNewline + 1 : whitespaceRun(cls, i, to)
            }
        }
        pieces.append(i..<end)
        i = end
    }
}

/// What a `Split` pre-tokenizer does with the delimiters it finds (`tokenizers`' `SplitDelimiterBehavior`).
/// Splitting `the-final--countdown` on `-`: Removed `the|final|countdown`; Isolated `the|-|final|-|-|countdown`;
/// MergedWithPrevious `the-|final-|-|countdown`; MergedWithNext `the|-final|-|-countdown`; Contiguous
/// `the|-|final|--|countdown`.
enum SplitBehavior: String, Sendable, CaseIterable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// Splits `s[range]` at the non-overlapping occurrences of `literal` (found left to right) and appends the
    /// pieces to `pieces`. With `invert`, the occurrences are the pieces kept apart and the text between them
    /// the delimiters.
    static func split(
        _ s: [UInt32], _ range: Range<Int>, literal: [UInt32], behavior: SplitBehavior, invert: Bool,
        into pieces: inout [Range<Int>]
    ) {
        var matches: [Range<Int>] = []
        var i = range.lowerBound
        if !literal.isEmpty {
            while i + literal.count <= range.upperBound {
                if s[i] == literal[0], s[i..<(i + literal.count)].elementsEqual(literal) {
                    matches.append(i..<(i + literal.count))
                    i += literal.count
                } else {
                    i += 1
                }
            }
        }
        split(range, matches: matches, behavior: behavior, invert: invert, into: &pieces)
    }

    /// Splits `range` at `matches` (ascending, non-overlapping, inside `range`) with this behaviour, as
    /// `tokenizers`' `NormalizedString::split` does, and appends the non-empty pieces to `pieces`.
    static func split(
        _ range: Range<Int>, matches: [Range<Int>], behavior: SplitBehavior, invert: Bool,
        into pieces: inout [Range<Int>]
    ) {
        guard !range.isEmpty else { return }
        // Spans covering the range: matches, and the non-empty gaps between them.
        var spans: [(range: Range<Int>, isMatch: Bool)] = []
        var previous = range.lowerBound
        for m in matches {
            if previous < m.lowerBound { spans.append((previous..<m.lowerBound, false)) }
            spans.append((m, true))
            previous = m.upperBound
        }
        if previous < range.upperBound { spans.append((previous..<range.upperBound, false)) }
        if invert { spans = spans.map { ($0.range, !$0.isMatch) } }

        var merged: [(range: Range<Int>, isMatch: Bool)] = []
        var previousMatch = false
        switch behavior {
        case .removed:
            for span in spans where !span.isMatch { merged.append(span) }
        case .isolated:
            merged = spans
        case .mergedWithPrevious:
            for span in spans {
                if span.isMatch, !previousMatch, let last = merged.last {
                    merged[merged.count - 1].range = last.range.lowerBound..<span.range.upperBound
                } else {
                    merged.append(span)
                }
                previousMatch = span.isMatch
            }
        case .mergedWithNext:
            for span in spans.reversed() {
                if span.isMatch, !previousMatch, let last = merged.last {
                    merged[merged.count - 1].range = span.range.lowerBound..<last.range.upperBound
                } else {
                    merged.append(span)
                }
                previousMatch = span.isMatch
            }
            merged.reverse()
        case .contiguous:
            for span in spans {
                if span.isMatch == previousMatch, let last = merged.last {
                    merged[merged.count - 1].range = last.range.lowerBound..<span.range.upperBound
                } else {
                    merged.append(span)
                }
                previousMatch = span.isMatch
            }
        }
        for span in merged where !span.range.isEmpty { pieces.append(span.range) }
    }
}

/// What a `Split`-like pre-tokenizer looks for: a regex (`tokenizers` runs Oniguruma; here Swift's regex engine
/// on Unicode scalars), or one character of a class at a time (`Punctuation`, `WhitespaceSplit`).
enum SplitMatcher: @unchecked Sendable {
    case regex(Regex<AnyRegexOutput>)
    /// Each punctuation character (Unicode general category P*) is one match.
    case punctuation
    /// Each whitespace character (Unicode White_Space) is one match.
    case whitespace

    /// Compiles a `tokenizer.json` regex, or nil when Swift's engine cannot parse it.
    static func regex(_ pattern: String) -> SplitMatcher? {
        guard let r = try? Regex(oniguruma(pattern)) else { return nil }
        return .regex(r.matchingSemantics(.unicodeScalar))
    }

    /// `pattern` with Oniguruma's meaning where Swift's syntax reads it otherwise: a bare script name in
    /// `\p{…}` is the Script property there (`。` is Common) but Script_Extensions in Swift (`。` is also Han),
    /// so it is written `\p{sc=…}`.
    static func oniguruma(_ pattern: String) -> String {
        let chars = Array(pattern)
        var out = ""
        var i = 0
        while i < chars.count {
            let c = chars[i]
            guard c == "\\", i + 1 < chars.count else {
                out.append(c)
                i += 1
                continue
            }
            let next = chars[i + 1]
            if next == "p" || next == "P", i + 2 < chars.count, chars[i + 2] == "{",
                let close = chars[(i + 3)...].firstIndex(of: "}")
            {
                let name = String(chars[(i + 3)..<close])
                if !name.contains("="), isScript(name) {
                    out += "\\\(next){sc=\(name)}"
                } else {
                    out += String(chars[i...close])
                }
                i = close + 1
                continue
            }
            out.append(c)
            out.append(next)
            i += 2
        }
        return out
    }

    /// Whether `name` is a script (and not a general category or binary property, which Swift would also
    /// accept bare).
    static func isScript(_ name: String) -> Bool {
        guard (try? Regex("\\p{sc=\(name)}")) != nil else { return false }
        return (try? Regex("\\p{gc=\(name)}")) == nil
    }

    /// The matches in `s[range]`, left to right and non-overlapping.
    func matches(_ s: [UInt32], _ range: Range<Int>) -> [Range<Int>] {
        switch self {
        case .punctuation, .whitespace:
            var out: [Range<Int>] = []
            for k in range {
                guard let c = Unicode.Scalar(s[k]) else { continue }
                let hit: Bool
                if case .punctuation = self {
                    switch c.properties.generalCategory {
                    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                        .initialPunctuation, .finalPunctuation, .otherPunctuation:
                        hit = true
                    default:
                        // Rust's `is_ascii_punctuation` also counts ASCII symbols such as $ + < = > ^ ` | ~.
                        hit =
                            c.isASCII
                            && (0x21...0x2F ~= c.value || 0x3A...0x40 ~= c.value
                                || 0x5B...0x60 ~= c.value || 0x7B...0x7E ~= c.value)
                    }
                } else {
                    hit = c.properties.isWhitespace
                }
                if hit { out.append(k..<(k + 1)) }
            }
            return out
        case .regex(let regex):
            var view = String.UnicodeScalarView()
            view.append(contentsOf: s[range].compactMap(Unicode.Scalar.init))
            let text = String(view)
            var out: [Range<Int>] = []
            // Offsets are counted incrementally: matches come in order.
            var index = text.unicodeScalars.startIndex, offset = range.lowerBound
            for m in text.matches(of: regex) {
                let start = offset + text.unicodeScalars.distance(from: index, to: m.range.lowerBound)
                let end = start + text.unicodeScalars.distance(from: m.range.lowerBound, to: m.range.upperBound)
                index = m.range.upperBound
                offset = end
                out.append(start..<end)
            }
            return out
        }
    }
}
