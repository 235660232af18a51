import Foundation
import KilnTestSupport
import Testing

@testable import Tokenization

@Suite("Split pre-tokenizers on literal strings")
struct SplitBehaviorTests {
    func pieces(_ text: String, _ delimiter: String, _ behavior: SplitBehavior, invert: Bool = false) -> [String] {
        let s = text.unicodeScalars.map(\.value)
        var ranges: [Range<Int>] = []
        SplitBehavior.split(
            s, 0..<s.count, literal: delimiter.unicodeScalars.map(\.value), behavior: behavior, invert: invert,
            into: &ranges)
        return ranges.map { r in String(String.UnicodeScalarView(s[r].compactMap(Unicode.Scalar.init))) }
    }

    @Test("the five behaviours as tokenizers documents them")
    func documented() {
        let text = "the-final--countdown"
        #expect(pieces(text, "-", .removed) == ["the", "final", "countdown"])
        #expect(pieces(text, "-", .isolated) == ["the", "-", "final", "-", "-", "countdown"])
        #expect(pieces(text, "-", .mergedWithPrevious) == ["the-", "final-", "-", "countdown"])
        #expect(pieces(text, "-", .mergedWithNext) == ["the", "-final", "-", "-countdown"])
        #expect(pieces(text, "-", .contiguous) == ["the", "-", "final", "--", "countdown"])
        #expect(pieces(text, "-", .removed, invert: true) == ["-", "-", "-"])
    }

    @Test(
        "every pattern, behaviour and invert, and Gemma's tokenizer, give the ids tokenizers gives",
        .tags(.oracle, .slow), .fullTier)
    func againstTokenizers() throws {
        let folder = TemporaryFolder()
        let resources = TestPaths.resources
        let r = try run(
            try TestEnvironment.python,
            [
                TestEnvironment.oracleScripts.appendingPathComponent("split_variants.py").path,
                try TestEnvironment.smolLM2.appendingPathComponent("tokenizer.json").path,
                resources.appendingPathComponent("engine/llama2-bytefallback/tokenizer.json").path,
                resources.appendingPathComponent("corpus.txt").path, folder.url.path
            ])
        try #require(r.status == 0, "\(r.stderr)")
        struct Case: Decodable {
            let folder: String, pattern: String, behavior: String, invert: Bool
            let ids: [[Int]]
        }
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: folder.file("expected.json")))
        #expect(cases.count == 41)
        let lines = EngineFixture.lines
        for c in cases {
            let tokenizer = try Tokenizer(directory: URL(fileURLWithPath: c.folder))
            for (line, ids) in zip(lines, c.ids) {
                let ours = tokenizer.encode(line, addSpecialTokens: false)
                #expect(
                    ours == ids,
                    "\(c.pattern.debugDescription) \(c.behavior) invert=\(c.invert): \(line.debugDescription)")
                if ours != ids { break }
            }
        }
    }

    @Test(
        "regex Split (every behaviour, with and without invert), Whitespace, WhitespaceSplit, Punctuation, Metaspace after a split and regex Replace give the ids tokenizers gives",
        .tags(.oracle, .slow), .fullTier)
    func regexAndCharacterClassesAgainstTokenizers() throws {
        let folder = TemporaryFolder()
        let r = try run(
            try TestEnvironment.python,
            [
                TestEnvironment.oracleScripts.appendingPathComponent("split_regex_variants.py").path,
                try TestEnvironment.smolLM2.appendingPathComponent("tokenizer.json").path,
                TestPaths.resources.appendingPathComponent("corpus.txt").path, folder.url.path
            ])
        try #require(r.status == 0, "\(r.stderr)")
        struct Case: Decodable {
            let folder: String, step: String
            let ids: [[Int]]
        }
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: folder.file("expected.json")))
        #expect(cases.count == 97)
        let lines = EngineFixture.lines
        for c in cases {
            let tokenizer = try Tokenizer(directory: URL(fileURLWithPath: c.folder))
            for (line, ids) in zip(lines, c.ids) {
                let ours = tokenizer.encode(line, addSpecialTokens: false)
                #expect(ours == ids, "\(c.step): \(line.debugDescription)")
                if ours != ids { break }
            }
        }
    }
}
