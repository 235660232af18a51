import Foundation
import Testing

@testable import Tokenization

/// Tiny SentencePiece models (trained by `Resources/make_fixtures.py`) against what sentencepiece itself
/// reports and what the real converter code produced for them.
@Suite("SentencePiece vocabularies")
struct SentencePieceTests {
    struct Expected: Decodable {
        struct SentencePieceView: Decodable {
            let pieces: [String]
            let scores: [Double]
            let unknown: [Int]
            let control: [Int]
            let unused: [Int]
            let byte: [Int]
        }
        let tokens: [String]
        let scores: [Double]
        let token_type: [Int32]
        let special: [[SpecialValue]]
        let sentencepiece: SentencePieceView
    }

    /// One element of a recorded `GGUFWriter` call: the method name or an argument.
    enum SpecialValue: Decodable {
        case string(String), int(Int), bool(Bool)
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) {
                self = .bool(b)
            } else if let i = try? c.decode(Int.self) {
                self = .int(i)
            } else {
                self = .string(try c.decode(String.self))
            }
        }
    }

    static let fixtures = ["spm-bpe", "spm-unigram"]

    static func load(_ name: String) throws -> (TokenizerFiles, Expected) {
        let dir = TestPaths.resources.appendingPathComponent(name)
        let expected = try JSONDecoder().decode(
            Expected.self, from: Data(contentsOf: dir.appendingPathComponent("expected.json")))
        return (try TokenizerFiles.load(directory: dir), expected)
    }

    /// The recorded writer calls as metadata entries.
    static func expectedSpecialEntries(_ calls: [[SpecialValue]]) -> [TokenizerMetadataEntry] {
        calls.compactMap { call in
            guard case .string(let method)? = call.first, call.count == 2 else { return nil }
            switch (method, call[1]) {
            case (let m, .int(let id)) where m.hasSuffix("_token_id"):
                let type = String(m.dropFirst("add_".count).dropLast("_token_id".count))
                return TokenizerKey.specialTokenID(type).map {
                    TokenizerMetadataEntry(key: $0, value: .uint32(UInt32(id)))
                }
            case (let m, .bool(let flag)) where m.hasPrefix("add_add_"):
                let type = String(m.dropFirst("add_add_".count).dropLast("_token".count))
                return TokenizerKey.addSpecialToken(type).map { TokenizerMetadataEntry(key: $0, value: .bool(flag)) }
            case ("add_chat_template", .string(let template)):
                return TokenizerMetadataEntry(key: TokenizerKey.chatTemplate, value: .string(template))
            default:
                return nil
            }
        }
    }

    @Test("decoded pieces equal sentencepiece's own view", arguments: fixtures)
    func protobufDecoding(name: String) throws {
        let (files, expected) = try Self.load(name)
        let model = try #require(files.sentencePieceModel)
        let view = expected.sentencepiece
        #expect(model.pieces.map(\.piece) == view.pieces)
        #expect(model.pieces.map { Double($0.score) } == view.scores)
        func ids(_ type: SentencePieceModel.PieceType) -> [Int] {
            model.pieces.indices.filter { model.pieces[$0].type == type }
        }
        #expect(ids(.unknown) == view.unknown)
        #expect(ids(.control) == view.control)
        #expect(ids(.unused) == view.unused)
        #expect(ids(.byte) == view.byte)
        #expect(model.byteFallback)
        #expect(model.modelType == (name == "spm-bpe" ? 2 : 1))
    }

    @Test("tokens, scores and types match the converter", arguments: fixtures)
    func vocabulary(name: String) throws {
        let (files, expected) = try Self.load(name)
        let vocabulary = try SentencePieceVocabulary(files: files)
        #expect(vocabulary.tokens.count == expected.tokens.count)
        #expect(
            zip(vocabulary.tokens, expected.tokens).allSatisfy { $0.unicodeScalars.elementsEqual($1.unicodeScalars) })
        #expect(vocabulary.scores.map(Double.init) == expected.scores)
        #expect(vocabulary.tokenTypes.map(\.rawValue) == expected.token_type)
    }

    @Test("the whole block matches the converter's writer calls", arguments: fixtures)
    func entries(name: String) throws {
        let (files, expected) = try Self.load(name)
        let entries = try TokenizerMetadata.sentencePiece(files: files)
        #expect(
            Array(entries.prefix(2)) == [
                TokenizerMetadataEntry(key: TokenizerKey.model, value: .string("llama")),
                TokenizerMetadataEntry(key: TokenizerKey.pre, value: .string("default"))
            ])
        #expect(
            entries.map(\.key).dropFirst(2).prefix(3) == [
                TokenizerKey.tokens, TokenizerKey.scores, TokenizerKey.tokenType
            ])
        #expect(Array(entries.dropFirst(5)) == Self.expectedSpecialEntries(expected.special))
    }
}
