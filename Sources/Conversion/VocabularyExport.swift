import Architectures
import Foundation
import GGUF
import Tokenization

/// The `tokenizer.*` block of a converted file, composed per family in the order the converter's
/// `set_vocab` routines write it.
struct VocabularyExport {
    let entries: [(String, GGUFValue)]
    /// Tokens written (the converter truncates Gemma 3 embeddings to this).
    let tokenCount: Int
    /// The tokenizer file the vocabulary came from, for error messages.
    let sourcePath: String

    static func entries(family: ModelFamily, directory: URL, config: HFConfig) throws -> VocabularyExport {
        let files = try TokenizerFiles.load(directory: directory, config: config.document)
        var out = GGUFMetadata()
        func add(_ e: [TokenizerMetadataEntry]) { for x in e { out.set(x.key, x.value.gguf) } }
        var source = directory.appendingPathComponent(
            files.hasSentencePieceModel ? "tokenizer.model" : "tokenizer.json"
        ).path

        switch family {
        case .llama:
            if let prefix = files.addPrefixSpace { out.set(TokenizerKey.addSpacePrefix, .bool(prefix)) }
            if files.hasSentencePieceModel {
                add(try TokenizerMetadata.sentencePiece(files: files))
            } else {
                add(try TokenizerMetadata.gpt2(files: files))
            }
            let vocabSize = try config.integer("vocab_size") ?? 32000
            if vocabSize == 32016 {
                out.set("tokenizer.ggml.eot_token_id", .uint32(32010))
            }
            if vocabSize == 49152 { out.set("tokenizer.ggml.add_bos_token", .bool(false)) }
        case .qwen2, .qwen3:
            add(
                files.hasSentencePieceModel
                    ? try TokenizerMetadata.sentencePiece(files: files) : try TokenizerMetadata.gpt2(files: files))
        case .phi3:
            if files.tokenizerClass == "GPT2Tokenizer" {
                add(try TokenizerMetadata.gpt2(files: files))
            } else {
                add(try TokenizerMetadata.phi3(files: files))
            }
        case .gemma:
            add(try TokenizerMetadata.sentencePiece(files: files))
            var special = try SpecialVocabulary(
                files: files, loadMerges: false, specialTokenTypes: ["prefix", "suffix", "middle", "fsep", "eot"])
            for (type, id) in [("prefix", 67), ("suffix", 69), ("middle", 68), ("fsep", 70), ("eot", 107)] {
                try special.setSpecialToken(type, id: id)
            }
            special.chatTemplate = nil
            add(special.metadataEntries)
            out.set(TokenizerKey.addSpacePrefix, .bool(false))
        case .gemma2:
            add(try TokenizerMetadata.sentencePiece(files: files))
            out.set(TokenizerKey.addSpacePrefix, .bool(false))
        case .gemma3:
            if files.hasSentencePieceModel {
                add(try TokenizerMetadata.sentencePiece(files: files))
                out.set(TokenizerKey.addSpacePrefix, .bool(false))
            } else {
                add(try TokenizerMetadata.gpt2(files: files))
                source = directory.appendingPathComponent("tokenizer.json").path
            }
        }
        var count = 0
        if case let .array(.string(tokens))? = out[TokenizerKey.tokens] { count = tokens.count }
        if family == .gemma3, !files.hasSentencePieceModel, let n = files.jsonVocabularyCount { count = n }
        return VocabularyExport(entries: out.entries.map { ($0.key, $0.value) }, tokenCount: count, sourcePath: source)
    }
}

extension TokenizerMetadataValue {
    var gguf: GGUFValue {
        switch self {
        case let .string(s): .string(s)
        case let .bool(b): .bool(b)
        case let .uint32(v): .uint32(v)
        case let .stringArray(a): .array(.string(a))
        case let .float32Array(a): .array(.float32(a))
        case let .int32Array(a): .array(.int32(a))
        }
    }
}
