import Foundation
import Testing

@testable import Tokenization

/// A hand-made byte-level BPE checkpoint (`Resources/make_bpe_fixture.py`) against the real converter's
/// `get_vocab_base` and `SpecialVocab(load_merges=True)` output for it.
@Suite("Synthetic BPE checkpoint")
struct BPESyntheticTests {
    static let directory = TestPaths.resources.appendingPathComponent("bpe-synthetic")

    static func expected() throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The recorded `GGUFWriter` calls as metadata entries.
    static func entries(fromCalls calls: [[Any]]) -> [TokenizerMetadataEntry] {
        calls.compactMap { call -> TokenizerMetadataEntry? in
            guard let method = call.first as? String, call.count == 2 else { return nil }
            if method == "add_token_merges", let merges = call[1] as? [String] {
                return TokenizerMetadataEntry(key: TokenizerKey.merges, value: .stringArray(merges))
            }
            if method == "add_chat_template", let template = call[1] as? String {
                return TokenizerMetadataEntry(key: TokenizerKey.chatTemplate, value: .string(template))
            }
            if method.hasPrefix("add_add_"), let flag = call[1] as? Bool {
                let type = String(method.dropFirst("add_add_".count).dropLast("_token".count))
                return TokenizerKey.addSpecialToken(type).map { TokenizerMetadataEntry(key: $0, value: .bool(flag)) }
            }
            if method.hasSuffix("_token_id"), let id = call[1] as? Int {
                let type = String(method.dropFirst("add_".count).dropLast("_token_id".count))
                return TokenizerKey.specialTokenID(type).map {
                    TokenizerMetadataEntry(key: $0, value: .uint32(UInt32(id)))
                }
            }
            return nil
        }
    }

    @Test("tokens and types match get_vocab_base (added tokens, implicit specials, PAD filler)")
    func vocabulary() throws {
        let files = try TokenizerFiles.load(directory: Self.directory)
        let vocabulary = try BPEVocabulary(files: files, pre: "gpt-2")
        let expected = try Self.expected()
        let tokens = try #require(expected["tokens"] as? [String])
        let types = try #require(expected["token_type"] as? [Int])
        #expect(vocabulary.tokens.count == tokens.count)
        for (index, (ours, theirs)) in zip(vocabulary.tokens, tokens).enumerated() {
            #expect(ours.unicodeScalars.elementsEqual(theirs.unicodeScalars), "token \(index)")
        }
        #expect(vocabulary.tokenTypes.map { Int($0.rawValue) } == types)
    }

    @Test("merges (pair form with a literal space), ids, add flags and template match SpecialVocab")
    func special() throws {
        let files = try TokenizerFiles.load(directory: Self.directory)
        let special = try SpecialVocabulary(files: files, loadMerges: true)
        let calls = try #require(try Self.expected()["special"] as? [[Any]])
        #expect(special.metadataEntries == Self.entries(fromCalls: calls))
        #expect(special.merges.contains("a \u{120}b"))
    }

    @Test("plain ByteLevel with this configuration is identified as gpt-2")
    func pre() throws {
        let files = try TokenizerFiles.load(directory: Self.directory)
        #expect(try PreTokenizerIdentification.identify(files: files) == "gpt-2")
    }
}
