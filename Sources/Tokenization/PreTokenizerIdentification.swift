import JSON

/// Names the llama.cpp pre-tokenizer (`tokenizer.ggml.pre`) of a byte-level BPE `tokenizer.json`.
///
/// llama.cpp's converter encodes a fixed probe string with the real Hugging Face tokenizer, hashes the token
/// ids and looks the hash up in a table (`get_vocab_base_pre`). Kiln cannot run that tokenizer, so it reads
/// the configuration that decides how text is split before BPE — the `pre_tokenizer` (its type, or the
/// steps of a `Sequence`: `Split` regex patterns and behaviour, `ByteLevel` flags, `Digits` splitting), the
/// `normalizer`, and whether a leading special token is added — and maps configurations known to give a
/// table entry to that entry's name:
///
/// | configuration | name |
/// |---|---|
/// | `ByteLevel` alone (GPT-2 regex), no normalizer | `gpt-2`; `phi-2` when `tokenizer_class` is `CodeGenTokenizer` |
/// | `Digits(individual_digits)` + `ByteLevel` (GPT-2 regex), no normalizer | `smollm` (added token `<\|im_start\|>`), `starcoder` (added token `<fim_prefix>`) |
/// | `Split` with the Llama 3 regex (`\p{N}{1,3}`) + `ByteLevel(use_regex: false)` | `llama-bpe` |
/// | `Split` with the Qwen2 regex (`\p{N}`) + `ByteLevel(use_regex: false)` | `qwen2`; `deepseek-r1-qwen` when a leading special token (BOS) is added |
/// | `Split` with the Qwen3.5 regex (`[\p{L}\p{M}]+`) + `ByteLevel(use_regex: false)` | `qwen35` |
///
/// (Split-based rows accept no normalizer or `NFC`.) Anything else throws `unknownPreTokenizer` with a
/// one-line description of what was found. The table hash also depends on the vocabulary, so models that
/// share a configuration but have their own table entry (e.g. `falcon3` or `smaug-bpe`, which use the
/// Llama 3 regex) cannot be told apart this way; they get the name of the reference model above.
public enum PreTokenizerIdentification {
    static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen35Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// One pre-tokenizer step, reduced to what decides the split.
    enum Step: Equatable {
        /// `ByteLevel`; `useRegex` means it also applies the GPT-2 regex.
        case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
        case digits(individual: Bool)
        case split(pattern: String, isRegex: Bool, behavior: String, invert: Bool)
        case other(String)
    }

    /// The llama.cpp pre-tokenizer name for the `tokenizer.json` in `files`.
    ///
    /// - Throws: `missingTokenizer` without `tokenizer.json`; `unknownPreTokenizer` for a configuration not
    ///   in the table above.
    public static func identify(files: TokenizerFiles) throws(TokenizationError) -> String {
        let path = files.path("tokenizer.json")
        guard let tokenizer = files.tokenizerJSON else {
            throw .missingTokenizer(directory: files.directory.path, expected: "tokenizer.json")
        }
        let steps = flatten(tokenizer["pre_tokenizer"])
        let normalizer = normalizerName(tokenizer["normalizer"])
        let unknown = TokenizationError.unknownPreTokenizer(
            path: path, found: describe(steps: steps, normalizer: normalizer))
        let addedContents = (tokenizer["added_tokens"]?.arrayValue ?? []).compactMap { $0["content"]?.stringValue }

        let byteLevelWithRegex = Step.byteLevel(addPrefixSpace: false, useRegex: true)
        if steps == [byteLevelWithRegex], normalizer == nil {
            return files.tokenizerClass == "CodeGenTokenizer" ? "phi-2" : "gpt-2"
        }
        if steps == [.digits(individual: true), byteLevelWithRegex], normalizer == nil {
            if addedContents.contains(where: { sameText($0, "<|im_start|>") }) { return "smollm" }
            if addedContents.contains(where: { sameText($0, "<fim_prefix>") }) { return "starcoder" }
            throw unknown
        }
        if steps.count == 2, case .split(let pattern, isRegex: true, behavior: "Isolated", invert: false) = steps[0],
            steps[1] == .byteLevel(addPrefixSpace: false, useRegex: false), normalizer == nil || normalizer == "NFC"
        {
            if pattern == llama3Regex { return "llama-bpe" }
            if pattern == qwen2Regex { return addsLeadingSpecialToken(files) ? "deepseek-r1-qwen" : "qwen2" }
            if pattern == qwen35Regex { return "qwen35" }
        }
        throw unknown
    }

    /// Whether encoding adds a special token in front (a BOS), which changes llama.cpp's probe hash: a
    /// TemplateProcessing post-processor whose single-sequence template starts with a special token, or a
    /// Llama-style fast tokenizer class with `add_bos_token: true` (transformers rebuilds its post-processor).
    static func addsLeadingSpecialToken(_ files: TokenizerFiles) -> Bool {
        if let post = files.tokenizerJSON?["post_processor"] {
            for processor in post["processors"]?.arrayValue ?? [post]
            where processor["type"]?.stringValue == "TemplateProcessing" {
                if let first = processor["single"]?.arrayValue?.first, first["SpecialToken"] != nil { return true }
            }
        }
        if let tokenizerClass = files.tokenizerClass, tokenizerClass.hasPrefix("LlamaTokenizer"),
            files.tokenizerConfig?["add_bos_token"]?.boolValue == true
        {
            return true
        }
        return false
    }

    static func flatten(_ value: JSONValue?) -> [Step] {
        guard let value, value != .null else { return [] }
        switch value["type"]?.stringValue {
        case "Sequence":
            return (value["pretokenizers"]?.arrayValue ?? []).flatMap { flatten($0) }
        case "ByteLevel":
            return [
                .byteLevel(
                    addPrefixSpace: value["add_prefix_space"]?.boolValue ?? true,
                    useRegex: value["use_regex"]?.boolValue ?? true)
            ]
        case "Digits":
            return [.digits(individual: value["individual_digits"]?.boolValue ?? false)]
        case "Split":
            let pattern = value["pattern"]
            let regex = pattern?["Regex"]?.stringValue
            return [
                .split(
                    pattern: regex ?? pattern?["String"]?.stringValue ?? "",
                    isRegex: regex != nil,
                    behavior: value["behavior"]?.stringValue ?? "",
                    invert: value["invert"]?.boolValue ?? false)
            ]
        case let type?:
            return [.other(type)]
        case nil:
            return [.other("(no type)")]
        }
    }

    static func normalizerName(_ value: JSONValue?) -> String? {
        guard let value, value != .null else { return nil }
        if value["type"]?.stringValue == "Sequence" {
            let inner = (value["normalizers"]?.arrayValue ?? []).compactMap { normalizerName($0) }
            return inner.isEmpty ? nil : inner.count == 1 ? inner[0] : "Sequence[\(inner.joined(separator: ", "))]"
        }
        return value["type"]?.stringValue ?? "(no type)"
    }

    static func describe(steps: [Step], normalizer: String?) -> String {
        let parts = steps.map { step -> String in
            switch step {
            case .byteLevel(let prefix, let regex): "ByteLevel(add_prefix_space: \(prefix), use_regex: \(regex))"
            case .digits(let individual): "Digits(individual_digits: \(individual))"
            case .split(let pattern, let isRegex, let behavior, let invert):
                "Split(\(isRegex ? "Regex" : "String") \(pattern.debugDescription), \(behavior)\(invert ? ", invert" : ""))"
            case .other(let type): type
            }
        }
        let pre = parts.isEmpty ? "none" : parts.count == 1 ? parts[0] : "Sequence[\(parts.joined(separator: ", "))]"
        return "pre_tokenizer \(pre), normalizer \(normalizer ?? "none")"
    }
}
