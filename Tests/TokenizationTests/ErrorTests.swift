import Foundation
import Testing

@testable import Tokenization

@Suite("Bad input")
struct ErrorTests {
    static let gpt2Pre = #"{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}"#

    static func tokenizerJSON(
        vocab: String = #"{"a":0,"b":1,"ab":2}"#, merges: String = #"["a b"]"#, type: String = "BPE"
    ) -> String {
        #"{"added_tokens":[],"normalizer":null,"pre_tokenizer":"# + gpt2Pre
            + #","model":{"type":""# + type + #"","vocab":"# + vocab + #","merges":"# + merges + "}}"
    }

    /// Runs `body` on a temporary checkpoint with `files` and expects `error(dir)`.
    func expect(
        _ files: [String: String], binary: [String: Data] = [:],
        _ error: (URL) -> TokenizationError, _ body: (TokenizerFiles) throws -> Void,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let dir = try TemporaryCheckpoint(files: files, binary: binary)
        defer { dir.cleanup() }
        #expect(throws: error(dir.url), sourceLocation: sourceLocation) {
            try body(try TokenizerFiles.load(directory: dir.url))
        }
    }

    @Test("missing tokenizer files")
    func missing() throws {
        try expect([:], { .missingTokenizer(directory: $0.path, expected: "tokenizer.json (byte-level BPE)") }) {
            _ = try BPEVocabulary(files: $0)
        }
        try expect([:], { .missingTokenizer(directory: $0.path, expected: "tokenizer.model (SentencePiece)") }) {
            _ = try SentencePieceVocabulary(files: $0)
        }
        #expect(
            throws: TokenizationError.missingTokenizer(
                directory: "/nonexistent/kiln", expected: "a checkpoint directory")
        ) {
            try TokenizerFiles.load(directory: URL(fileURLWithPath: "/nonexistent/kiln"))
        }
    }

    @Test("malformed JSON reports the byte offset")
    func malformed() throws {
        try expect(
            ["tokenizer_config.json": "{\"a\": [1, 2,]}"],
            {
                .malformedJSON(
                    path: $0.appendingPathComponent("tokenizer_config.json").path, offset: 12,
                    reason: "unexpected character")
            },
            { _ in })
        try expect(
            ["config.json": "{\"a\": 1} x"],
            {
                .malformedJSON(
                    path: $0.appendingPathComponent("config.json").path, offset: 9, reason: "trailing characters")
            },
            { _ in })
    }

    @Test("wrongly shaped fields and unsupported model types")
    func shapes() throws {
        try expect(
            ["tokenizer.json": Self.tokenizerJSON(vocab: "[1]")],
            {
                .unexpectedJSON(
                    path: $0.appendingPathComponent("tokenizer.json").path, field: "model.vocab",
                    expected: "an object mapping tokens to ids")
            }
        ) {
            _ = try BPEVocabulary(files: $0)
        }
        try expect(
            ["tokenizer.json": Self.tokenizerJSON(type: "WordPiece")],
            {
                .unsupportedModelType(
                    path: $0.appendingPathComponent("tokenizer.json").path, found: "WordPiece", expected: "BPE")
            }
        ) {
            _ = try BPEVocabulary(files: $0)
        }
        try expect(
            ["tokenizer.json": Self.tokenizerJSON(merges: "[1, 2]")],
            {
                .unexpectedJSON(
                    path: $0.appendingPathComponent("tokenizer.json").path, field: "model.merges[0]",
                    expected: "\"a b\" or [a, b]")
            }
        ) {
            _ = try BPEVocabulary(files: $0)
        }
    }

    @Test("vocabulary larger than vocab_size, and ids that disagree")
    func vocabularySize() throws {
        try expect(
            ["tokenizer.json": Self.tokenizerJSON(), "config.json": #"{"vocab_size": 2}"#],
            {
                .vocabularyExceedsVocabSize(
                    path: $0.appendingPathComponent("tokenizer.json").path, tokenID: 2, vocabSize: 2)
            }
        ) {
            _ = try BPEVocabulary(files: $0)
        }
        try expect(
            ["tokenizer.json": Self.tokenizerJSON(vocab: #"{"a":0,"b":1,"ab":1}"#, merges: "[]")],
            {
                .vocabularyDisagrees(
                    path: $0.appendingPathComponent("tokenizer.json").path,
                    detail: #"model.vocab gives id 1 to both "b" and "ab""#)
            }
        ) {
            _ = try BPEVocabulary(files: $0, pre: "gpt-2")
        }
    }

    @Test("merges that tokenizers would refuse")
    func merges() throws {
        try expect(
            ["tokenizer.json": Self.tokenizerJSON(merges: #"["a c"]"#)],
            { .mergeNamesUnknownToken(path: $0.appendingPathComponent("tokenizer.json").path, index: 0, token: "c") }
        ) {
            _ = try BPEVocabulary(files: $0)
        }
        try expect(
            ["tokenizer.json": Self.tokenizerJSON(merges: #"[["a","b"],["b","a"]]"#)],
            { .mergeNamesUnknownToken(path: $0.appendingPathComponent("tokenizer.json").path, index: 1, token: "ba") }
        ) {
            _ = try BPEVocabulary(files: $0)
        }
        try expect(
            ["tokenizer.json": Self.tokenizerJSON(merges: #"["ab"]"#)],
            { .malformedMerge(path: $0.appendingPathComponent("tokenizer.json").path, index: 0, merge: "ab") }
        ) {
            _ = try BPEVocabulary(files: $0)
        }
    }

    @Test("corrupt tokenizer.model")
    func corruptModel() throws {
        let good = try Data(contentsOf: TestPaths.resources.appendingPathComponent("spm-bpe/tokenizer.model"))
        try expect(
            [:], binary: ["tokenizer.model": good.prefix(100)],
            {
                .corruptSentencePieceModel(
                    path: $0.appendingPathComponent("tokenizer.model").path, offset: 98,
                    reason: "length 15 runs past the end")
            },
            { _ in })
        try expect(
            [:], binary: ["tokenizer.model": Data([0x0A])],
            {
                .corruptSentencePieceModel(
                    path: $0.appendingPathComponent("tokenizer.model").path, offset: 1, reason: "truncated varint")
            },
            { _ in })
        try expect(
            [:], binary: ["tokenizer.model": Data()],
            {
                .corruptSentencePieceModel(
                    path: $0.appendingPathComponent("tokenizer.model").path, offset: 0, reason: "no pieces (field 1)")
            },
            { _ in })
    }

    @Test("negative special token ids")
    func negativeID() throws {
        try expect(
            ["config.json": #"{"bos_token_id": -1}"#],
            { .invalidSpecialTokenID(path: $0.appendingPathComponent("config.json").path, type: "bos", id: -1) }
        ) {
            _ = try SpecialVocabulary(files: $0)
        }
    }

    @Test("descriptions are one line naming the file")
    func descriptions() {
        let error = TokenizationError.mergeNamesUnknownToken(path: "/ckpt/tokenizer.json", index: 3, token: "Ġx")
        #expect(error.description == #"/ckpt/tokenizer.json: merge #3 names token "Ġx" which is not in the vocabulary"#)
        let all: [TokenizationError] = [
            .missingTokenizer(directory: "/d", expected: "x"), .unreadableFile(path: "/d/f", reason: "r"),
            .malformedJSON(path: "/d/f", offset: 1, reason: "r"),
            .unexpectedJSON(path: "/d/f", field: "a", expected: "b"),
            .unsupportedModelType(path: "/d/f", found: "a", expected: "b"),
            .vocabularyExceedsVocabSize(path: "/d/f", tokenID: 1, vocabSize: 1),
            .vocabularyDisagrees(path: "/d/f", detail: "d"), .malformedMerge(path: "/d/f", index: 0, merge: "m"),
            .corruptSentencePieceModel(path: "/d/f", offset: 0, reason: "r"),
            .unknownPreTokenizer(path: "/d/f", found: "x"),
            .invalidSpecialTokenID(path: "/d/f", type: "bos", id: -1)
        ]
        for error in all {
            #expect(error.description.hasPrefix("/d"))
            #expect(!error.description.contains("\n"))
        }
    }
}
