import Foundation
import JSON

extension Tokenizer {
    /// Builds the tokenizer of a checkpoint: from `tokenizer.json` when present (Hugging Face `tokenizers`
    /// semantics), otherwise from `tokenizer.model` (SentencePiece semantics).
    ///
    /// - Throws: `missingTokenizer` without either file; `unsupportedModelType` for models other than BPE
    ///   and Unigram; `unsupportedComponent` for normalizers, pre-tokenizers, decoders or post-processors
    ///   the engine cannot run exactly; `mergeNamesUnknownToken` / `malformedMerge` for bad merges;
    ///   `unexpectedJSON` for wrongly shaped fields.
    public init(files: TokenizerFiles) throws(TokenizationError) {
        if let json = files.tokenizerJSON {
            try self.init(huggingFace: json, files: files)
        } else if let model = files.sentencePieceModel {
            try self.init(sentencePiece: model, files: files)
        } else {
            throw .missingTokenizer(directory: files.directory.path, expected: "tokenizer.json or tokenizer.model")
        }
    }

    /// Reads `directory` with `TokenizerFiles.load` and builds its tokenizer.
    public init(directory: URL) throws(TokenizationError) {
        try self.init(files: try TokenizerFiles.load(directory: directory))
    }

    init(huggingFace json: JSONValue, files: TokenizerFiles) throws(TokenizationError) {
        let path = files.path("tokenizer.json")
        func unsupported(_ component: String, _ value: JSONValue?) -> TokenizationError {
            .unsupportedComponent(path: path, component: component, found: Self.describe(value))
        }

        // Pre-tokenizer (decides whether the model works on bytes).
        var steps: [PreTokenizerStep] = []
        var byteLevel = false
        func addPreTokenizer(_ value: JSONValue) throws(TokenizationError) {
            switch value["type"]?.stringValue {
            case "Sequence":
                guard let list = value["pretokenizers"]?.arrayValue else {
                    throw .unexpectedJSON(path: path, field: "pre_tokenizer.pretokenizers", expected: "an array")
                }
                for item in list { try addPreTokenizer(item) }
            case "ByteLevel":
                byteLevel = true
                steps.append(
                    .byteLevel(
                        addPrefixSpace: value["add_prefix_space"]?.boolValue ?? true,
                        useRegex: value["use_regex"]?.boolValue ?? true))
            case "Digits":
                steps.append(.digits(individual: value["individual_digits"]?.boolValue ?? false))
            case "Split":
                if let literal = value["pattern"]?["String"]?.stringValue {
                    guard let behavior = SplitBehavior(rawValue: value["behavior"]?.stringValue ?? "") else {
                        throw unsupported("pre_tokenizer", value)
                    }
                    steps.append(
                        .splitLiteral(
                            pattern: literal.unicodeScalars.map(\.value), behavior: behavior,
                            invert: value["invert"]?.boolValue ?? false))
                    break
                }
                guard let regex = value["pattern"]?["Regex"]?.stringValue,
                    let behavior = SplitBehavior(rawValue: value["behavior"]?.stringValue ?? "")
                else { throw unsupported("pre_tokenizer", value) }
                let invert = value["invert"]?.boolValue ?? false
                if behavior == .isolated, !invert, let pattern = SplitPattern.known(regex) {
                    // The patterns of real byte-level checkpoints: hand-written matchers, much faster.
                    steps.append(.split(pattern))
                } else if let matcher = SplitMatcher.regex(regex) {
                    steps.append(.splitMatches(matcher, behavior: behavior, invert: invert))
                } else {
                    throw unsupported("pre_tokenizer (a Split regex Kiln's regex engine cannot read)", value)
                }
            case "Whitespace":
                // `\w+|[^\w\s]+`, the matches kept and the rest removed.
                guard let matcher = SplitMatcher.regex(#"\w+|[^\w\s]+"#) else {
                    throw unsupported("pre_tokenizer", value)
                }
                steps.append(.splitMatches(matcher, behavior: .removed, invert: true))
            case "WhitespaceSplit":
                steps.append(.splitMatches(.whitespace, behavior: .removed, invert: false))
            case "Punctuation":
                guard let behavior = SplitBehavior(rawValue: value["behavior"]?.stringValue ?? "Isolated") else {
                    throw unsupported("pre_tokenizer", value)
                }
                steps.append(.splitMatches(.punctuation, behavior: behavior, invert: false))
            case "Metaspace":
                let replacement = value["replacement"]?.stringValue ?? "\u{2581}"
                guard replacement.unicodeScalars.count == 1 else { throw unsupported("pre_tokenizer", value) }
                let scheme: PrependScheme
                switch value["prepend_scheme"]?.stringValue {
                case "always"?: scheme = .always
                case "first"?: scheme = .first
                case "never"?: scheme = .never
                case nil: scheme = (value["add_prefix_space"]?.boolValue ?? true) ? .always : .never
                default: throw unsupported("pre_tokenizer", value)
                }
                steps.append(
                    .metaspace(
                        replacement: replacement.unicodeScalars.first!.value, prependScheme: scheme,
                        split: value["split"]?.boolValue ?? true))
            default:
                throw unsupported("pre_tokenizer", value)
            }
        }
        if let pre = json["pre_tokenizer"], pre != .null { try addPreTokenizer(pre) }

        // Normalizer.
        var normalizers: [Normalizer] = []
        func addNormalizer(_ value: JSONValue) throws(TokenizationError) {
            switch value["type"]?.stringValue {
            case "Sequence":
                for item in value["normalizers"]?.arrayValue ?? [] { try addNormalizer(item) }
            case "Prepend":
                guard let prefix = value["prepend"]?.stringValue else { throw unsupported("normalizer", value) }
                normalizers.append(.prepend(prefix.unicodeScalars.map(\.value)))
            case "Replace":
                guard let content = value["content"]?.stringValue else { throw unsupported("normalizer", value) }
                if let pattern = value["pattern"]?["String"]?.stringValue {
                    normalizers.append(
                        .replace(pattern.unicodeScalars.map(\.value), content.unicodeScalars.map(\.value)))
                } else if let regex = value["pattern"]?["Regex"]?.stringValue, let matcher = SplitMatcher.regex(regex) {
                    normalizers.append(.replaceRegex(matcher, content.unicodeScalars.map(\.value)))
                } else {
                    throw unsupported("normalizer", value)
                }
            case "NFC": normalizers.append(.nfc)
            case "NFD": normalizers.append(.nfd)
            case "NFKC": normalizers.append(.nfkc)
            case "NFKD": normalizers.append(.nfkd)
            case "Lowercase": normalizers.append(.lowercase)
            case "Strip":
                normalizers.append(
                    .strip(
                        left: value["strip_left"]?.boolValue ?? true, right: value["strip_right"]?.boolValue ?? true))
            case "ByteLevel":
                byteLevel = true
            default:
                throw unsupported("normalizer", value)
            }
        }
        if let normalizer = json["normalizer"], normalizer != .null { try addNormalizer(normalizer) }

        // Model.
        guard let modelJSON = json["model"], modelJSON.objectMembers != nil else {
            throw .unexpectedJSON(path: path, field: "model", expected: "an object")
        }
        var pieces: [String] = []
        // Ids are dense in every real vocabulary (the converter pads the gaps): one far beyond the entries is a
        // lying file, refused before it sizes the piece table.
        let entries = (modelJSON["vocab"]?.objectMembers?.count ?? modelJSON["vocab"]?.arrayValue?.count ?? 0)
        let idLimit = entries + (json["added_tokens"]?.arrayValue?.count ?? 0) + (1 << 20)
        var outOfRange: Int?
        func checkIDs() throws(TokenizationError) {
            if let id = outOfRange {
                throw .unexpectedJSON(
                    path: path, field: "token id \(id)", expected: "an id below \(idLimit) (ids are dense)")
            }
        }
        func setPiece(_ id: Int, _ text: String) {
            guard id < idLimit else {
                outOfRange = outOfRange ?? id
                return
            }
            if id >= pieces.count { pieces.append(contentsOf: repeatElement("", count: id + 1 - pieces.count)) }
            pieces[id] = text
        }
        let model: Model
        if modelJSON["type"]?.stringValue == "Unigram" {
            model = .unigram(try Self.unigramModel(modelJSON, path: path, setPiece: setPiece))
        } else {
            let hf = try HFTokenizerModel(tokenizer: json, path: path)
            try hf.validateMerges(path: path)
            if let prefix = modelJSON["continuing_subword_prefix"]?.stringValue, !prefix.isEmpty {
                throw unsupported("model.continuing_subword_prefix", modelJSON["continuing_subword_prefix"])
            }
            if let suffix = modelJSON["end_of_word_suffix"]?.stringValue, !suffix.isEmpty {
                throw unsupported("model.end_of_word_suffix", modelJSON["end_of_word_suffix"])
            }
            if let dropout = modelJSON["dropout"], dropout != .null, dropout != .double(0), dropout != .int(0) {
                throw unsupported("model.dropout", dropout)
            }
            model = .mergeBPE(
                try Self.mergeModel(
                    hf, json: modelJSON, byteLevel: byteLevel, path: path,
                    setPiece: setPiece))
        }

        try checkIDs()

        // Added tokens.
        var raw: [AddedTokenMatcher.Token] = []
        var normalizedTokens: [AddedTokenMatcher.Token] = []
        var special: Set<Int> = []
        var contentIDs: [String: Int] = [:]
        for (index, item) in (json["added_tokens"]?.arrayValue ?? []).enumerated() {
            guard case .int(let id)? = item["id"], id >= 0, let content = item["content"]?.stringValue else {
                throw .unexpectedJSON(
                    path: path, field: "added_tokens[\(index)]", expected: "an object with id and content")
            }
            setPiece(id, content)
            let isSpecial = item["special"]?.boolValue ?? false
            if isSpecial { special.insert(id) }
            if contentIDs[content] == nil { contentIDs[content] = id }
            let normalized = item["normalized"]?.boolValue ?? !isSpecial
            let token = AddedTokenMatcher.Token(
                content: content.unicodeScalars.map(\.value), id: id,
                lstrip: item["lstrip"]?.boolValue ?? false, rstrip: item["rstrip"]?.boolValue ?? false,
                singleWord: item["single_word"]?.boolValue ?? false)
            if normalized && !normalizers.isEmpty {
                normalizedTokens.append(token)
            } else {
                raw.append(token)
            }
        }

        try checkIDs()

        // Post-processor: the ids added around a single sequence.
        var prefix: [Int] = []
        var suffix: [Int] = []
        func addPostProcessor(_ value: JSONValue) throws(TokenizationError) {
            switch value["type"]?.stringValue {
            case "Sequence":
                for item in value["processors"]?.arrayValue ?? [] { try addPostProcessor(item) }
            case "ByteLevel":
                break
            case "TemplateProcessing":
                guard let single = value["single"]?.arrayValue else { throw unsupported("post_processor", value) }
                var seenSequence = false
                for item in single {
                    if item["Sequence"] != nil {
                        seenSequence = true
                    } else if let name = item["SpecialToken"]?["id"]?.stringValue {
                        guard let ids = value["special_tokens"]?[name]?["ids"]?.arrayValue else {
                            throw unsupported("post_processor", value)
                        }
                        let list = ids.compactMap(\.pythonInt)
                        if seenSequence { suffix += list } else { prefix += list }
                    }
                }
            case "RobertaProcessing", "BertProcessing":
                guard let cls = value["cls"]?.arrayValue?.last?.pythonInt,
                    let sep = value["sep"]?.arrayValue?.last?.pythonInt
                else { throw unsupported("post_processor", value) }
                prefix.append(cls)
                suffix.append(sep)
            default:
                throw unsupported("post_processor", value)
            }
        }
        if let post = json["post_processor"], post != .null { try addPostProcessor(post) }

        // Decoder: validated here, applied by AddedTokenDecoder.
        func checkDecoder(_ value: JSONValue) throws(TokenizationError) {
            switch value["type"]?.stringValue {
            case "Sequence":
                for item in value["decoders"]?.arrayValue ?? [] { try checkDecoder(item) }
            case "ByteLevel", "ByteFallback", "Fuse", "Strip", "Metaspace":
                break
            case "Replace":
                guard value["pattern"]?["String"]?.stringValue != nil else { throw unsupported("decoder", value) }
            default:
                throw unsupported("decoder", value)
            }
        }
        let decoder = json["decoder"].flatMap { $0 == .null ? nil : $0 }
        if let decoder { try checkDecoder(decoder) }

        // BOS / EOS from tokenizer_config.json, as transformers names them.
        func specialID(_ key: String) -> Int? {
            let value = files.tokenizerConfig?[key]
            guard let content = value?.stringValue ?? value?["content"]?.stringValue else { return nil }
            return contentIDs[content]
        }

        self.init(
            model: model, flavor: .huggingFace, pieces: pieces, addedTokens: AddedTokenMatcher(raw),
            normalizedAddedTokens: AddedTokenMatcher(normalizedTokens), normalizers: normalizers,
            preTokenizer: steps, decoder: decoder, prefixIDs: prefix, suffixIDs: suffix, specialIDs: special,
            bosID: specialID("bos_token") ?? files.configInt("bos_token_id") ?? prefix.first,
            eosID: specialID("eos_token") ?? files.configInt("eos_token_id"))
        // Normalized added tokens are matched in normalized text, so their patterns are normalized too.
        if !normalizedTokens.isEmpty {
            let normalizedPatterns = normalizedTokens.map { token -> AddedTokenMatcher.Token in
                var copy = token
                copy.content = self.normalize(token.content)
                return copy
            }
            self = Tokenizer(copying: self, normalizedAddedTokens: AddedTokenMatcher(normalizedPatterns))
        }
    }

    private init(copying other: Tokenizer, normalizedAddedTokens: AddedTokenMatcher) {
        self.init(
            model: other.model, flavor: other.flavor, pieces: other.pieces, addedTokens: other.addedTokens,
            normalizedAddedTokens: normalizedAddedTokens, normalizers: other.normalizers,
            preTokenizer: other.preTokenizer, decoder: other.decoder, prefixIDs: other.prefixIDs,
            suffixIDs: other.suffixIDs, specialIDs: other.specialIDs, bosID: other.bosID, eosID: other.eosID)
    }

    /// Byte-level tokens are stored in the model as the raw bytes their characters stand for.
    static func modelKey(_ token: String, byteLevel: Bool) -> [UInt8] {
        guard byteLevel else { return Array(token.utf8) }
        var bytes: [UInt8] = []
        for scalar in token.unicodeScalars {
            guard let byte = ByteLevelAlphabet.byte(for: scalar) else { return Array(token.utf8) }
            bytes.append(byte)
        }
        return bytes
    }

    private static func mergeModel(
        _ hf: HFTokenizerModel, json: JSONValue, byteLevel: Bool, path: String, setPiece: (Int, String) -> Void
    ) throws(TokenizationError) -> MergeBPEModel {
        var vocab = ByteTable(capacity: hf.vocab.count)
        var byString = ByteTable(capacity: hf.vocab.count)
        for (token, id) in hf.vocab {
            setPiece(id, token)
            vocab.insert(modelKey(token, byteLevel: byteLevel), Int32(id))
            byString.insert(Array(token.utf8), Int32(id))
        }
        let list = hf.merges?.arrayValue ?? []
        var merges = MergeTable(capacity: list.count)
        for (rank, item) in list.enumerated() {
            let left: String, right: String
            if let text = item.stringValue {
                let parts = text.unicodeScalars.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw .malformedMerge(path: path, index: rank, merge: text) }
                left = String(String.UnicodeScalarView(parts[0]))
                right = String(String.UnicodeScalarView(parts[1]))
            } else if let pair = item.arrayValue, pair.count == 2, let a = pair[0].stringValue,
                let b = pair[1].stringValue
            {
                left = a
                right = b
            } else {
                throw .unexpectedJSON(path: path, field: "model.merges[\(rank)]", expected: "\"a b\" or [a, b]")
            }
            guard let a = byString.find(Array(left.utf8)) else {
                throw .mergeNamesUnknownToken(path: path, index: rank, token: left)
            }
            guard let b = byString.find(Array(right.utf8)) else {
                throw .mergeNamesUnknownToken(path: path, index: rank, token: right)
            }
            guard let merged = byString.find(Array((left + right).utf8)) else {
                throw .mergeNamesUnknownToken(path: path, index: rank, token: left + right)
            }
            merges.insert(a, b, rank: Int32(rank), result: merged)
        }
        var byteIDs = [Int32](repeating: -1, count: 256)
        if byteLevel {
            for byte in 0..<256 {
                byteIDs[byte] = byString.find(Array(String(ByteLevelAlphabet.scalarForByte[byte]).utf8)) ?? -1
            }
        }
        let unknown = json["unk_token"]?.stringValue.flatMap { byString.find(Array($0.utf8)) }
        return MergeBPEModel(
            vocab: vocab, merges: merges, byteLevel: byteLevel, byteIDs: byteIDs, byteFallback: hf.byteFallback,
            fallbackIDs: byteFallbackIDs { byString.find(Array($0.utf8)) }, unknownID: unknown,
            fuseUnknown: json["fuse_unk"]?.boolValue ?? false, ignoreMerges: hf.ignoreMerges)
    }

    private static func unigramModel(
        _ json: JSONValue, path: String, setPiece: (Int, String) -> Void
    ) throws(TokenizationError) -> UnigramModel {
        guard let list = json["vocab"]?.arrayValue else {
            throw .unexpectedJSON(path: path, field: "model.vocab", expected: "an array of [piece, score]")
        }
        var vocab = ByteTable(capacity: list.count)
        var scores: [Float] = []
        var maxBytes = 1
        for (id, item) in list.enumerated() {
            guard let pair = item.arrayValue, pair.count == 2, let piece = pair[0].stringValue else {
                throw .unexpectedJSON(path: path, field: "model.vocab[\(id)]", expected: "[piece, score]")
            }
            let score: Double
            switch pair[1] {
            case .double(let d): score = d
            case .int(let i): score = Double(i)
            default: throw .unexpectedJSON(path: path, field: "model.vocab[\(id)]", expected: "[piece, score]")
            }
            setPiece(id, piece)
            scores.append(Float(score))
            vocab.insert(Array(piece.utf8), Int32(id))
            maxBytes = max(maxBytes, piece.utf8.count)
        }
        guard let unk = json["unk_id"]?.pythonInt, unk >= 0, unk < list.count else {
            throw .unexpectedJSON(path: path, field: "model.unk_id", expected: "the id of the unknown piece")
        }
        let minScore = scores.min() ?? 0
        return UnigramModel(
            vocab: vocab, scores: scores, maxPieceBytes: maxBytes, unknownID: Int32(unk), unknownScore: minScore - 10,
            byteFallback: json["byte_fallback"]?.boolValue ?? false,
            fallbackIDs: byteFallbackIDs { vocab.find(Array($0.utf8)) }, fuseUnknown: true)
    }

    static func describe(_ value: JSONValue?) -> String {
        guard let value, value != .null else { return "(none)" }
        var text = value["type"]?.stringValue ?? "(no type)"
        if let pattern = value["pattern"]?["Regex"]?.stringValue ?? value["pattern"]?["String"]?.stringValue {
            text += " \(pattern.debugDescription)"
        }
        if let behavior = value["behavior"]?.stringValue { text += " \(behavior)" }
        return text
    }
}
