import Foundation
import KilnTestSupport
import Testing

@testable import Tokenization

/// Just enough of a GGUF reader for `tokenizer.ggml.*` (the module itself does not read GGUF).
enum MiniGGUF {
    enum Value { case int(Int), float(Float), bool(Bool), string(String), array([Value]) }

    static func metadata(_ url: URL) throws -> [String: Value] {
        let bytes = [UInt8](try Data(contentsOf: url))
        var offset = 0
        func read<T: FixedWidthInteger>(_: T.Type) -> T {
            var v: T = 0
            for k in 0..<MemoryLayout<T>.size { v |= T(bytes[offset + k]) << (8 * k) }
            offset += MemoryLayout<T>.size
            return v
        }
        func string() -> String {
            let n = Int(read(UInt64.self))
            defer { offset += n }
            return String(decoding: bytes[offset..<(offset + n)], as: UTF8.self)
        }
        func value(_ type: UInt32) -> Value {
            switch type {
            case 0: return .int(Int(read(UInt8.self)))
            case 1: return .int(Int(Int8(bitPattern: read(UInt8.self))))
            case 2: return .int(Int(read(UInt16.self)))
            case 3: return .int(Int(Int16(bitPattern: read(UInt16.self))))
            case 4: return .int(Int(read(UInt32.self)))
            case 5: return .int(Int(Int32(bitPattern: read(UInt32.self))))
            case 6: return .float(Float(bitPattern: read(UInt32.self)))
            case 7: return .bool(read(UInt8.self) != 0)
            case 8: return .string(string())
            case 9:
                let elementType = read(UInt32.self)
                let n = Int(read(UInt64.self))
                return .array((0..<n).map { _ in value(elementType) })
            case 10: return .int(Int(read(UInt64.self)))
            case 11: return .int(Int(Int64(bitPattern: read(UInt64.self))))
            default: return .float(Float(Double(bitPattern: read(UInt64.self))))
            }
        }
        guard bytes.count > 24, bytes[0..<4].elementsEqual(Array("GGUF".utf8)) else { return [:] }
        offset = 8
        _ = read(UInt64.self)
        let count = Int(read(UInt64.self))
        var result: [String: Value] = [:]
        for _ in 0..<count {
            let key = string()
            result[key] = value(read(UInt32.self))
        }
        return result
    }

    static func vocabulary(_ url: URL) throws -> GGUFTokenizerVocabulary {
        let kv = try metadata(url)
        func strings(_ key: String) -> [String] {
            guard case .array(let a)? = kv[key] else { return [] }
            return a.compactMap { if case .string(let s) = $0 { s } else { nil } }
        }
        func int(_ key: String) -> Int? { if case .int(let i)? = kv[key] { i } else { nil } }
        func bool(_ key: String) -> Bool? { if case .bool(let b)? = kv[key] { b } else { nil } }
        var types: [Int32] = []
        if case .array(let a)? = kv["tokenizer.ggml.token_type"] {
            types = a.map { if case .int(let i) = $0 { Int32(i) } else { 0 } }
        }
        var scores: [Float] = []
        if case .array(let a)? = kv["tokenizer.ggml.scores"] {
            scores = a.map { if case .float(let f) = $0 { f } else { 0 } }
        }
        var model = "", pre: String?
        if case .string(let s)? = kv["tokenizer.ggml.model"] { model = s }
        if case .string(let s)? = kv["tokenizer.ggml.pre"] { pre = s }
        return GGUFTokenizerVocabulary(
            model: model, pre: pre, tokens: strings("tokenizer.ggml.tokens"), tokenTypes: types, scores: scores,
            merges: strings("tokenizer.ggml.merges"), bosID: int("tokenizer.ggml.bos_token_id"),
            eosID: int("tokenizer.ggml.eos_token_id"), unknownID: int("tokenizer.ggml.unknown_token_id"),
            addBOS: bool("tokenizer.ggml.add_bos_token"), addEOS: bool("tokenizer.ggml.add_eos_token"),
            addSpacePrefix: bool("tokenizer.ggml.add_space_prefix"))
    }
}

@Suite("Tokenizer from GGUF arrays matches llama.cpp", .tags(.oracle), .fullTier)
struct GGUFVocabularyTests {
    /// llama.cpp's own vocab-only test models (`models/ggml-vocab-*.gguf` with `.inp`/`.out` from
    /// `test-tokenizer-0`, which tokenizes without BOS and without parsing special tokens).
    static var llamaModels: URL { get throws { try TestEnvironment.llamaCpp.appendingPathComponent("models") } }
    static let vocabs = ["gpt-2", "llama-bpe", "qwen2", "llama-spm", "phi-3"]
    /// Required, not skipped: `scripts/test` unpacks the llama.cpp tree and sets `KILN_LLAMA_CPP`.
    @Test("llama.cpp test-tokenizer-0 cases", arguments: vocabs)
    func llamaCppCases(_ name: String) throws {
        let base = try Self.llamaModels.appendingPathComponent("ggml-vocab-\(name).gguf")
        try #require(
            FileManager.default.fileExists(atPath: base.path), "\(base.path) missing: run the suite with scripts/test")
        let tokenizer = try Tokenizer(ggufVocabulary: try MiniGGUF.vocabulary(base))
        let inputs = String(decoding: try Data(contentsOf: URL(fileURLWithPath: base.path + ".inp")), as: UTF8.self)
            .components(separatedBy: "\n__ggml_vocab_test__\n")
        let outputs = String(decoding: try Data(contentsOf: URL(fileURLWithPath: base.path + ".out")), as: UTF8.self)
            .components(separatedBy: "\n")
        #expect(inputs.count > 10)
        for (k, input) in inputs.enumerated() where k < outputs.count {
            var text = input
            if k == inputs.count - 1, text.hasSuffix("\n") { text.removeLast() }
            let expected = outputs[k].split(separator: " ").compactMap { Int($0) }
            #expect(
                tokenizer.encode(text, addSpecialTokens: false) == expected,
                "\(name) case \(k): \(text.debugDescription)")
        }
    }

    /// The arrays Kiln writes for SmolLM2 (checked against llama.cpp's converter elsewhere), fed back in.
    static func smolLM2() throws -> Tokenizer {
        let files = try TokenizerFiles.load(directory: try TestPaths.smolLM2Directory)
        let vocabulary = try BPEVocabulary(files: files)
        let special = try SpecialVocabulary(files: files, loadMerges: true)
        return try Tokenizer(
            ggufVocabulary: GGUFTokenizerVocabulary(
                model: "gpt2", pre: vocabulary.pre, tokens: vocabulary.tokens,
                tokenTypes: vocabulary.tokenTypes.map(\.rawValue), merges: special.merges,
                bosID: special.specialTokenIDs.first { $0.type == "bos" }?.id,
                eosID: special.specialTokenIDs.first { $0.type == "eos" }?.id,
                addBOS: special.addSpecialToken.first { $0.type == "bos" }?.value))
    }

    @Test("SmolLM2 GGUF arrays give the tokenizer.json ids and 10,226 ids for eval.txt")
    func smolLM2Arrays() throws {
        let tokenizer = try Self.smolLM2()
        let expected = try EngineFixture.expectation("smollm2")
        #expect(tokenizer.encode(EngineFixture.corpus, addSpecialTokens: false) == expected.whole)
        for (line, ids) in zip(EngineFixture.lines, expected.lines) {
            #expect(tokenizer.encode(line, addSpecialTokens: false) == ids)
        }
        let text = String(decoding: try Data(contentsOf: try EngineFixture.evalText), as: UTF8.self)
        let ids = tokenizer.encode(text)
        #expect(ids.count == 10_226)
        #expect(tokenizer.decode(ids) == text)
        #expect(
            PreTokenizerIdentification.probeHash(tokenizer: tokenizer)
                == "855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249")
    }

    @Test("inconsistent arrays and unknown names are errors")
    func errors() {
        #expect(throws: TokenizationError.invalidVocabulary(detail: "token_type has 1 entries for 2 tokens")) {
            try Tokenizer(ggufVocabulary: .init(model: "gpt2", pre: "gpt-2", tokens: ["a", "b"], tokenTypes: [1]))
        }
        #expect(throws: TokenizationError.unknownPreTokenizer(path: "tokenizer.ggml.pre", found: "\"mystery\"")) {
            try Tokenizer(ggufVocabulary: .init(model: "gpt2", pre: "mystery", tokens: ["a"]))
        }
        #expect(
            throws: TokenizationError.unsupportedModelType(
                path: "tokenizer.ggml.model", found: "bert", expected: "gpt2 or llama")
        ) {
            try Tokenizer(ggufVocabulary: .init(model: "bert", tokens: ["a"]))
        }
        #expect(throws: TokenizationError.mergeNamesUnknownToken(path: "tokenizer.ggml.merges", index: 0, token: "c")) {
            try Tokenizer(ggufVocabulary: .init(model: "gpt2", pre: "gpt-2", tokens: ["a", "b"], merges: ["a c"]))
        }
    }
}
