import Foundation
import JSON

/// Every tokenizer-related file of a Hugging Face checkpoint folder, read once.
///
/// `load(directory:)` reads whatever exists and fails only on files that exist but are broken, since the
/// converter too only looks at files that are there. Which files a vocabulary needs is checked by the
/// vocabulary loaders (`BPEVocabulary`, `SentencePieceVocabulary`, `LlamaHFVocabulary`, `SpecialVocabulary`).
public struct TokenizerFiles: Sendable {
    public let directory: URL

    var tokenizerJSON: JSONValue?
    var tokenizerConfig: JSONValue?
    var config: JSONValue?
    var addedTokensJSON: JSONValue?
    var specialTokensMap: JSONValue?
    var chatTemplateJSON: JSONValue?
    /// `chat_template.jinja`.
    var chatTemplateJinja: String?
    /// `additional_chat_templates/*.jinja` as (file stem, text), sorted by file name.
    var additionalChatTemplates: [(name: String, template: String)] = []
    /// `merges.txt` (the fallback merges source).
    var mergesText: String?
    /// `tokenizer.model`, decoded.
    public private(set) var sentencePieceModel: SentencePieceModel?

    /// The path of `name` inside the directory, as used in error messages.
    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    public var hasTokenizerJSON: Bool { tokenizerJSON != nil }
    public var hasSentencePieceModel: Bool { sentencePieceModel != nil }

    /// `config.json` `vocab_size`, if it is an integer.
    public var configVocabSize: Int? { config?["vocab_size"]?.pythonInt }

    /// `tokenizer_config.json` `add_prefix_space` (Llama writes it as `tokenizer.ggml.add_space_prefix`).
    public var addPrefixSpace: Bool? { tokenizerConfig?["add_prefix_space"]?.boolValue }

    /// `tokenizer_config.json` `tokenizer_class`, e.g. "GPT2Tokenizer" (Phi-3 checks it to choose BPE).
    public var tokenizerClass: String? { tokenizerConfig?["tokenizer_class"]?.stringValue }

    /// An integer field of `config.json` (root level).
    public func configInt(_ key: String) -> Int? { config?[key]?.pythonInt }

    /// Reads the tokenizer files found in `directory`.
    ///
    /// - Throws: `malformedJSON` for a JSON file that does not parse, `corruptSentencePieceModel` for a bad
    ///   `tokenizer.model`, `unreadableFile` for I/O errors, `missingTokenizer` when `directory` is not a
    ///   directory.
    public static func load(directory: URL) throws(TokenizationError) -> TokenizerFiles {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw .missingTokenizer(directory: directory.path, expected: "a checkpoint directory")
        }
        var files = TokenizerFiles(directory: directory)
        files.tokenizerJSON = try readJSON(directory, "tokenizer.json")
        files.tokenizerConfig = try readJSON(directory, "tokenizer_config.json")
        files.config = try readJSON(directory, "config.json")
        files.addedTokensJSON = try readJSON(directory, "added_tokens.json")
        files.specialTokensMap = try readJSON(directory, "special_tokens_map.json")
        files.chatTemplateJSON = try readJSON(directory, "chat_template.json")
        files.chatTemplateJinja = try readText(directory.appendingPathComponent("chat_template.jinja"))
        files.mergesText = try readText(directory.appendingPathComponent("merges.txt"))
        let additional = directory.appendingPathComponent("additional_chat_templates")
        if let names = try? FileManager.default.contentsOfDirectory(atPath: additional.path) {
            for name in names.sorted() where name.hasSuffix(".jinja") {
                let url = additional.appendingPathComponent(name)
                if let text = try readText(url) {
                    files.additionalChatTemplates.append((String(name.dropLast(".jinja".count)), text))
                }
            }
        }
        if let data = try readData(directory.appendingPathComponent("tokenizer.model")) {
            files.sentencePieceModel = try SentencePieceModel(
                data: data, path: directory.appendingPathComponent("tokenizer.model").path)
        }
        return files
    }

    private static func readData(_ url: URL) throws(TokenizationError) -> Data? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue
        else { return nil }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw .unreadableFile(path: url.path, reason: "\(error.localizedDescription)")
        }
    }

    private static func readText(_ url: URL) throws(TokenizationError) -> String? {
        guard let data = try readData(url) else { return nil }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw .unreadableFile(path: url.path, reason: "not valid UTF-8")
        }
        return universalNewlines(text)
    }

    /// Python's text mode (`open(path, encoding="utf-8")`) turns "\r\n" and lone "\r" into "\n"; the converter
    /// reads `chat_template.jinja` and `merges.txt` that way.
    static func universalNewlines(_ text: String) -> String {
        guard text.utf8.contains(0x0D) else { return text }
        var out = String.UnicodeScalarView()
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\r" {
                out.append("\n")
                previousWasCR = true
                continue
            }
            if scalar == "\n", previousWasCR {
                previousWasCR = false
                continue
            }
            previousWasCR = false
            out.append(scalar)
        }
        return String(out)
    }

    private static func readJSON(_ directory: URL, _ name: String) throws(TokenizationError) -> JSONValue? {
        let url = directory.appendingPathComponent(name)
        guard let data = try readData(url) else { return nil }
        do {
            return try JSONParser.parse(data)
        } catch {
            throw .malformedJSON(path: url.path, offset: error.offset, reason: error.reason)
        }
    }
}
