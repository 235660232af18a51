import Foundation
import Testing

@testable import Tokenization

@Suite("Special vocabulary")
struct SpecialVocabularyTests {
    @Test("chat_template.jinja plus additional templates become named templates; CRLF reads as LF")
    func namedTemplates() throws {
        let dir = try TemporaryCheckpoint(files: [
            "tokenizer_config.json": #"{"model_max_length": 10}"#,
            "chat_template.jinja": "main\r\nline",
            "additional_chat_templates/tool-use.jinja": "tools",
            "additional_chat_templates/rag.jinja": "rag"
        ])
        defer { dir.cleanup() }
        let special = try SpecialVocabulary(files: TokenizerFiles.load(directory: dir.url))
        #expect(
            special.metadataEntries == [
                TokenizerMetadataEntry(key: "tokenizer.chat_template.rag", value: .string("rag")),
                TokenizerMetadataEntry(key: "tokenizer.chat_template.tool_use", value: .string("tools")),
                TokenizerMetadataEntry(key: "tokenizer.chat_templates", value: .stringArray(["rag", "tool_use"])),
                TokenizerMetadataEntry(key: "tokenizer.chat_template", value: .string("main\nline"))
            ])
    }

    @Test("tokenizer_config's chat_template wins, even over chat_template.json; none without a tokenizer_config")
    func templatePrecedence() throws {
        let dir = try TemporaryCheckpoint(files: [
            "tokenizer_config.json": #"{"chat_template": "from config"}"#,
            "chat_template.json": #"{"chat_template": "from json"}"#
        ])
        defer { dir.cleanup() }
        let special = try SpecialVocabulary(files: TokenizerFiles.load(directory: dir.url))
        #expect(special.chatTemplate == .single("from config"))

        let bare = try TemporaryCheckpoint(files: ["chat_template.json": #"{"chat_template": "from json"}"#])
        defer { bare.cleanup() }
        #expect(try SpecialVocabulary(files: TokenizerFiles.load(directory: bare.url)).chatTemplate == nil)
    }

    /// Expected values checked against gguf-py's SpecialVocab: a cls_token stands in for a missing bos_token,
    /// `true` is id 1 but bos is already set, lists are ignored, 50 is out of range, text_config is read.
    @Test("ids: tokenizer_config first, then config.json; n_vocab bound; cls not written")
    func ids() throws {
        let dir = try TemporaryCheckpoint(files: [
            "tokenizer.json":
                #"{"added_tokens":[{"id":7,"content":"<pad>"},{"id":9,"content":"<cls>"}],"model":{"type":"BPE","vocab":{},"merges":[]}}"#,
            "tokenizer_config.json": #"{"pad_token": {"content": "<pad>"}, "cls_token": "<cls>"}"#,
            "config.json":
                #"{"bos_token_id": true, "eos_token_id": [1, 2], "unk_token_id": 50, "text_config": {"mask_token_id": 3}}"#
        ])
        defer { dir.cleanup() }
        let files = try TokenizerFiles.load(directory: dir.url)
        let special = try SpecialVocabulary(files: files, nVocab: 10)
        #expect(special.specialTokenIDs.map(\.type) == ["bos", "pad", "cls", "mask"])
        #expect(special.specialTokenIDs.map(\.id) == [9, 7, 9, 3])
        #expect(
            special.metadataEntries == [
                TokenizerMetadataEntry(key: "tokenizer.ggml.bos_token_id", value: .uint32(9)),
                TokenizerMetadataEntry(key: "tokenizer.ggml.padding_token_id", value: .uint32(7)),
                TokenizerMetadataEntry(key: "tokenizer.ggml.mask_token_id", value: .uint32(3))
            ])
    }

    @Test("merges.txt fallback skips a # header and malformed lines")
    func mergesText() throws {
        let dir = try TemporaryCheckpoint(files: ["merges.txt": "#version: 0.2\r\nĠ t\nbad\n\nh e\n"])
        defer { dir.cleanup() }
        let special = try SpecialVocabulary(files: TokenizerFiles.load(directory: dir.url), loadMerges: true)
        #expect(special.merges == ["Ġ t", "h e"])
    }
}
