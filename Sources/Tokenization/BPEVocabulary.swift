import JSON

/// A byte-level BPE vocabulary as the converter's `_set_vocab_gpt2` / `get_vocab_base` builds it from
/// `tokenizer.json`.
///
/// For every id below `vocabSize`:
/// - an id no token has becomes `"[PAD<id>]"`, UNUSED;
/// - an added token becomes CONTROL if it is `special` or looks special (`<pad>`, `<mask>`, `<2mass>`,
///   `[@BOS@]`, `<|…|>`, `<｜…｜>`, `<unused…>`), otherwise USER_DEFINED with "▁" replaced by " ";
/// - every other token is NORMAL, spelled as in `model.vocab` (byte-level form, e.g. "Ġthe").
///
/// Added tokens are those of `tokenizer.json` `added_tokens`, plus what transformers adds when it loads the
/// tokenizer: `tokenizer_config.json` `added_tokens_decoder` entries missing from `tokenizer.json`, then
/// the special tokens named by `special_tokens_map.json` / `tokenizer_config.json` (`bos_token`, …,
/// `additional_special_tokens`) that are not added tokens yet (they take their id from the vocabulary, or
/// the next free id, and are special).
///
/// The converter replaces an added token whose `normalized` is false by `decode(encode(token))`. Encoding
/// an added token yields that token's id, so this is the tokenizer's decoder applied to the one token;
/// Kiln implements the decoders that appear in practice: `ByteLevel` (a token made only of byte-level
/// characters is turned back into its bytes; any other character keeps the token as is — so `<|im_end|>`
/// is unchanged and `Ġhello` would become " hello"), `Replace` with a string pattern, `ByteFallback`,
/// `Fuse`, `Strip`, `Metaspace` and `Sequence`, plus transformers' `clean_up_tokenization_spaces` when the
/// tokenizer config turns it on. Other decoders leave the token unchanged.
public struct BPEVocabulary: Sendable {
    /// `tokenizer.ggml.pre`.
    public let pre: String
    public let tokens: [String]
    public let tokenTypes: [TokenType]

    /// Builds the vocabulary.
    ///
    /// - Parameters:
    ///   - vocabSize: the number of ids to emit; nil means `config.json` `vocab_size`, or else the number
    ///     of distinct token ids, as the converter does.
    ///   - pre: the `tokenizer.ggml.pre` name; nil identifies it with `PreTokenizerIdentification`.
    /// - Throws: `missingTokenizer` without `tokenizer.json`; `unsupportedModelType` unless `model.type` is
    ///   BPE; `vocabularyExceedsVocabSize` if a token id is not below `vocabSize`; `mergeNamesUnknownToken`
    ///   / `malformedMerge` for merges `tokenizers` would refuse; `unknownPreTokenizer`.
    public init(files: TokenizerFiles, vocabSize: Int? = nil, pre: String? = nil) throws(TokenizationError) {
        let path = files.path("tokenizer.json")
        guard let tokenizer = files.tokenizerJSON else {
            throw .missingTokenizer(directory: files.directory.path, expected: "tokenizer.json (byte-level BPE)")
        }
        let model = try HFTokenizerModel(tokenizer: tokenizer, path: path)
        try model.validateMerges(path: path)
        let added = try AddedTokens(files: files, model: model)

        // transformers' `tokenizer.vocab`: the model vocab overlaid with the added tokens (content -> id),
        // then reversed. An added token whose id a model token with other content also has wins that id
        // (the converter's choice depends on hash-map order there); an added token whose content the model
        // vocab has under another id takes that content away from the other id, which then becomes PAD.
        var reverse: [Int: String] = [:]
        var modelIDs: [ExactString: Int] = [:]
        reverse.reserveCapacity(model.vocab.count + added.tokens.count)
        modelIDs.reserveCapacity(model.vocab.count)
        for (token, id) in model.vocab {
            if let other = reverse[id] {
                throw .vocabularyDisagrees(
                    path: path,
                    detail: "model.vocab gives id \(id) to both \(other.debugDescription) and \(token.debugDescription)"
                )
            }
            reverse[id] = token
            modelIDs[ExactString(token)] = id
        }
        for token in added.tokens {
            if let oldID = modelIDs[ExactString(token.content)], oldID != token.id,
                let old = reverse[oldID], sameText(old, token.content)
            {
                reverse[oldID] = nil
            }
            reverse[token.id] = token.content
        }
        let maxID = reverse.keys.max() ?? -1
        let size = vocabSize ?? files.configVocabSize ?? reverse.count
        if maxID >= size {
            throw .vocabularyExceedsVocabSize(path: path, tokenID: maxID, vocabSize: size)
        }
        // transformers' `get_added_vocab()`: content -> id, later ids winning.
        var addedVocab: Set<ExactString> = []
        var addedByID: [Int: AddedTokens.Token] = [:]
        for token in added.tokens {
            addedVocab.insert(ExactString(token.content))
            addedByID[token.id] = token
        }
        let decoder = AddedTokenDecoder(tokenizer: tokenizer, tokenizerConfig: files.tokenizerConfig)

        var tokens: [String] = []
        var types: [TokenType] = []
        tokens.reserveCapacity(size)
        types.reserveCapacity(size)
        for id in 0..<size {
            guard var token = reverse[id] else {
                tokens.append("[PAD\(id)]")
                types.append(.unused)
                continue
            }
            if addedVocab.contains(ExactString(token)) {
                guard let entry = addedByID[id] else {
                    throw .vocabularyDisagrees(
                        path: path,
                        detail: "token \(token.debugDescription) at id \(id) is also an added token with another id")
                }
                if !entry.normalized { token = decoder.decode(token) }
                if entry.special || looksSpecial(token) {
                    types.append(.control)
                } else {
                    token = replacingMetaspace(token)
                    types.append(.userDefined)
                }
            } else {
                types.append(.normal)
            }
            tokens.append(token)
        }
        self.tokens = tokens
        self.tokenTypes = types
        if let pre {
            self.pre = pre
        } else {
            self.pre = try PreTokenizerIdentification.resolve(files: files)
        }
    }

    /// `tokenizer.ggml.model` = "gpt2", `pre`, `tokens` and `token_type`, in the converter's order.
    public var metadataEntries: [TokenizerMetadataEntry] {
        [
            TokenizerMetadataEntry(key: TokenizerKey.model, value: .string("gpt2")),
            TokenizerMetadataEntry(key: TokenizerKey.pre, value: .string(pre)),
            TokenizerMetadataEntry(key: TokenizerKey.tokens, value: .stringArray(tokens)),
            TokenizerMetadataEntry(key: TokenizerKey.tokenType, value: .int32Array(tokenTypes.map(\.rawValue)))
        ]
    }
}

/// The converter's `does_token_look_special` (code-point comparisons, as in Python).
func looksSpecial(_ token: String) -> Bool {
    let scalars = Array(token.unicodeScalars)
    func starts(_ prefix: String) -> Bool { scalars.starts(with: prefix.unicodeScalars) }
    func ends(_ suffix: String) -> Bool { scalars.reversed().starts(with: suffix.unicodeScalars.reversed()) }
    if ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(where: { sameText($0, token) }) { return true }
    if starts("<|"), ends("|>") { return true }
    if starts("<｜"), ends("｜>") { return true }
    if starts("<unused"), ends(">") { return true }
    return false
}

/// "▁" (U+2581) → " ", the converter's pre-normalization of user-defined tokens.
func replacingMetaspace(_ token: String) -> String {
    guard token.unicodeScalars.contains("\u{2581}") else { return token }
    return String(String.UnicodeScalarView(token.unicodeScalars.map { $0 == "\u{2581}" ? " " : $0 }))
}

/// A string compared and hashed by code points, like a Python `str` (Swift's `String` equates canonically
/// equivalent spellings, which would merge distinct vocabulary entries).
struct ExactString: Hashable, Sendable {
    let value: String
    init(_ value: String) { self.value = value }
    static func == (a: ExactString, b: ExactString) -> Bool { a.value.utf8.elementsEqual(b.value.utf8) }
    func hash(into hasher: inout Hasher) {
        var copy = value
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// The `model` section of a `tokenizer.json` with `type: "BPE"`.
struct HFTokenizerModel {
    /// `model.vocab` in file order.
    let vocab: [(token: String, id: Int)]
    let merges: JSONValue?
    let byteFallback: Bool
    let ignoreMerges: Bool
    let continuingSubwordPrefix: String?

    init(tokenizer: JSONValue, path: String) throws(TokenizationError) {
        guard let model = tokenizer["model"], model.objectMembers != nil else {
            throw .unexpectedJSON(path: path, field: "model", expected: "an object")
        }
        let type = model["type"]?.stringValue
        // Old files omit "type"; tokenizers then infers the model from its fields (BPE has merges).
        guard type == "BPE" || (type == nil && model["merges"] != nil) else {
            throw .unsupportedModelType(path: path, found: type ?? "(no type)", expected: "BPE")
        }
        guard let members = model["vocab"]?.objectMembers else {
            throw .unexpectedJSON(path: path, field: "model.vocab", expected: "an object mapping tokens to ids")
        }
        var vocab: [(token: String, id: Int)] = []
        vocab.reserveCapacity(members.count)
        for (token, value) in members {
            guard case .int(let id) = value, id >= 0, id <= Int(UInt32.max) else {
                throw .unexpectedJSON(
                    path: path, field: "model.vocab[\(token.debugDescription)]", expected: "a non-negative integer id")
            }
            vocab.append((token, id))
        }
        self.vocab = vocab
        self.merges = model["merges"]
        self.byteFallback = model["byte_fallback"]?.boolValue ?? false
        self.ignoreMerges = model["ignore_merges"]?.boolValue ?? false
        self.continuingSubwordPrefix = model["continuing_subword_prefix"]?.stringValue
    }

    /// Checks each merge the way `tokenizers` does when it builds a BPE model: both parts and their
    /// concatenation must be vocabulary tokens.
    func validateMerges(path: String) throws(TokenizationError) {
        guard case .array(let list)? = merges, !list.isEmpty else { return }
        var known: Set<ExactString> = []
        known.reserveCapacity(vocab.count)
        for (token, _) in vocab { known.insert(ExactString(token)) }
        let prefix = continuingSubwordPrefix ?? ""
        for (index, item) in list.enumerated() {
            let left: String
            let right: String
            switch item {
            case .string(let merge):
                guard let space = merge.unicodeScalars.firstIndex(of: " ") else {
                    throw .malformedMerge(path: path, index: index, merge: merge)
                }
                left = String(merge.unicodeScalars[..<space])
                right = String(merge.unicodeScalars[merge.unicodeScalars.index(after: space)...])
            case .array(let parts) where parts.count == 2 && parts[0].stringValue != nil && parts[1].stringValue != nil:
                left = parts[0].stringValue!
                right = parts[1].stringValue!
            default:
                throw .unexpectedJSON(path: path, field: "model.merges[\(index)]", expected: "\"a b\" or [a, b]")
            }
            for part in [left, right] where !known.contains(ExactString(part)) {
                throw .mergeNamesUnknownToken(path: path, index: index, token: part)
            }
            let merged =
                left + (!prefix.isEmpty && right.hasPrefix(prefix) ? String(right.dropFirst(prefix.count)) : right)
            if !known.contains(ExactString(merged)) {
                throw .mergeNamesUnknownToken(path: path, index: index, token: merged)
            }
        }
    }
}

/// The added tokens transformers sees for a fast tokenizer (see `BPEVocabulary`).
struct AddedTokens {
    struct Token {
        var id: Int
        var content: String
        var special: Bool
        var normalized: Bool
    }

    /// In id order.
    private(set) var tokens: [Token] = []

    init(files: TokenizerFiles, model: HFTokenizerModel) throws(TokenizationError) {
        let path = files.path("tokenizer.json")
        var byID: [Int: Token] = [:]
        var contents: Set<ExactString> = []
        func add(_ token: Token) {
            byID[token.id] = token
            contents.insert(ExactString(token.content))
        }
        for (index, item) in (files.tokenizerJSON?["added_tokens"]?.arrayValue ?? []).enumerated() {
            guard case .int(let id)? = item["id"], id >= 0, let content = item["content"]?.stringValue else {
                throw .unexpectedJSON(
                    path: path, field: "added_tokens[\(index)]", expected: "an object with id and content")
            }
            let special = item["special"]?.boolValue ?? false
            add(
                Token(id: id, content: content, special: special, normalized: item["normalized"]?.boolValue ?? !special)
            )
        }
        // tokenizer_config added_tokens_decoder entries that tokenizer.json lacks.
        let configPath = files.path("tokenizer_config.json")
        for (key, item) in files.tokenizerConfig?["added_tokens_decoder"]?.objectMembers ?? [] {
            guard let id = Int(key), id >= 0, let content = item["content"]?.stringValue else {
                throw .unexpectedJSON(
                    path: configPath, field: "added_tokens_decoder[\(key.debugDescription)]",
                    expected: "an integer key and an object with content")
            }
            guard byID[id] == nil else { continue }
            let special = item["special"]?.boolValue ?? false
            add(
                Token(id: id, content: content, special: special, normalized: item["normalized"]?.boolValue ?? !special)
            )
        }
        // Special tokens named by the config files but not added yet.
        var modelIDs: [ExactString: Int] = [:]
        for (token, id) in model.vocab { modelIDs[ExactString(token)] = id }
        let modelSize = (model.vocab.map(\.id).max() ?? -1) + 1
        for content in Self.namedSpecialTokens(files) where !contents.contains(ExactString(content)) {
            let id: Int
            if let existing = modelIDs[ExactString(content)] {
                id = existing
            } else if let maxAdded = byID.keys.max(), maxAdded >= modelSize {
                id = maxAdded + 1
            } else {
                id = modelSize
            }
            add(Token(id: id, content: content, special: true, normalized: false))
        }
        tokens = byID.values.sorted { $0.id < $1.id }
    }

    /// Special token strings from `special_tokens_map.json` (which wins) and `tokenizer_config.json`, in
    /// transformers' attribute order.
    static func namedSpecialTokens(_ files: TokenizerFiles) -> [String] {
        func content(_ value: JSONValue?) -> String? {
            switch value {
            case .string(let s)?: s
            case .object?: value?["content"]?.stringValue
            default: nil
            }
        }
        func lookup(_ key: String) -> JSONValue? {
            if let value = files.specialTokensMap?[key], value.isTruthy { return value }
            return files.tokenizerConfig?[key]
        }
        var result: [String] = []
        for key in ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"] {
            if let s = content(lookup(key)), !s.isEmpty, !result.contains(where: { sameText($0, s) }) {
                result.append(s)
            }
        }
        for item in lookup("additional_special_tokens")?.arrayValue ?? [] {
            if let s = content(item), !s.isEmpty, !result.contains(where: { sameText($0, s) }) { result.append(s) }
        }
        return result
    }
}
