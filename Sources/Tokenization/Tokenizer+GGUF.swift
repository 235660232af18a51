import JSON

/// The `tokenizer.ggml.*` arrays of a GGUF file, as the caller's GGUF reader found them. The Tokenization
/// module does not read GGUF itself.
public struct GGUFTokenizerVocabulary: Sendable {
    /// `tokenizer.ggml.model`: "gpt2" (byte-level BPE) or "llama" (SentencePiece-style BPE).
    public var model: String
    /// `tokenizer.ggml.pre` (gpt2 only): gpt-2, smollm, llama-bpe, qwen2 and their aliases.
    public var pre: String?
    public var tokens: [String]
    /// `tokenizer.ggml.token_type` (`TokenType` raw values); empty means all NORMAL.
    public var tokenTypes: [Int32]
    /// `tokenizer.ggml.scores` (llama only; empty means all 0).
    public var scores: [Float]
    /// `tokenizer.ggml.merges` (gpt2 only), "left right".
    public var merges: [String]
    public var bosID: Int?
    public var eosID: Int?
    public var unknownID: Int?
    /// `tokenizer.ggml.add_bos_token` / `add_eos_token` / `add_space_prefix`; nil means llama.cpp's default
    /// for the model and pre-tokenizer.
    public var addBOS: Bool?
    public var addEOS: Bool?
    public var addSpacePrefix: Bool?

    public init(
        model: String, pre: String? = nil, tokens: [String], tokenTypes: [Int32] = [], scores: [Float] = [],
        merges: [String] = [], bosID: Int? = nil, eosID: Int? = nil, unknownID: Int? = nil, addBOS: Bool? = nil,
        addEOS: Bool? = nil, addSpacePrefix: Bool? = nil
    ) {
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.tokenTypes = tokenTypes
        self.scores = scores
        self.merges = merges
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
    }
}

extension Tokenizer {
    /// A tokenizer that gives the ids llama.cpp's `llama_tokenize` gives for a GGUF vocabulary (with special
    /// tokens parsed). CONTROL and USER_DEFINED tokens are cut out of the text first; `gpt2` runs the
    /// pre-tokenizer llama.cpp associates with `pre` and merge-rank BPE on bytes; `llama` runs llama.cpp's SPM
    /// algorithm (space prefix at the start and after special tokens, spaces → ▁, score-ranked merges, byte
    /// fallback).
    ///
    /// - Throws: `invalidVocabulary` for inconsistent arrays or unknown merge tokens, `unsupportedModelType`
    ///   for other models, `unknownPreTokenizer` for a `pre` the engine does not know.
    public init(ggufVocabulary v: GGUFTokenizerVocabulary) throws(TokenizationError) {
        let count = v.tokens.count
        guard v.tokenTypes.isEmpty || v.tokenTypes.count == count else {
            throw .invalidVocabulary(detail: "token_type has \(v.tokenTypes.count) entries for \(count) tokens")
        }
        guard v.scores.isEmpty || v.scores.count == count else {
            throw .invalidVocabulary(detail: "scores has \(v.scores.count) entries for \(count) tokens")
        }
        for (name, id) in [("bos", v.bosID), ("eos", v.eosID), ("unknown", v.unknownID)] {
            if let id, id < 0 || id >= count {
                throw .invalidVocabulary(detail: "\(name) id \(id) is outside 0..<\(count)")
            }
        }
        func type(_ id: Int) -> Int32 { v.tokenTypes.isEmpty ? TokenType.normal.rawValue : v.tokenTypes[id] }
        var added: [AddedTokenMatcher.Token] = []
        var special: Set<Int> = []
        for id in 0..<count {
            let t = type(id)
            if t == TokenType.control.rawValue || t == TokenType.userDefined.rawValue {
                added.append(.init(content: v.tokens[id].unicodeScalars.map(\.value), id: id))
            }
            if t == TokenType.control.rawValue { special.insert(id) }
        }
        let model: Model
        let flavor: Flavor
        let steps: [PreTokenizerStep]
        let decoder: JSONValue
        var addBOS = v.addBOS
        switch v.model {
        case "gpt2":
            let pre = v.pre ?? "default"
            var ignoreMerges = false
            switch pre {
            case "gpt-2", "phi-2", "mpt", "olmo", "jais", "trillion", "granite-docling":
                steps = [.byteLevel(addPrefixSpace: false, useRegex: true)]
            case "smollm", "starcoder", "codeshell", "exaone", "minerva", "mellum2":
                steps = [.digits(individual: true), .byteLevel(addPrefixSpace: false, useRegex: true)]
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2":
                steps = [.split(.llama3(maxDigits: 3))]
                ignoreMerges = true
                addBOS = addBOS ?? true
            case "qwen2", "deepseek-r1-qwen", "hunyuan":
                steps = [.split(.llama3(maxDigits: 1))]
            default:
                throw .unknownPreTokenizer(path: "tokenizer.ggml.pre", found: pre.debugDescription)
            }
            var vocab = ByteTable(capacity: count)
            var byText = ByteTable(capacity: count)
            // llama.cpp's text → id map keeps the last id of a repeated text.
            for id in stride(from: count - 1, through: 0, by: -1) {
                let token = v.tokens[id]
                let t = type(id)
                let byteLevel = t == TokenType.normal.rawValue || t == TokenType.byte.rawValue
                vocab.insert(Self.modelKey(token, byteLevel: byteLevel), Int32(id))
                byText.insert(Array(token.utf8), Int32(id))
            }
            var merges = MergeTable(capacity: v.merges.count)
            for (rank, merge) in v.merges.enumerated() {
                let scalars = Array(merge.unicodeScalars)
                guard scalars.count > 1, let space = scalars[1...].firstIndex(of: " ") else {
                    throw .malformedMerge(path: "tokenizer.ggml.merges", index: rank, merge: merge)
                }
                let left = String(String.UnicodeScalarView(scalars[..<space]))
                let right = String(String.UnicodeScalarView(scalars[(space + 1)...]))
                for part in [left, right, left + right] where byText.find(Array(part.utf8)) == nil {
                    throw .mergeNamesUnknownToken(path: "tokenizer.ggml.merges", index: rank, token: part)
                }
                merges.insert(
                    byText.find(Array(left.utf8))!, byText.find(Array(right.utf8))!, rank: Int32(rank),
                    result: byText.find(Array((left + right).utf8))!)
            }
            let byteIDs = (0..<256).map { byte in
                byText.find(Array(String(ByteLevelAlphabet.scalarForByte[byte]).utf8)) ?? -1
            }
            model = .mergeBPE(
                MergeBPEModel(
                    vocab: vocab, merges: merges, byteLevel: true, byteIDs: byteIDs, byteFallback: false,
                    fallbackIDs: [Int32](repeating: -1, count: 256), unknownID: nil, fuseUnknown: false,
                    ignoreMerges: ignoreMerges))
            flavor = .huggingFace
            decoder = .object([("type", .string("ByteLevel"))])
        case "llama":
            var vocab = ByteTable(capacity: count)
            for id in stride(from: count - 1, through: 0, by: -1) {
                vocab.insert(Array(v.tokens[id].utf8), Int32(id))
            }
            let fallback = byteFallbackIDs { text in
                let id = vocab.find(Array(text.utf8))
                return id.flatMap { type(Int($0)) == TokenType.byte.rawValue ? $0 : nil }
            }
            model = .scoreBPE(
                ScoreBPEModel(
                    vocab: vocab, scores: v.scores.isEmpty ? [Float](repeating: 0, count: count) : v.scores,
                    fallbackIDs: fallback, byteFallback: true, unknownID: Int32(v.unknownID ?? 0)))
            flavor = .llamaSPM(addSpacePrefix: v.addSpacePrefix ?? true)
            steps = []
            addBOS = addBOS ?? true
            let replace: JSONValue = .object([
                ("type", .string("Replace")), ("pattern", .object([("String", .string("\u{2581}"))])),
                ("content", .string(" "))
            ])
            var decoders: [JSONValue] = [
                replace, .object([("type", .string("ByteFallback"))]),
                .object([("type", .string("Fuse"))])
            ]
            if v.addSpacePrefix ?? true {
                decoders.append(
                    .object([
                        ("type", .string("Strip")), ("content", .string(" ")), ("start", .int(1)), ("stop", .int(0))
                    ]))
            }
            decoder = .object([("type", .string("Sequence")), ("decoders", .array(decoders))])
        default:
            throw .unsupportedModelType(path: "tokenizer.ggml.model", found: v.model, expected: "gpt2 or llama")
        }
        self.init(
            model: model, flavor: flavor, pieces: v.tokens, addedTokens: AddedTokenMatcher(added),
            normalizedAddedTokens: AddedTokenMatcher([]), normalizers: [], preTokenizer: steps, decoder: decoder,
            prefixIDs: (addBOS ?? false) ? v.bosID.map { [$0] } ?? [] : [],
            suffixIDs: (v.addEOS ?? false) ? v.eosID.map { [$0] } ?? [] : [],
            specialIDs: special, bosID: v.bosID, eosID: v.eosID)
    }
}
