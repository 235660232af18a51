import Foundation
import JSON

/// A tokenizer engine that encodes and decodes like Hugging Face `tokenizers` (from `tokenizer.json`),
/// SentencePiece (from `tokenizer.model`) and llama.cpp (from GGUF `tokenizer.ggml.*` arrays).
///
/// Encoding runs the same stages as `tokenizers`: added and special tokens are cut out of the text first
/// (leftmost-longest, honouring `lstrip`/`rstrip`/`single_word`/`normalized`), the rest is normalized,
/// pre-tokenized into words, and each word goes through the subword model; a post-processor adds BOS/EOS.
/// Supported building blocks: models BPE (byte-level or with `byte_fallback`) and Unigram; normalizers
/// Prepend, Replace (string), NFC/NFD/NFKC/NFKD, Lowercase, Strip, Sequence; pre-tokenizers ByteLevel, Split
/// with the GPT-2, Llama 3 and Qwen2 regexes (`Isolated`), Digits, Metaspace, Sequence; decoders ByteLevel,
/// ByteFallback, Metaspace, Strip, Fuse, Replace, Sequence. Anything else is rejected when loading, so a
/// tokenizer that loads encodes exactly.
public struct Tokenizer: Sendable {
    enum Model: Sendable {
        case mergeBPE(MergeBPEModel)
        case scoreBPE(ScoreBPEModel)
        case unigram(UnigramModel)
    }

    enum Normalizer: Sendable {
        case prepend([UInt32])
        case replace([UInt32], [UInt32])
        /// `Replace` with a regex pattern: every match replaced by the content.
        case replaceRegex(SplitMatcher, [UInt32])
        case nfc, nfd, nfkc, nfkd, lowercase
        case strip(left: Bool, right: Bool)
    }

    enum PrependScheme: Sendable { case always, first, never }

    enum PreTokenizerStep: Sendable {
        case split(SplitPattern)
        /// `Split` on a literal string (`{"String": …}`), with any delimiter behaviour and `invert`.
        case splitLiteral(pattern: [UInt32], behavior: SplitBehavior, invert: Bool)
        /// `Split` on a regex (other than the known patterns with `Isolated`), `Whitespace`, `WhitespaceSplit`
        /// and `Punctuation`, with any delimiter behaviour and `invert`.
        case splitMatches(SplitMatcher, behavior: SplitBehavior, invert: Bool)
        case digits(individual: Bool)
        /// The byte mapping itself is implicit (the model works on bytes); this step only adds the prefix
        /// space and the GPT-2 regex split.
        case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
        case metaspace(replacement: UInt32, prependScheme: PrependScheme, split: Bool)
    }

    /// How text reaches the model.
    enum Flavor: Sendable {
        /// `tokenizers`: added tokens, then per-segment normalizers and pre-tokenizers.
        case huggingFace
        /// SentencePiece: the whole text is normalized (dummy prefix, whitespace collapsing, spaces → ▁),
        /// then user-defined pieces are cut out and the rest goes to the model.
        case sentencePiece(addDummyPrefix: Bool, removeExtraWhitespaces: Bool, nfkc: Bool)
        /// llama.cpp's SPM session: a space is prepended to text at the start and after a special token,
        /// spaces become ▁.
        case llamaSPM(addSpacePrefix: Bool)
    }

    let model: Model
    let flavor: Flavor
    /// Id → token text, as stored in the vocabulary (`piece(_:)`).
    let pieces: [String]
    let addedTokens: AddedTokenMatcher
    /// Added tokens with `normalized: true`, matched in the normalized text.
    let normalizedAddedTokens: AddedTokenMatcher
    let normalizers: [Normalizer]
    let preTokenizer: [PreTokenizerStep]
    let decoder: JSONValue?
    let prefixIDs: [Int]
    let suffixIDs: [Int]
    let specialIDs: Set<Int>

    /// The beginning-of-sequence token id, if the tokenizer has one.
    public let bosID: Int?
    /// The end-of-sequence token id, if the tokenizer has one.
    public let eosID: Int?

    /// The number of token ids.
    public var vocabularySize: Int { pieces.count }

    /// The token text of `id` as the vocabulary stores it (e.g. "Ġthe", "▁the", "<0x0A>"); "" for an
    /// unknown id.
    public func piece(_ id: Int) -> String { id >= 0 && id < pieces.count ? pieces[id] : "" }

    /// Whether `id` is a special (control) token, which `decode(_:skipSpecialTokens:)` can drop.
    public func isSpecial(_ id: Int) -> Bool { specialIDs.contains(id) }

    // MARK: - Encoding

    /// Scratch space and the per-call word cache.
    struct EncodeState {
        var output: [Int32] = []
        var bytes: [UInt8] = []
        var symbols: [Int32] = []
        var ranks: [Int32] = []
        var results: [Int32] = []
        var pieceRanges: [Range<Int>] = []
        var scratchRanges: [Range<Int>] = []
        var cache = ByteTable(capacity: 64)
        var cacheStart: [Int32] = []
        var cacheCount: [Int32] = []
        var cacheIDs: [Int32] = []
    }

    /// Token ids for `text`.
    ///
    /// - Parameter addSpecialTokens: add what the post-processor adds (e.g. BOS), as `tokenizers`'
    ///   `encode(text, add_special_tokens=True)` and llama.cpp's `add_special` do. Special tokens written in
    ///   the text are matched either way.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var state = EncodeState()
        var scalars: [UInt32] = []
        scalars.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars { scalars.append(scalar.value) }

        switch flavor {
        case .huggingFace:
            for segment in addedTokens.split(scalars, 0..<scalars.count) {
                if let id = segment.id {
                    state.output.append(Int32(id))
                    continue
                }
                var buffer = Array(scalars[segment.range])
                let atStart = segment.range.lowerBound == 0
                if !normalizers.isEmpty { buffer = normalize(buffer) }
                if normalizedAddedTokens.isEmpty {
                    encodeSegment(buffer, atStart: atStart, &state)
                } else {
                    for inner in normalizedAddedTokens.split(buffer, 0..<buffer.count) {
                        if let id = inner.id {
                            state.output.append(Int32(id))
                        } else {
                            encodeSegment(
                                Array(buffer[inner.range]), atStart: atStart && inner.range.lowerBound == 0,
                                &state)
                        }
                    }
                }
            }
        case .sentencePiece(let addDummyPrefix, let removeExtraWhitespaces, let nfkc):
            let normalized = Self.sentencePieceNormalize(
                scalars, addDummyPrefix: addDummyPrefix, removeExtraWhitespaces: removeExtraWhitespaces, nfkc: nfkc)
            for segment in addedTokens.split(normalized, 0..<normalized.count) {
                if let id = segment.id {
                    state.output.append(Int32(id))
                } else {
                    encodeWhole(Array(normalized[segment.range]), &state)
                }
            }
        case .llamaSPM(let addSpacePrefix):
            var previousWasSpecial = true
            for segment in addedTokens.split(scalars, 0..<scalars.count) {
                if let id = segment.id {
                    state.output.append(Int32(id))
                    previousWasSpecial = true
                    continue
                }
                var buffer: [UInt32] = addSpacePrefix && previousWasSpecial ? [0x20] : []
                buffer.append(contentsOf: scalars[segment.range])
                for k in buffer.indices where buffer[k] == 0x20 { buffer[k] = 0x2581 }
                encodeWhole(buffer, &state)
                previousWasSpecial = false
            }
        }

        var ids: [Int] = []
        ids.reserveCapacity(state.output.count + prefixIDs.count + suffixIDs.count)
        if addSpecialTokens { ids.append(contentsOf: prefixIDs) }
        for id in state.output { ids.append(Int(id)) }
        if addSpecialTokens { ids.append(contentsOf: suffixIDs) }
        return ids
    }

    /// Runs the model on a whole segment (SentencePiece paths: no pre-tokenizer).
    private func encodeWhole(_ buffer: [UInt32], _ state: inout EncodeState) {
        state.bytes.removeAll(keepingCapacity: true)
        for value in buffer { appendUTF8(value, to: &state.bytes) }
        runModel(state.bytes, &state)
    }

    private func runModel(_ bytes: [UInt8], _ state: inout EncodeState) {
        bytes.withUnsafeBufferPointer { word in
            switch model {
            case .mergeBPE(let bpe):
                bpe.encode(
                    word, into: &state.output, symbols: &state.symbols, ranks: &state.ranks,
                    results: &state.results)
            case .scoreBPE(let spm): spm.encode(word, into: &state.output)
            case .unigram(let unigram): unigram.encode(word, into: &state.output)
            }
        }
    }

    /// Pre-tokenizes a normalized segment and encodes each word (through the word cache for BPE).
    private func encodeSegment(_ segment: [UInt32], atStart: Bool, _ state: inout EncodeState) {
        guard !segment.isEmpty else { return }
        var buffer = segment
        state.pieceRanges.removeAll(keepingCapacity: true)
        state.pieceRanges.append(0..<buffer.count)
        for step in preTokenizer {
            switch step {
            case .metaspace(let replacement, let scheme, let split):
                // Per piece, as `tokenizers` does: spaces become the replacement, the replacement is prepended
                // (always, or to the piece starting the text), then the piece splits before each replacement.
                var rebuilt: [UInt32] = []
                var ranges: [Range<Int>] = []
                rebuilt.reserveCapacity(buffer.count + state.pieceRanges.count)
                for range in state.pieceRanges where !range.isEmpty {
                    let start = rebuilt.count
                    let prepend = scheme == .always || (scheme == .first && atStart && range.lowerBound == 0)
                    if prepend, buffer[range.lowerBound] != 0x20, buffer[range.lowerBound] != replacement {
                        rebuilt.append(replacement)
                    }
                    for k in range { rebuilt.append(buffer[k] == 0x20 ? replacement : buffer[k]) }
                    if split {
                        var pieceStart = start
                        for k in start..<rebuilt.count where rebuilt[k] == replacement && k > pieceStart {
                            ranges.append(pieceStart..<k)
                            pieceStart = k
                        }
                        ranges.append(pieceStart..<rebuilt.count)
                    } else {
                        ranges.append(start..<rebuilt.count)
                    }
                }
                buffer = rebuilt
                state.pieceRanges = ranges
            case .byteLevel(let addPrefixSpace, let useRegex):
                if addPrefixSpace {
                    var rebuilt: [UInt32] = []
                    var ranges: [Range<Int>] = []
                    for range in state.pieceRanges {
                        let start = rebuilt.count
                        if buffer[range.lowerBound] != 0x20 { rebuilt.append(0x20) }
                        rebuilt.append(contentsOf: buffer[range])
                        ranges.append(start..<rebuilt.count)
                    }
                    buffer = rebuilt
                    state.pieceRanges = ranges
                }
                if useRegex { applySplit(.gpt2, buffer, &state) }
            case .split(let pattern):
                applySplit(pattern, buffer, &state)
            case .splitLiteral(let pattern, let behavior, let invert):
                state.scratchRanges.removeAll(keepingCapacity: true)
                for range in state.pieceRanges {
                    SplitBehavior.split(
                        buffer, range, literal: pattern, behavior: behavior, invert: invert,
                        into: &state.scratchRanges)
                }
                swap(&state.pieceRanges, &state.scratchRanges)
            case .splitMatches(let matcher, let behavior, let invert):
                state.scratchRanges.removeAll(keepingCapacity: true)
                for range in state.pieceRanges {
                    SplitBehavior.split(
                        range, matches: matcher.matches(buffer, range), behavior: behavior, invert: invert,
                        into: &state.scratchRanges)
                }
                swap(&state.pieceRanges, &state.scratchRanges)
            case .digits(let individual):
                state.scratchRanges.removeAll(keepingCapacity: true)
                for range in state.pieceRanges {
                    var start = range.lowerBound
                    var k = range.lowerBound
                    while k < range.upperBound {
                        if UnicodeClass.of(buffer[k]) & UnicodeClass.number != 0 {
                            if start < k { state.scratchRanges.append(start..<k) }
                            var end = k + 1
                            if !individual {
                                while end < range.upperBound, UnicodeClass.of(buffer[end]) & UnicodeClass.number != 0 {
                                    end += 1
                                }
                            }
                            state.scratchRanges.append(k..<end)
                            start = end
                            k = end
                        } else {
                            k += 1
                        }
                    }
                    if start < range.upperBound { state.scratchRanges.append(start..<range.upperBound) }
                }
                swap(&state.pieceRanges, &state.scratchRanges)
            }
        }
        let ranges = state.pieceRanges
        for range in ranges where !range.isEmpty {
            state.bytes.removeAll(keepingCapacity: true)
            for k in range { appendUTF8(buffer[k], to: &state.bytes) }
            encodeWord(&state)
        }
    }

    private func applySplit(_ pattern: SplitPattern, _ buffer: [UInt32], _ state: inout EncodeState) {
        state.scratchRanges.removeAll(keepingCapacity: true)
        var classes = [UInt8](repeating: 0, count: buffer.count)
        for k in buffer.indices { classes[k] = UnicodeClass.of(buffer[k]) }
        buffer.withUnsafeBufferPointer { s in
            classes.withUnsafeBufferPointer { c in
                for range in state.pieceRanges {
                    pattern.split(s, c, from: range.lowerBound, to: range.upperBound, into: &state.scratchRanges)
                }
            }
        }
        swap(&state.pieceRanges, &state.scratchRanges)
    }

    /// Encodes `state.bytes` as one word, using and filling the word cache.
    private func encodeWord(_ state: inout EncodeState) {
        guard case .mergeBPE(let bpe) = model else {
            runModel(state.bytes, &state)
            return
        }
        let cached: Int32? = state.bytes.withUnsafeBufferPointer { state.cache.find($0) }
        if let entry = cached {
            let start = Int(state.cacheStart[Int(entry)])
            let count = Int(state.cacheCount[Int(entry)])
            state.output.append(contentsOf: state.cacheIDs[start..<(start + count)])
            return
        }
        let before = state.output.count
        state.bytes.withUnsafeBufferPointer { word in
            bpe.encode(
                word, into: &state.output, symbols: &state.symbols, ranks: &state.ranks,
                results: &state.results)
        }
        if state.cache.count < 1 << 18 {
            let entry = Int32(state.cacheStart.count)
            state.cacheStart.append(Int32(state.cacheIDs.count))
            state.cacheCount.append(Int32(state.output.count - before))
            state.cacheIDs.append(contentsOf: state.output[before...])
            state.bytes.withUnsafeBufferPointer { _ = state.cache.insert($0, entry) }
        }
    }

    // MARK: - Normalization

    func normalize(_ input: [UInt32]) -> [UInt32] {
        var text = input
        for step in normalizers {
            switch step {
            case .prepend(let prefix):
                if !text.isEmpty { text = prefix + text }
            case .replace(let pattern, let content):
                text = Self.replaceAll(text, pattern, content)
            case .replaceRegex(let matcher, let content):
                var replaced: [UInt32] = []
                var previous = 0
                for m in matcher.matches(text, 0..<text.count) {
                    replaced += text[previous..<m.lowerBound]
                    replaced += content
                    previous = m.upperBound
                }
                text = replaced + text[previous...]
            case .strip(let left, let right):
                let isSpace = { (v: UInt32) in UnicodeClass.of(v) & UnicodeClass.whitespace != 0 }
                var lo = 0, hi = text.count
                if left { while lo < hi, isSpace(text[lo]) { lo += 1 } }
                if right { while hi > lo, isSpace(text[hi - 1]) { hi -= 1 } }
                text = Array(text[lo..<hi])
            case .nfc, .nfd, .nfkc, .nfkd, .lowercase:
                let string = Self.string(text)
                let result: String =
                    switch step {
                    case .nfc: string.precomposedStringWithCanonicalMapping
                    case .nfd: string.decomposedStringWithCanonicalMapping
                    case .nfkc: string.precomposedStringWithCompatibilityMapping
                    case .nfkd: string.decomposedStringWithCompatibilityMapping
                    default: string.lowercased()
                    }
                text = result.unicodeScalars.map(\.value)
            }
        }
        return text
    }

    static func replaceAll(_ text: [UInt32], _ pattern: [UInt32], _ content: [UInt32]) -> [UInt32] {
        guard !pattern.isEmpty, text.count >= pattern.count else { return text }
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i] == pattern[0], i + pattern.count <= text.count,
                text[i..<(i + pattern.count)].elementsEqual(pattern)
            {
                out.append(contentsOf: content)
                i += pattern.count
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    /// SentencePiece's normalizer for the `identity` rule (and NFKC for `nmt_nfkc`-style rules): drop
    /// leading, trailing and repeated spaces, add the dummy "▁" prefix, turn spaces into "▁".
    static func sentencePieceNormalize(
        _ input: [UInt32], addDummyPrefix: Bool, removeExtraWhitespaces: Bool, nfkc: Bool
    ) -> [UInt32] {
        var text = input
        if nfkc { text = string(text).precomposedStringWithCompatibilityMapping.unicodeScalars.map(\.value) }
        var out: [UInt32] = []
        out.reserveCapacity(text.count + 1)
        var k = 0
        if removeExtraWhitespaces { while k < text.count, text[k] == 0x20 { k += 1 } }
        if k == text.count { return [] }
        if addDummyPrefix { out.append(0x2581) }
        var previousWasSpace = removeExtraWhitespaces && addDummyPrefix
        while k < text.count {
            let c = text[k]
            k += 1
            if c == 0x20 {
                if removeExtraWhitespaces && previousWasSpace { continue }
                out.append(0x2581)
                previousWasSpace = true
            } else {
                out.append(c)
                previousWasSpace = false
            }
        }
        if removeExtraWhitespaces { while out.last == 0x2581 { out.removeLast() } }
        return out
    }

    static func string(_ scalars: [UInt32]) -> String {
        var view = String.UnicodeScalarView()
        for value in scalars { if let s = Unicode.Scalar(value) { view.append(s) } }
        return String(view)
    }

    // MARK: - Decoding

    /// The text for `ids`, through the tokenizer's decoder (`tokenizers`' `decode`). Unknown ids are skipped.
    ///
    /// - Parameter skipSpecialTokens: drop special tokens (e.g. `<|im_start|>`, BOS).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        let tokens = ids.compactMap { id -> String? in
            guard id >= 0, id < pieces.count else { return nil }
            if skipSpecialTokens, specialIDs.contains(id) { return nil }
            return pieces[id]
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return AddedTokenDecoder.apply(decoder, to: tokens).joined()
    }
}

@inline(__always)
func appendUTF8(_ value: UInt32, to bytes: inout [UInt8]) {
    if value < 0x80 {
        bytes.append(UInt8(value))
    } else if value < 0x800 {
        bytes.append(UInt8(0xC0 | (value >> 6)))
        bytes.append(UInt8(0x80 | (value & 0x3F)))
    } else if value < 0x10000 {
        bytes.append(UInt8(0xE0 | (value >> 12)))
        bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
        bytes.append(UInt8(0x80 | (value & 0x3F)))
    } else {
        bytes.append(UInt8(0xF0 | (value >> 18)))
        bytes.append(UInt8(0x80 | ((value >> 12) & 0x3F)))
        bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
        bytes.append(UInt8(0x80 | (value & 0x3F)))
    }
}

/// Finds added tokens in text: leftmost match, longest at that position (`tokenizers` uses an Aho-Corasick
/// automaton with `LeftmostLongest`), then applies `single_word`, `lstrip` and `rstrip` as
/// `AddedVocabulary::find_matches` does.
struct AddedTokenMatcher: Sendable {
    struct Token: Sendable {
        var content: [UInt32]
        var id: Int
        var lstrip = false
        var rstrip = false
        var singleWord = false
    }

    /// Tokens grouped by first scalar, longest first.
    private var byFirst: [UInt32: [Token]] = [:]
    private var asciiFirst = [Bool](repeating: false, count: 128)

    init(_ tokens: [Token]) {
        for token in tokens where !token.content.isEmpty {
            byFirst[token.content[0], default: []].append(token)
            if token.content[0] < 128 { asciiFirst[Int(token.content[0])] = true }
        }
        for key in byFirst.keys { byFirst[key]!.sort { $0.content.count > $1.content.count } }
    }

    var isEmpty: Bool { byFirst.isEmpty }

    private static func isWordCharacter(_ value: UInt32) -> Bool {
        value == 0x5F || UnicodeClass.of(value) & (UnicodeClass.letter | UnicodeClass.number | UnicodeClass.mark) != 0
    }

    private static func isSpace(_ value: UInt32) -> Bool { UnicodeClass.of(value) & UnicodeClass.whitespace != 0 }

    /// Splits `text[range]` into plain segments (`id == nil`) and matched tokens.
    func split(_ text: [UInt32], _ range: Range<Int>) -> [(range: Range<Int>, id: Int?)] {
        guard !byFirst.isEmpty else { return [(range, nil)] }
        var result: [(range: Range<Int>, id: Int?)] = []
        var segmentStart = range.lowerBound
        var i = range.lowerBound
        while i < range.upperBound {
            let c = text[i]
            if c < 128 ? !asciiFirst[Int(c)] : byFirst[c] == nil {
                i += 1
                continue
            }
            var matched: Token?
            for token in byFirst[c]! where i + token.content.count <= range.upperBound {
                if text[i..<(i + token.content.count)].elementsEqual(token.content) {
                    matched = token
                    break
                }
            }
            guard let token = matched else {
                i += 1
                continue
            }
            var start = i
            var stop = i + token.content.count
            if token.singleWord {
                let startOK = start == range.lowerBound || !Self.isWordCharacter(text[start - 1])
                let stopOK = stop == range.upperBound || !Self.isWordCharacter(text[stop])
                if !(startOK && stopOK) {
                    i = stop
                    continue
                }
            }
            if token.lstrip {
                while start > segmentStart, Self.isSpace(text[start - 1]) { start -= 1 }
            }
            if token.rstrip {
                while stop < range.upperBound, Self.isSpace(text[stop]) { stop += 1 }
            }
            if segmentStart < start { result.append((segmentStart..<start, nil)) }
            result.append((start..<stop, token.id))
            segmentStart = stop
            i = stop
        }
        if segmentStart < range.upperBound { result.append((segmentStart..<range.upperBound, nil)) }
        return result
    }
}
