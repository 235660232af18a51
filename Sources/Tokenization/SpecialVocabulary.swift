import JSON

/// Merges, special token ids, `add_*_token` flags, chat templates and normalizer flags, collected the way
/// gguf-py's `SpecialVocab` collects them (`gguf-py/gguf/vocab.py`), and written in the order of its
/// `add_to_gguf`.
///
/// Sources, in the converter's order:
/// 1. `tokenizer.json`: `model.merges` (when `loadMerges`), `normalizer` (Lowercase / StripAccents /
///    BertNormalizer flags), and the `post_processor`, which decides the `add_*` flags (ByteLevel: bos and
///    eos default to false; RobertaProcessing: bos, eos and sep true; TemplateProcessing: bos if the single
///    template starts with the bos or cls token, eos if it ends with the eos token, sep from the pair
///    template). A TemplateProcessing that ends with a token other than `eos_token` makes that token the
///    eos and moves the old eos to an extra `eot` (or `eom`) type, as the converter does.
/// 2. `tokenizer_config.json` (only when it exists and is non-empty): the chat template (else
///    `chat_template.jinja` plus `additional_chat_templates/*.jinja`, else `chat_template.json`), then
///    for each type `add_<type>_token` if the post-processor did not set it, and `<type>_token`, whose
///    content is looked up among `tokenizer.json` `added_tokens` (first match) to give the id.
/// 3. `config.json` `<type>_token_id` (or `text_config.<type>_token_id`) for types still unset.
/// 4. `merges.txt` when merges were requested and none were found.
///
/// An id that is set is never replaced; ids not below `nVocab` are skipped when `nVocab` is given (the
/// SentencePiece paths give it, the GPT-2 path does not). Ids for types gguf-py has no writer for (`cls`)
/// are collected but not written, as are `add_*` flags other than bos, eos and sep.
public struct SpecialVocabulary: Sendable {
    /// Merges as "left right" strings, in rank order.
    public private(set) var merges: [String] = []
    /// Special token ids in insertion order, which is the order they are written in.
    public private(set) var specialTokenIDs: [(type: String, id: Int)] = []
    /// `add_<type>_token` flags in insertion order.
    public private(set) var addSpecialToken: [(type: String, value: Bool)] = []
    /// The chat template(s) as found. Gemma clears it on its second `SpecialVocab` ("do not add it twice").
    public var chatTemplate: ChatTemplate?
    public private(set) var normalizerLowercase: Bool?
    public private(set) var normalizerStripAccents: Bool?
    /// The token types considered, possibly extended with `eot`/`eom` by the post-processor rule.
    public private(set) var specialTokenTypes: [String]
    public let loadMerges: Bool

    /// A chat template: one string, or a list of named templates ("default" is the unnamed one).
    public enum ChatTemplate: Equatable, Sendable {
        case single(String)
        case named([(name: String, template: String)])

        public static func == (lhs: ChatTemplate, rhs: ChatTemplate) -> Bool {
            switch (lhs, rhs) {
            case (.single(let a), .single(let b)): a == b
            case (.named(let a), .named(let b)):
                a.count == b.count && zip(a, b).allSatisfy { $0.name == $1.name && $0.template == $1.template }
            default: false
            }
        }
    }

    /// The default special token types of `SpecialVocab`.
    public static let defaultSpecialTokenTypes = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"]

    private var ids = InsertionOrderedMap<Int>()
    private var addFlags = InsertionOrderedMap<Bool>()
    private let nVocab: Int?

    /// Collects the special vocabulary from `files`.
    ///
    /// - Parameters:
    ///   - loadMerges: read merges (the GPT-2 BPE path asks for them).
    ///   - nVocab: skip special ids that are not below this (pass the token count on SentencePiece paths).
    ///   - specialTokenTypes: the types to look for, in order.
    /// - Throws: `unexpectedJSON` for merges in an unknown format or wrongly shaped fields,
    ///   `invalidSpecialTokenID` for a negative id.
    public init(
        files: TokenizerFiles, loadMerges: Bool = false, nVocab: Int? = nil,
        specialTokenTypes: [String] = SpecialVocabulary.defaultSpecialTokenTypes
    ) throws(TokenizationError) {
        self.loadMerges = loadMerges
        self.nVocab = nVocab
        self.specialTokenTypes = specialTokenTypes
        try loadFromTokenizerJSON(files)
        try loadFromConfigJSON(files)
        if loadMerges, merges.isEmpty, let text = files.mergesText {
            merges = Self.parseMergesText(text)
        }
        specialTokenIDs = ids.items.map { ($0.key, $0.value) }
        addSpecialToken = addFlags.items.map { ($0.key, $0.value) }
    }

    /// Sets a special id the way `SpecialVocab._set_special_token` does: non-integers are ignored, negative
    /// ids are an error, out-of-range ids (with `nVocab`) are skipped, and an id already set is kept.
    public mutating func setSpecialToken(_ type: String, id: Int, path: String = "") throws(TokenizationError) {
        try setSpecialToken(type, .int(id), path: path)
        specialTokenIDs = ids.items.map { ($0.key, $0.value) }
    }

    private mutating func setSpecialToken(_ type: String, _ value: JSONValue?, path: String) throws(TokenizationError) {
        guard let id = value?.pythonInt else { return }
        guard id >= 0 else { throw .invalidSpecialTokenID(path: path, type: type, id: id) }
        if let nVocab, id >= nVocab { return }
        if ids[type] == nil { ids[type] = id }
    }

    // MARK: - Output

    /// The entries `SpecialVocab.add_to_gguf` writes, in its order: merges, special ids, `add_*` flags, chat
    /// template(s), normalizer flags.
    public var metadataEntries: [TokenizerMetadataEntry] {
        var entries: [TokenizerMetadataEntry] = []
        if !merges.isEmpty { entries.set(TokenizerKey.merges, .stringArray(merges)) }
        for (type, id) in specialTokenIDs {
            // Ids above UInt32.max cannot come from a real vocabulary; nVocab or the caller's checks bound them.
            if let key = TokenizerKey.specialTokenID(type), let value = UInt32(exactly: id) {
                entries.set(key, .uint32(value))
            }
        }
        for (type, value) in addSpecialToken {
            if let key = TokenizerKey.addSpecialToken(type) { entries.set(key, .bool(value)) }
        }
        switch chatTemplate {
        case .single(let template):
            if !template.isEmpty { entries.set(TokenizerKey.chatTemplate, .string(template)) }
        case .named(let choices):
            var defaultTemplate: String?
            var names: [String] = []
            for (rawName, template) in choices {
                let name = String(
                    String.UnicodeScalarView(
                        rawName.unicodeScalars.map { scalar in
                            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))
                                ? scalar : "_"
                        }))
                guard !name.isEmpty else { continue }
                if name == "default" {
                    defaultTemplate = template
                } else {
                    if !names.contains(name) { names.append(name) }
                    if !template.isEmpty { entries.set(TokenizerKey.chatTemplate(named: name), .string(template)) }
                }
            }
            // gguf-py collects the names in a Python set, whose order is not reproducible across runs;
            // Kiln writes them in order of first appearance.
            if !names.isEmpty { entries.set(TokenizerKey.chatTemplates, .stringArray(names)) }
            if let defaultTemplate, !defaultTemplate.isEmpty {
                entries.set(TokenizerKey.chatTemplate, .string(defaultTemplate))
            }
        case nil:
            break
        }
        if let normalizerLowercase { entries.set(TokenizerKey.normalizerLowercase, .bool(normalizerLowercase)) }
        if let normalizerStripAccents {
            entries.set(TokenizerKey.normalizerStripAccents, .bool(normalizerStripAccents))
        }
        return entries
    }

    // MARK: - tokenizer.json and tokenizer_config.json

    private mutating func loadFromTokenizerJSON(_ files: TokenizerFiles) throws(TokenizationError) {
        let tokenizerPath = files.path("tokenizer.json")
        let configPath = files.path("tokenizer_config.json")
        let tokenizer = files.tokenizerJSON
        if let tokenizer, tokenizer.objectMembers == nil {
            throw .unexpectedJSON(path: tokenizerPath, field: "(root)", expected: "an object")
        }
        var addedTokens: [JSONValue] = []
        if let tokenizer {
            if loadMerges, let rawMerges = tokenizer["model"]?["merges"] {
                merges = try Self.mergeStrings(rawMerges, path: tokenizerPath)
            }
            if let normalizer = tokenizer["normalizer"], normalizer.isTruthy { parseNormalizer(normalizer) }
            if let added = tokenizer["added_tokens"] {
                guard let list = added.arrayValue else {
                    throw .unexpectedJSON(path: tokenizerPath, field: "added_tokens", expected: "a list")
                }
                addedTokens = list
            }
        }
        if let config = files.tokenizerConfig, config.objectMembers == nil {
            throw .unexpectedJSON(path: configPath, field: "(root)", expected: "an object")
        }
        // The converter edits its copy of tokenizer_config while reading the post-processor; `overrides`
        // holds those edits.
        var overrides: [String: JSONValue] = [:]
        let configIsTruthy = truthy(files.tokenizerConfig)
        func config(_ key: String) -> JSONValue? { overrides[key] ?? files.tokenizerConfig?[key] }

        if let tokenizer, tokenizer.isTruthy {
            var specialBOS = config("bos_token")
            var specialCLS = config("cls_token")
            var specialEOS = config("eos_token")
            var specialSEP = config("sep_token")
            if !truthy(specialBOS), truthy(specialCLS), configIsTruthy {
                specialBOS = specialCLS
                overrides["bos_token"] = specialCLS
            }
            if !truthy(specialEOS), truthy(specialSEP), configIsTruthy {
                specialEOS = specialSEP
                overrides["eos_token"] = specialSEP
            }
            if let postProcessor = tokenizer["post_processor"], postProcessor.isTruthy {
                let processors = postProcessor["processors"]?.arrayValue ?? [postProcessor]
                for processor in processors {
                    switch processor["type"]?.stringValue {
                    case "ByteLevel":
                        addFlags.setDefault("bos", false)
                        addFlags.setDefault("eos", false)
                    case "RobertaProcessing":
                        addFlags["bos"] = true
                        addFlags["eos"] = true
                        addFlags["sep"] = true
                        if !truthy(specialCLS), configIsTruthy {
                            specialCLS = processor["cls"]?.arrayValue?.first ?? specialBOS
                            overrides["cls_token"] = specialCLS ?? .null
                        }
                        if !truthy(specialSEP), configIsTruthy {
                            specialSEP = processor["sep"]?.arrayValue?.first ?? specialEOS
                            overrides["sep_token"] = specialSEP ?? .null
                        }
                    case "TemplateProcessing":
                        applyTemplateProcessing(
                            processor, configIsTruthy: configIsTruthy, overrides: &overrides,
                            bos: &specialBOS, cls: &specialCLS, eos: &specialEOS, sep: &specialSEP)
                    default:
                        break
                    }
                }
            }
        }
        guard configIsTruthy else { return }

        // Chat template: tokenizer_config's own key wins, even when it holds null.
        var alternative: JSONValue? = nil
        if let jinja = files.chatTemplateJinja {
            alternative = .string(jinja)
            if !files.additionalChatTemplates.isEmpty {
                var list: [JSONValue] = [.object([("name", .string("default")), ("template", .string(jinja))])]
                for (name, template) in files.additionalChatTemplates {
                    list.append(.object([("name", .string(name)), ("template", .string(template))]))
                }
                alternative = .array(list)
            }
        } else if let json = files.chatTemplateJSON {
            alternative = json["chat_template"]
        }
        let template =
            files.tokenizerConfig?.objectMembers?.contains { $0.key == "chat_template" } == true
            ? config("chat_template") : alternative
        switch template {
        case .string(let text):
            chatTemplate = .single(text)
        case .array(let choices):
            var named: [(name: String, template: String)] = []
            for choice in choices {
                guard choice.objectMembers != nil else {
                    throw .unexpectedJSON(
                        path: configPath, field: "chat_template", expected: "a list of {name, template} objects")
                }
                let name = choice["name"]?.stringValue ?? ""
                switch choice["template"] {
                case nil, .null?: continue
                case .string(let text)?: named.append((name, text))
                default:
                    throw .unexpectedJSON(path: configPath, field: "chat_template[].template", expected: "a string")
                }
            }
            chatTemplate = .named(named)
        default:
            // None, or a wrong type the converter ignores with a warning.
            break
        }

        for type in specialTokenTypes {
            if case .bool(let flag)? = config("add_\(type)_token"), addFlags[type] == nil {
                addFlags[type] = flag
            }
            let content: String
            switch config("\(type)_token") {
            case .string(let s)?: content = s
            case .object?:
                guard let s = config("\(type)_token")?["content"]?.stringValue else { continue }
                content = s
            default: continue
            }
            let match = addedTokens.first { $0["content"]?.stringValue.map { sameText($0, content) } ?? false }
            try setSpecialToken(type, match?["id"], path: configPath)
        }
    }

    /// The converter's "crude parsing" of a TemplateProcessing post-processor.
    private mutating func applyTemplateProcessing(
        _ processor: JSONValue, configIsTruthy: Bool, overrides: inout [String: JSONValue],
        bos: inout JSONValue?, cls: inout JSONValue?, eos: inout JSONValue?, sep: inout JSONValue?
    ) {
        func specialID(_ item: JSONValue?) -> JSONValue? { item?["SpecialToken"]?["id"] }
        func isIn(_ value: JSONValue?, _ a: JSONValue?, _ b: JSONValue?) -> Bool { value == a || value == b }
        let single = processor["single"]?.arrayValue ?? []
        var pair = processor["pair"]?.arrayValue ?? []
        var first: JSONValue? = nil
        var last: JSONValue? = nil
        if single.count > 1 {
            first = specialID(single.first)
            if truthy(first) {
                if !configIsTruthy {
                    bos = first
                } else if !isIn(first, bos, cls) {
                    if !truthy(bos) { bos = first; overrides["bos_token"] = first }
                    if !truthy(cls) { cls = first; overrides["cls_token"] = first }
                }
                addFlags["bos"] = isIn(first, bos, cls)
            }
            last = specialID(single.last)
            if truthy(last) {
                if !configIsTruthy {
                    eos = last
                } else if last != eos {
                    if !specialTokenTypes.contains("eot") {
                        specialTokenTypes.append("eot")
                        overrides["eot_token"] = eos ?? .null
                    } else if !specialTokenTypes.contains("eom") {
                        specialTokenTypes.append("eom")
                        overrides["eom_token"] = eos ?? .null
                    }
                    eos = last
                    overrides["eos_token"] = last
                }
                addFlags["eos"] = last == eos
            }
        }
        guard !pair.isEmpty else { return }
        let start = truthy(first) && specialID(pair.first) == first ? 1 : 0
        let stop = truthy(last) && specialID(pair.last) == last ? pair.count - 1 : pair.count
        pair = start < stop ? Array(pair[start..<stop]) : []
        guard !pair.isEmpty else { return }
        let a = pair.first?["Sequence"]?["id"]
        let b = pair.last?["Sequence"]?["id"]
        guard a == .string("A"), b == .string("B"), pair.count > 2 else { return }
        let middle = Array(pair[1..<(pair.count - 1)])
        var addSep = false
        let entry = specialID(middle[0])
        if truthy(entry), isIn(entry, sep, eos), !truthy(last) { addSep = true }
        if middle.count == 2 {
            let second = specialID(middle[1])
            if truthy(second), isIn(second, sep, eos) { addSep = true }
        }
        addFlags["sep"] = addSep
        if addSep, !truthy(sep), configIsTruthy { overrides["sep_token"] = eos ?? .null }
    }

    private mutating func parseNormalizer(_ normalizer: JSONValue) {
        switch normalizer["type"]?.stringValue {
        case "Lowercase": normalizerLowercase = true
        case "StripAccents": normalizerStripAccents = true
        case "BertNormalizer":
            if let value = normalizer["lowercase"] { normalizerLowercase = value.boolValue }
            if let value = normalizer["strip_accents"] { normalizerStripAccents = value.boolValue }
        case "Sequence":
            for item in normalizer["normalizers"]?.arrayValue ?? [] { parseNormalizer(item) }
        default: break
        }
    }

    // MARK: - config.json

    private mutating func loadFromConfigJSON(_ files: TokenizerFiles) throws(TokenizationError) {
        guard let config = files.config else { return }
        for type in specialTokenTypes {
            var value = config["\(type)_token_id"]
            if value == nil || value == .null, let text = config["text_config"] {
                value = text["\(type)_token_id"]
            }
            try setSpecialToken(type, value, path: files.path("config.json"))
        }
    }

    // MARK: - Merges

    /// `model.merges` as "left right" strings. The pair form (transformers ≥ 4.45) maps a literal space
    /// inside a token to U+0120, as the converter does.
    static func mergeStrings(_ value: JSONValue, path: String) throws(TokenizationError) -> [String] {
        guard case .array(let list) = value, let first = list.first else { return [] }
        var merges: [String] = []
        merges.reserveCapacity(list.count)
        switch first {
        case .string:
            for (index, item) in list.enumerated() {
                guard case .string(let s) = item else {
                    throw .unexpectedJSON(path: path, field: "model.merges[\(index)]", expected: "a string")
                }
                merges.append(s)
            }
        case .array(let pair) where pair.count == 2 && pair[0].stringValue != nil:
            for (index, item) in list.enumerated() {
                guard case .array(let parts) = item, parts.count == 2,
                    let left = parts[0].stringValue, let right = parts[1].stringValue
                else {
                    throw .unexpectedJSON(path: path, field: "model.merges[\(index)]", expected: "a pair of strings")
                }
                merges.append(escapeSpaces(left) + " " + escapeSpaces(right))
            }
        default:
            throw .unexpectedJSON(
                path: path, field: "model.merges", expected: "a list of \"a b\" strings or of [a, b] pairs")
        }
        return merges
    }

    private static func escapeSpaces(_ s: String) -> String {
        guard s.utf8.contains(0x20) else { return s }
        return String(String.UnicodeScalarView(s.unicodeScalars.map { $0 == " " ? "\u{120}" : $0 }))
    }

    /// `merges.txt`: a first line starting with "#" is a header; each other non-blank line must split on
    /// whitespace into exactly two parts (others are skipped, as the converter skips them with a warning).
    static func parseMergesText(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if text.hasSuffix("\n") { lines.removeLast() }
        if let first = lines.first, pythonStrip(first).hasPrefix("#") { lines.removeFirst() }
        var merges: [String] = []
        for line in lines {
            let parts = pythonSplit(line)
            if parts.isEmpty { continue }
            if parts.count == 2 { merges.append(parts[0] + " " + parts[1]) }
        }
        return merges
    }
}

/// Python's `str.isspace` for one scalar: Unicode White_Space plus the separators U+001C–U+001F.
func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
}

/// Python's `str.strip()`.
func pythonStrip(_ s: String) -> String {
    let scalars = Array(s.unicodeScalars)
    guard let start = scalars.firstIndex(where: { !isPythonWhitespace($0) }),
        let end = scalars.lastIndex(where: { !isPythonWhitespace($0) })
    else { return "" }
    return String(String.UnicodeScalarView(scalars[start...end]))
}

/// Python's `str.split()` (runs of whitespace separate, no empty parts).
func pythonSplit(_ s: String) -> [String] {
    var parts: [String] = []
    var current = String.UnicodeScalarView()
    for scalar in s.unicodeScalars {
        if isPythonWhitespace(scalar) {
            if !current.isEmpty { parts.append(String(current)); current = String.UnicodeScalarView() }
        } else {
            current.append(scalar)
        }
    }
    if !current.isEmpty { parts.append(String(current)) }
    return parts
}

/// Code-point equality, as Python compares strings (Swift's `==` also equates canonically equivalent
/// strings, which Python does not).
func sameText(_ a: String, _ b: String) -> Bool { a.unicodeScalars.elementsEqual(b.unicodeScalars) }
