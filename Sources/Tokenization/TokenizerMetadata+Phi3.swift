import Foundation

extension TokenizerMetadata {
    /// Phi-3's own SentencePiece routine (`Phi3MiniModel.set_vocab`). It differs from
    /// ``sentencePiece(files:vocabSize:)`` in its overrides: `added_tokens.json`, then `tokenizer_config.json`
    /// `added_tokens_decoder`, then `tokenizer.json` `added_tokens`, each setting the text as given, score
    /// -1000 and USER_DEFINED, or CONTROL when `special` (no "looks special" test, no "▁" replacement).
    /// Then `SpecialVocab(n_vocab=len(tokens))` without merges.
    public static func phi3(files: TokenizerFiles) throws(TokenizationError) -> [TokenizerMetadataEntry] {
        guard let model = files.sentencePieceModel else {
            throw .missingTokenizer(directory: files.directory.path, expected: "tokenizer.model (SentencePiece)")
        }
        let size = files.configInt("vocab_size") ?? model.pieces.count
        guard model.pieces.count <= size else {
            throw .vocabularyExceedsVocabSize(
                path: files.path("tokenizer.model"), tokenID: model.pieces.count - 1, vocabSize: size)
        }
        var (tokens, scores, types) = model.paddedVocabulary(size: size)
        func override(_ id: Int, _ text: String, special: Bool) {
            guard id >= 0, id < size else { return }
            tokens[id] = text
            scores[id] = -1000
            types[id] = special ? .control : .userDefined
        }
        for (key, value) in files.addedTokensJSON?.objectMembers ?? [] {
            if let id = value.pythonInt { override(id, key, special: false) }
        }
        for (key, value) in files.tokenizerConfig?["added_tokens_decoder"]?.objectMembers ?? [] {
            guard let id = Int(key), let content = value["content"]?.stringValue else { continue }
            override(id, content, special: value["special"]?.boolValue ?? false)
        }
        for entry in files.tokenizerJSON?["added_tokens"]?.arrayValue ?? [] {
            guard let id = entry["id"]?.pythonInt, let content = entry["content"]?.stringValue else { continue }
            override(id, content, special: entry["special"]?.boolValue ?? false)
        }
        let special = try SpecialVocabulary(files: files, nVocab: tokens.count)
        return [
            TokenizerMetadataEntry(key: TokenizerKey.model, value: .string("llama")),
            TokenizerMetadataEntry(key: TokenizerKey.pre, value: .string("default")),
            TokenizerMetadataEntry(key: TokenizerKey.tokens, value: .stringArray(tokens)),
            TokenizerMetadataEntry(key: TokenizerKey.scores, value: .float32Array(scores)),
            TokenizerMetadataEntry(key: TokenizerKey.tokenType, value: .int32Array(types.map(\.rawValue)))
        ] + special.metadataEntries
    }
}

extension TokenizerFiles {
    /// `len(model.vocab) + len(added_tokens)` of `tokenizer.json`, the row count Gemma 3's converter keeps
    /// of the token embedding when there is no `tokenizer.model`.
    public var jsonVocabularyCount: Int? {
        guard let json = tokenizerJSON, let vocab = json["model"]?["vocab"]?.objectMembers else { return nil }
        return vocab.count + (json["added_tokens"]?.arrayValue?.count ?? 0)
    }
}
