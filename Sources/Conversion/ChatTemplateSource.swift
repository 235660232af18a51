import Architectures
import ChatTemplates
import Foundation
import GGUF
import Tokenization

/// A chat template with what rendering and checking it needs, read from a checkpoint folder (the template
/// Kiln embeds, chosen as the converter chooses it, and `tokenizer_config.json`'s special tokens), a GGUF file
/// (`tokenizer.chat_template[.NAME]` and the special tokens' pieces) or a bare `.jinja` file.
public struct ChatTemplateSource: Sendable {
    /// The default template and the named ones (`tool_use`, …); `default` is the unnamed one.
    public var templates: [(name: String, template: String)]
    /// Names the template in errors: the file path, or `FILE:tokenizer.chat_template`.
    public var origin: String
    public var specialTokens: [(name: String, value: String)]
    /// The model's tokenizer (nil for a bare `.jinja` file).
    public var tokenizer: Tokenizer?

    public init(
        templates: [(name: String, template: String)], origin: String,
        specialTokens: [(name: String, value: String)], tokenizer: Tokenizer?
    ) {
        self.templates = templates
        self.origin = origin
        self.specialTokens = specialTokens
        self.tokenizer = tokenizer
    }

    /// Reads `path`: a checkpoint folder, a GGUF file or a template file.
    ///
    /// - Throws: ``ChatTemplateSourceError`` when the source has no chat template or cannot be read; the
    ///   tokenizer's and the GGUF reader's own errors.
    public static func load(_ path: String) throws -> ChatTemplateSource {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ChatTemplateSourceError.missing(path: url.path)
        }
        if isDirectory.boolValue { return try folder(url) }
        if let handle = FileHandle(forReadingAtPath: url.path) {
            let magic = handle.readData(ofLength: 4)
            try? handle.close()
            // A `.gguf` file is read as one even without the magic, so a damaged model is reported as such
            // rather than rendered as a template.
            if magic == Data("GGUF".utf8) || url.pathExtension.lowercased() == "gguf" {
                return try gguf(GGUFFile(url: url))
            }
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ChatTemplateSourceError.unreadable(path: url.path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ChatTemplateSourceError.notUTF8(path: url.path)
        }
        return ChatTemplateSource(templates: [("default", text)], origin: url.path, specialTokens: [], tokenizer: nil)
    }

    /// The template `kiln convert` embeds for `directory`, with `tokenizer_config.json`'s special tokens.
    public static func folder(_ directory: URL) throws -> ChatTemplateSource {
        let files = try TokenizerFiles.load(directory: directory)
        let special = try SpecialVocabulary(files: files)
        let templates: [(name: String, template: String)]
        switch special.chatTemplate {
        case .single(let text)?: templates = [("default", text)]
        case .named(let list)?: templates = list
        case nil: throw ChatTemplateSourceError.noTemplate(path: directory.path)
        }
        let origin = directory.appendingPathComponent("tokenizer_config.json").path + ":chat_template"
        return ChatTemplateSource(
            templates: templates, origin: origin, specialTokens: files.chatTemplateSpecialTokens,
            tokenizer: try exportedTokenizer(directory) ?? Tokenizer(files: files))
    }

    /// The tokenizer the GGUF converted from `directory` will carry (CONTROL and USER_DEFINED tokens cut out as
    /// llama.cpp cuts them), so a check at conversion time sees what runtimes will see; nil when the folder is
    /// not a convertible checkpoint (the Hugging Face tokenizer is used instead).
    static func exportedTokenizer(_ directory: URL) -> Tokenizer? {
        guard let raw = try? HFConfig(url: directory.appendingPathComponent("config.json")),
            let family = try? ModelFamily.detect(raw),
            let export = try? VocabularyExport.entries(
                family: family, directory: directory, config: raw.withTransformersDefaults(for: family))
        else { return nil }
        return try? Tokenizer(ggufMetadata: GGUFMetadata(export.entries), path: export.sourcePath)
    }

    /// The template a GGUF file carries; special tokens are the pieces of its `tokenizer.ggml.*_token_id`s.
    public static func gguf(_ file: GGUFFile) throws -> ChatTemplateSource {
        let kv = file.metadata
        guard let main = kv["tokenizer.chat_template"]?.stringValue else {
            throw ChatTemplateSourceError.noTemplate(path: file.url.path)
        }
        var templates: [(name: String, template: String)] = [("default", main)]
        if case let .array(.string(names))? = kv["tokenizer.chat_templates"] {
            for name in names {
                if let text = kv["tokenizer.chat_template.\(name)"]?.stringValue { templates.append((name, text)) }
            }
        }
        let tokenizer = try? Tokenizer(gguf: file)
        var special: [(name: String, value: String)] = []
        let keys = [
            ("bos_token", "bos"), ("eos_token", "eos"), ("unk_token", "unknown"), ("sep_token", "seperator"),
            ("pad_token", "padding"), ("cls_token", "cls"), ("mask_token", "mask")
        ]
        for (name, key) in keys {
            if let id = kv["tokenizer.ggml.\(key)_token_id"]?.integerValue, let tokenizer, id >= 0,
                Int(id) < tokenizer.vocabularySize
            {
                special.append((name, tokenizer.piece(Int(id))))
            }
        }
        return ChatTemplateSource(
            templates: templates, origin: file.url.path + ":tokenizer.chat_template",
            specialTokens: special, tokenizer: tokenizer)
    }

    /// The template to use: `tool_use` when tools are given and it exists, else the default one.
    public func template(hasTools: Bool) throws(ChatTemplateError) -> ChatTemplate {
        let text = ChatTemplate.select(named: templates, hasTools: hasTools) ?? templates.first?.template ?? ""
        return try ChatTemplate(text, origin: origin)
    }

    /// What the check needs about the vocabulary.
    public var vocabulary: ChatTemplateVocabulary {
        guard let tokenizer else {
            return ChatTemplateVocabulary(specialTokens: specialTokens, tokenCount: nil, addsBOS: false)
        }
        let addsBOS = tokenizer.bosID.map { tokenizer.encode("a", addSpecialTokens: true).first == $0 } ?? false
        return ChatTemplateVocabulary(
            specialTokens: specialTokens, tokenCount: { tokenizer.encode($0, addSpecialTokens: false).count },
            addsBOS: addsBOS)
    }

    /// Renders the probe conversations (see ``ChatTemplateReport``); a template that does not parse gives a
    /// report with `renders` false and the syntax error.
    public func check(options: RenderOptions = RenderOptions()) -> ChatTemplateReport {
        do {
            return try template(hasTools: false).check(vocabulary: vocabulary, options: options)
        } catch {
            return ChatTemplateReport(failedWith: error)
        }
    }
}

/// Why a chat template could not be read.
public enum ChatTemplateSourceError: Error, Equatable, CustomStringConvertible {
    case missing(path: String)
    case unreadable(path: String)
    case notUTF8(path: String)
    case noTemplate(path: String)

    public var description: String {
        switch self {
        case .missing(let path):
            "\(path): no such file or folder (expected a checkpoint folder, a GGUF file or a .jinja template)"
        case .unreadable(let path): "\(path): cannot read the file"
        case .notUTF8(let path): "\(path): the template is not UTF-8 text"
        case .noTemplate(let path):
            "\(path): no chat template (expected tokenizer_config.json's chat_template, chat_template.jinja or the GGUF key tokenizer.chat_template)"
        }
    }
}
