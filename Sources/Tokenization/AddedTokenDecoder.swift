import JSON

/// Applies a `tokenizer.json` decoder to a single token, which is what the converter's
/// `tokenizer.decode(tokenizer.encode(token))` amounts to for an added token (see `BPEVocabulary`).
struct AddedTokenDecoder {
    private let decoder: JSONValue?
    private let cleanUpSpaces: Bool

    init(tokenizer: JSONValue, tokenizerConfig: JSONValue?) {
        self.decoder = tokenizer["decoder"]
        self.cleanUpSpaces = tokenizerConfig?["clean_up_tokenization_spaces"]?.boolValue ?? false
    }

    func decode(_ token: String) -> String {
        var pieces = [token]
        if let decoder, decoder != .null {
            pieces = Self.apply(decoder, to: pieces)
        }
        var text = pieces.joined()
        if cleanUpSpaces { text = Self.cleanUp(text) }
        return text
    }

    static func apply(_ decoder: JSONValue, to tokens: [String]) -> [String] {
        switch decoder["type"]?.stringValue {
        case "Sequence":
            var tokens = tokens
            for step in decoder["decoders"]?.arrayValue ?? [] { tokens = apply(step, to: tokens) }
            return tokens
        case "ByteLevel":
            var bytes: [UInt8] = []
            for token in tokens {
                var tokenBytes: [UInt8] = []
                var allMapped = true
                for scalar in token.unicodeScalars {
                    guard let byte = ByteLevelAlphabet.byte(for: scalar) else { allMapped = false; break }
                    tokenBytes.append(byte)
                }
                bytes += allMapped ? tokenBytes : Array(token.utf8)
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case "Replace":
            guard let pattern = decoder["pattern"]?["String"]?.stringValue,
                let content = decoder["content"]?.stringValue, !pattern.isEmpty
            else { return tokens }
            return tokens.map { replaceAll($0, pattern, content) }
        case "ByteFallback":
            var result: [String] = []
            var pending: [UInt8] = []
            var pendingCount = 0
            func flush() {
                guard pendingCount > 0 else { return }
                if let text = String(validating: pending, as: UTF8.self) {
                    result.append(text)
                } else {
                    result.append(contentsOf: Array(repeating: "\u{FFFD}", count: pendingCount))
                }
                pending = []
                pendingCount = 0
            }
            for token in tokens {
                if let byte = byteFallbackValue(token) {
                    pending.append(byte)
                    pendingCount += 1
                } else {
                    flush()
                    result.append(token)
                }
            }
            flush()
            return result
        case "Fuse":
            return [tokens.joined()]
        case "Strip":
            guard let content = decoder["content"]?.stringValue, content.unicodeScalars.count == 1 else {
                return tokens
            }
            let character = content.unicodeScalars.first!
            let start = decoder["start"]?.pythonInt ?? 0
            let stop = decoder["stop"]?.pythonInt ?? 0
            return tokens.map { token in
                var scalars = Array(token.unicodeScalars)
                var removed = 0
                while removed < start, scalars.first == character { scalars.removeFirst(); removed += 1 }
                removed = 0
                while removed < stop, scalars.last == character { scalars.removeLast(); removed += 1 }
                return String(String.UnicodeScalarView(scalars))
            }
        case "Metaspace":
            let replacement = decoder["replacement"]?.stringValue ?? "\u{2581}"
            let scheme =
                decoder["prepend_scheme"]?.stringValue
                ?? ((decoder["add_prefix_space"]?.boolValue ?? true) ? "always" : "never")
            // `tokenizers` drops every replacement character of the first token (not only a leading one)
            // unless the scheme is "never".
            return tokens.enumerated().map { index, token in
                replaceAll(token, replacement, index == 0 && scheme != "never" ? "" : " ")
            }
        default:
            return tokens
        }
    }

    private static func byteFallbackValue(_ token: String) -> UInt8? {
        let scalars = Array(token.unicodeScalars)
        guard scalars.count == 6, scalars[0] == "<", scalars[1] == "0", scalars[2] == "x", scalars[5] == ">" else {
            return nil
        }
        return UInt8(String(String.UnicodeScalarView(scalars[3...4])), radix: 16)
    }

    /// Replaces every occurrence of `pattern` by `content`, comparing code points.
    static func replaceAll(_ text: String, _ pattern: String, _ content: String) -> String {
        let source = Array(text.unicodeScalars)
        let needle = Array(pattern.unicodeScalars)
        guard !needle.isEmpty, source.count >= needle.count else { return text }
        var out = String.UnicodeScalarView()
        var i = 0
        while i < source.count {
            if i + needle.count <= source.count, source[i..<(i + needle.count)].elementsEqual(needle) {
                out.append(contentsOf: content.unicodeScalars)
                i += needle.count
            } else {
                out.append(source[i])
                i += 1
            }
        }
        return String(out)
    }

    /// transformers' `clean_up_tokenization`.
    static func cleanUp(_ text: String) -> String {
        var text = text
        for (from, to) in [
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
            (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")
        ] {
            text = replaceAll(text, from, to)
        }
        return text
    }
}

/// GPT-2's byte ↔ unicode alphabet (`bytes_to_unicode`): printable bytes map to themselves, the other 68
/// bytes to U+0100 onwards in byte order.
enum ByteLevelAlphabet {
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    static let byteForScalar: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (byte, scalar) in scalarForByte.enumerated() { map[scalar.value] = UInt8(byte) }
        return map
    }()

    static func byte(for scalar: Unicode.Scalar) -> UInt8? { byteForScalar[scalar.value] }
}
