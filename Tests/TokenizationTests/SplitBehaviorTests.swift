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

    /// Runs an oracle script that writes tokenizer variants and the ids `tokenizers` gives for the corpus
    /// (`expected.json`: `folder`, a `label` field named `labelKey`, `ids` per line), then expects Kiln's ids.
    func expectOracleVariants(script: String, inputs: [String], count: Int) throws {
        let folder = TemporaryFolder()
        let r = try run(
            try TestEnvironment.python,
            [TestEnvironment.oracleScripts.appendingPathComponent(script).path] + inputs + [folder.url.path])
        try #require(r.status == 0, "\(r.stderr)")
        struct Case: Decodable {
            let folder: String
            let ids: [[Int]]
        }
        let data = try Data(contentsOf: folder.file("expected.json"))
        let cases = try JSONDecoder().decode([Case].self, from: data)
        // The labels as the script wrote them, for messages.
        let raw = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        #expect(cases.count == count)
        let lines = EngineFixture.lines
        for (k, c) in cases.enumerated() {
            let label = raw[k].filter { $0.key != "ids" && $0.key != "folder" }.map { "\($0.key)=\($0.value)" }
                .sorted().joined(separator: " ")
            let tokenizer = try Tokenizer(directory: URL(fileURLWithPath: c.folder))
            for (line, ids) in zip(lines, c.ids) {
                let ours = tokenizer.encode(line, addSpecialTokens: false)
                #expect(ours == ids, "\(label): \(line.debugDescription)")
                if ours != ids { break }
            }
        }
    }

    @Test(
        "every pattern, behaviour and invert, and Gemma's tokenizer, give the ids tokenizers gives",
        .tags(.oracle, .slow), .fullTier)
    func againstTokenizers() throws {
        let resources = TestPaths.resources
        try expectOracleVariants(
            script: "split_variants.py",
            inputs: [
                try TestEnvironment.smolLM2.appendingPathComponent("tokenizer.json").path,
                resources.appendingPathComponent("engine/llama2-bytefallback/tokenizer.json").path,
                resources.appendingPathComponent("corpus.txt").path
            ], count: 41)
    }

    @Test(
        "regex Split (every behaviour, with and without invert), Whitespace, WhitespaceSplit, Punctuation, Metaspace after a split and regex Replace give the ids tokenizers gives",
        .tags(.oracle, .slow), .fullTier)
    func regexAndCharacterClassesAgainstTokenizers() throws {
        try expectOracleVariants(
            script: "split_regex_variants.py",
            inputs: [
                try TestEnvironment.smolLM2.appendingPathComponent("tokenizer.json").path,
                TestPaths.resources.appendingPathComponent("corpus.txt").path
            ], count: 97)
    }
}
