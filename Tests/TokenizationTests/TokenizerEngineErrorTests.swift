import Foundation
import Testing

@testable import Tokenization

@Suite("Tokenizer engine: bad input")
struct TokenizerEngineErrorTests {
    static func json(
        pre: String = ErrorTests.gpt2Pre, normalizer: String = "null", decoder: String = "null",
        model: String = #"{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}"#
    ) -> String {
        #"{"added_tokens":[],"normalizer":"# + normalizer + #","pre_tokenizer":"# + pre + #","decoder":"# + decoder
            + #","model":"# + model + "}"
    }

    func expect(
        _ tokenizerJSON: String, _ error: (String) -> TokenizationError,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let dir = try TemporaryCheckpoint(files: ["tokenizer.json": tokenizerJSON], binary: [:])
        defer { dir.cleanup() }
        let path = dir.url.appendingPathComponent("tokenizer.json").path
        #expect(throws: error(path), sourceLocation: sourceLocation) {
            _ = try Tokenizer(directory: dir.url)
        }
    }

    @Test("a minimal valid tokenizer.json loads and encodes")
    func minimal() throws {
        let dir = try TemporaryCheckpoint(files: ["tokenizer.json": Self.json()], binary: [:])
        defer { dir.cleanup() }
        #expect(try Tokenizer(directory: dir.url).encode("abba") == [2, 1, 0])
    }

    @Test("malformed tokenizer.json")
    func malformed() throws {
        let dir = try TemporaryCheckpoint(files: ["tokenizer.json": #"{"model": {"#], binary: [:])
        defer { dir.cleanup() }
        #expect(
            throws: TokenizationError.malformedJSON(
                path: dir.url.appendingPathComponent("tokenizer.json").path, offset: 11, reason: "expected a string key"
            )
        ) {
            _ = try Tokenizer(directory: dir.url)
        }
    }

    @Test("unsupported model, pre-tokenizer, normalizer and decoder types")
    func unsupported() throws {
        try expect(Self.json(model: #"{"type":"WordPiece","vocab":{"a":0}}"#)) {
            .unsupportedModelType(path: $0, found: "WordPiece", expected: "BPE")
        }
        try expect(Self.json(pre: #"{"type":"BertPreTokenizer"}"#)) {
            .unsupportedComponent(path: $0, component: "pre_tokenizer", found: "BertPreTokenizer")
        }
        // A regex neither Oniguruma nor Swift can read.
        try expect(
            Self.json(pre: #"{"type":"Split","pattern":{"Regex":"(\\w+"},"behavior":"Isolated","invert":false}"#)
        ) {
            .unsupportedComponent(
                path: $0, component: "pre_tokenizer (a Split regex Kiln's regex engine cannot read)",
                found: #"Split "(\\w+" Isolated"#)
        }
        try expect(Self.json(normalizer: #"{"type":"Precompiled","precompiled_charsmap":"AA=="}"#)) {
            .unsupportedComponent(path: $0, component: "normalizer", found: "Precompiled")
        }
        try expect(Self.json(decoder: #"{"type":"WordPiece"}"#)) {
            .unsupportedComponent(path: $0, component: "decoder", found: "WordPiece")
        }
    }

    @Test("merges naming unknown tokens")
    func unknownMerge() throws {
        try expect(Self.json(model: #"{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a b"]}"#)) {
            .mergeNamesUnknownToken(path: $0, index: 0, token: "ab")
        }
        try expect(Self.json(model: #"{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a c"]}"#)) {
            .mergeNamesUnknownToken(path: $0, index: 0, token: "c")
        }
    }

    @Test("corrupt tokenizer.model and unsupported SentencePiece model types")
    func sentencePiece() throws {
        let corrupt = try TemporaryCheckpoint(files: [:], binary: ["tokenizer.model": Data([0x0A, 0x05, 0x0A])])
        defer { corrupt.cleanup() }
        #expect(throws: TokenizationError.self) { _ = try Tokenizer(directory: corrupt.url) }
        do {
            _ = try Tokenizer(directory: corrupt.url)
        } catch {
            guard case .corruptSentencePieceModel = error else {
                Issue.record("expected corruptSentencePieceModel, got \(error)")
                return
            }
        }
        // A WORD model (trainer_spec.model_type = 3) with one piece.
        let word = Data([0x0A, 0x05, 0x0A, 0x01, 0x61, 0x18, 0x01, 0x12, 0x02, 0x18, 0x03])
        let dir = try TemporaryCheckpoint(files: [:], binary: ["tokenizer.model": word])
        defer { dir.cleanup() }
        #expect(
            throws: TokenizationError.unsupportedModelType(
                path: dir.url.appendingPathComponent("tokenizer.model").path, found: "SentencePiece WORD",
                expected: "BPE or UNIGRAM")
        ) {
            _ = try Tokenizer(directory: dir.url)
        }
    }

    @Test("no tokenizer files")
    func missing() throws {
        let dir = try TemporaryCheckpoint(files: ["config.json": "{}"], binary: [:])
        defer { dir.cleanup() }
        #expect(
            throws: TokenizationError.missingTokenizer(
                directory: dir.url.path, expected: "tokenizer.json or tokenizer.model")
        ) {
            _ = try Tokenizer(directory: dir.url)
        }
    }
}
