import FileAccess
import Foundation
import KilnTestSupport
import Testing

@testable import Tokenization

/// Expected ids written by `Resources/make_engine_fixtures.py` (Hugging Face `tokenizers` / `sentencepiece`).
struct EngineExpectation: Decodable {
    let lines: [[Int]]
    let whole: [Int]
    let whole_special: [Int]
    let decoded: String
}

enum EngineFixture {
    static let corpus: String = {
        let data = try! Data(contentsOf: TestPaths.resources.appendingPathComponent("corpus.txt"))
        return String(decoding: data, as: UTF8.self)
    }()

    /// The corpus split on "\n" exactly as Python's `str.split('\n')` (keeps "\r" and empty lines).
    static var lines: [String] {
        corpus.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            .map { String(String.UnicodeScalarView($0)) }
    }

    static func expectation(_ name: String) throws -> EngineExpectation {
        let url = TestPaths.resources.appendingPathComponent("engine/\(name)/expected.json")
        return try JSONDecoder().decode(EngineExpectation.self, from: Data(contentsOf: url))
    }

    /// The checkpoint folder of a fixture.
    static func directory(_ name: String) throws -> URL {
        switch name {
        case "smollm2": try TestPaths.smolLM2Directory
        case "spm-bpe", "spm-unigram": TestPaths.resources.appendingPathComponent(name)
        default: TestPaths.resources.appendingPathComponent("engine/\(name)")
        }
    }

    static func tokenizer(_ name: String) throws -> Tokenizer {
        try Tokenizer(directory: try directory(name))
    }

    /// `eval.txt` from `../shared`.
    static var evalText: URL {
        get throws { try TestEnvironment.shared.appendingPathComponent("golden/text/eval.txt") }
    }
}

/// Where two strings first differ, with the code points around it (the corpus has bidi controls that
/// would garble a printed string).
func firstDifference(_ a: String, _ b: String) -> String {
    let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
    let i = zip(x, y).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(x.count, y.count)
    func around(_ s: [Unicode.Scalar]) -> String {
        s[max(0, i - 3)..<min(s.count, i + 3)].map { String($0.value, radix: 16) }.joined(separator: " ")
    }
    return "\(i) of \(x.count)/\(y.count): [\(around(x))] vs [\(around(y))]"
}

@Suite("Tokenizer engine matches tokenizers and sentencepiece", .tags(.oracle), .fullTier)
struct TokenizerEngineTests {
    static let fixtures = [
        "smollm2", "llama3-bpe", "qwen2-bpe", "llama2-bytefallback", "metaspace", "spm-bpe", "spm-unigram"
    ]

    @Test("corpus line by line", arguments: fixtures)
    func lines(_ name: String) throws {
        let tokenizer = try EngineFixture.tokenizer(name)
        let expected = try EngineFixture.expectation(name)
        let lines = EngineFixture.lines
        #expect(lines.count == expected.lines.count)
        for (line, ids) in zip(lines, expected.lines) {
            #expect(tokenizer.encode(line, addSpecialTokens: false) == ids, "\(name): \(line.debugDescription)")
        }
    }

    @Test("corpus as a whole, with and without special tokens", arguments: fixtures)
    func whole(_ name: String) throws {
        let tokenizer = try EngineFixture.tokenizer(name)
        let expected = try EngineFixture.expectation(name)
        #expect(tokenizer.encode(EngineFixture.corpus, addSpecialTokens: false) == expected.whole)
        #expect(tokenizer.encode(EngineFixture.corpus) == expected.whole_special)
    }

    @Test("decode matches the reference, and round-trips where the reference does", arguments: fixtures)
    func decode(_ name: String) throws {
        let tokenizer = try EngineFixture.tokenizer(name)
        let expected = try EngineFixture.expectation(name)
        let decoded = tokenizer.decode(expected.whole)
        #expect(
            decoded.unicodeScalars.elementsEqual(expected.decoded.unicodeScalars),
            "\(name): decode differs at scalar \(firstDifference(decoded, expected.decoded))")
        if expected.decoded == EngineFixture.corpus {
            let ids = tokenizer.encode(EngineFixture.corpus, addSpecialTokens: false)
            #expect(tokenizer.decode(ids).unicodeScalars.elementsEqual(EngineFixture.corpus.unicodeScalars))
            for line in EngineFixture.lines {
                let roundTrip = tokenizer.decode(tokenizer.encode(line, addSpecialTokens: false))
                #expect(
                    roundTrip.unicodeScalars.elementsEqual(line.unicodeScalars),
                    "\(name): round trip differs at scalar \(firstDifference(roundTrip, line))")
            }
        }
    }

    @Test("SmolLM2 encodes eval.txt to llama-tokenize's 10,226 ids")
    func evalCount() throws {
        let tokenizer = try EngineFixture.tokenizer("smollm2")
        let text = String(decoding: try Data(contentsOf: try EngineFixture.evalText), as: UTF8.self)
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        #expect(ids.count == 10_226)
        #expect(tokenizer.decode(ids) == text)
    }

    @Test("llama.cpp probe hash of SmolLM2 is smollm's")
    func probeHash() throws {
        #expect(
            SHA256Digest.hexDigest(Array(PreTokenizerIdentification.probeText.utf8))
                == "a36179c1e2b1cfcfbfad1dc779addad2ffc778201e4cf0d538bddeafa2c526da")
        let files = try TokenizerFiles.load(directory: try TestPaths.smolLM2Directory)
        let hash = try PreTokenizerIdentification.probeHash(files: files)
        #expect(hash == "855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249")
        #expect(PreTokenizerIdentification.knownProbeHashes[hash] == "smollm")
    }

    @Test("SHA-256 known answers")
    func sha256() {
        #expect(SHA256Digest.hexDigest([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            SHA256Digest.hexDigest(Array("abc".utf8))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256Digest.hexDigest(Array(String(repeating: "a", count: 1000).utf8))
                == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test("special ids and pieces")
    func specials() throws {
        let smol = try EngineFixture.tokenizer("smollm2")
        #expect(smol.encode("<|im_start|>user") == [1, 4093])
        #expect(smol.piece(1) == "<|im_start|>")
        #expect(smol.isSpecial(1))
        #expect(smol.decode([1, 4093, 2], skipSpecialTokens: true) == "user")
        #expect(smol.bosID == 1 && smol.eosID == 2)
        let llama2 = try EngineFixture.tokenizer("llama2-bytefallback")
        #expect(llama2.bosID == 1)
        #expect(llama2.encode("hi").first == 1)
    }
}
