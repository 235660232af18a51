import Foundation
import Testing

@testable import Tokenization

@Suite("Pre-tokenizer identification")
struct PreTokenizerTests {
    static func splitSequence(_ regex: String) -> String {
        let quoted = PythonJSON.quote(regex)
        return #"{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"# + quoted
            + #"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]}"#
    }

    static let byteLevel = #"{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}"#
    static let digitsByteLevel =
        #"{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},"#
        + byteLevel + "]}"

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let pre: String
        var normalizer = "null"
        var postProcessor = "null"
        var added = "[]"
        var tokenizerConfig: String? = nil
        var testDescription: String { name }
    }

    static let bosTemplate =
        #"{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<｜begin▁of▁sentence｜>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{}}"#

    static let cases: [Case] = [
        Case(name: "gpt-2", pre: byteLevel),
        Case(name: "phi-2", pre: byteLevel, tokenizerConfig: #"{"tokenizer_class":"CodeGenTokenizer"}"#),
        Case(name: "smollm", pre: digitsByteLevel, added: #"[{"id":1,"content":"<|im_start|>","special":true}]"#),
        Case(name: "starcoder", pre: digitsByteLevel, added: #"[{"id":1,"content":"<fim_prefix>","special":true}]"#),
        Case(name: "llama-bpe", pre: splitSequence(PreTokenizerIdentification.llama3Regex)),
        Case(name: "qwen2", pre: splitSequence(PreTokenizerIdentification.qwen2Regex), normalizer: #"{"type":"NFC"}"#),
        Case(
            name: "deepseek-r1-qwen", pre: splitSequence(PreTokenizerIdentification.qwen2Regex),
            normalizer: #"{"type":"NFC"}"#, postProcessor: bosTemplate),
        Case(name: "qwen35", pre: splitSequence(PreTokenizerIdentification.qwen35Regex), normalizer: #"{"type":"NFC"}"#)
    ]

    static func checkpoint(_ c: Case) throws -> TemporaryCheckpoint {
        var files = [
            "tokenizer.json": #"{"added_tokens":"# + c.added + #","normalizer":"# + c.normalizer
                + #","pre_tokenizer":"# + c.pre + #","post_processor":"# + c.postProcessor
                + #","model":{"type":"BPE","vocab":{"a":0},"merges":[]}}"#
        ]
        if let config = c.tokenizerConfig { files["tokenizer_config.json"] = config }
        return try TemporaryCheckpoint(files: files)
    }

    @Test("known configurations get their llama.cpp name", arguments: cases)
    func known(c: Case) throws {
        let dir = try Self.checkpoint(c)
        defer { dir.cleanup() }
        #expect(try PreTokenizerIdentification.identify(files: TokenizerFiles.load(directory: dir.url)) == c.name)
    }

    @Test("an unknown configuration names what was found")
    func unknown() throws {
        let dir = try Self.checkpoint(
            Case(name: "?", pre: Self.splitSequence(#"\p{L}+|\s+"#), normalizer: #"{"type":"NFKC"}"#))
        defer { dir.cleanup() }
        let files = try TokenizerFiles.load(directory: dir.url)
        let path = dir.url.appendingPathComponent("tokenizer.json").path
        #expect(
            throws: TokenizationError.unknownPreTokenizer(
                path: path,
                found:
                    #"pre_tokenizer Sequence[Split(Regex "\\p{L}+|\\s+", Isolated), ByteLevel(add_prefix_space: false, use_regex: false)], normalizer NFKC"#
            )
        ) {
            try PreTokenizerIdentification.identify(files: files)
        }
    }

    @Test("Digits + ByteLevel without a telling added token is refused rather than guessed")
    func ambiguousDigits() throws {
        let dir = try Self.checkpoint(Case(name: "?", pre: Self.digitsByteLevel))
        defer { dir.cleanup() }
        let files = try TokenizerFiles.load(directory: dir.url)
        #expect(throws: TokenizationError.self) { try PreTokenizerIdentification.identify(files: files) }
    }
}
