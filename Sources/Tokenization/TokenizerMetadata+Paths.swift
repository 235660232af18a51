/// The converter's vocabulary routines, each returning its whole `tokenizer.*` block in write order. The
/// architecture layer picks the routine (and adds architecture-specific keys such as
/// `tokenizer.ggml.add_space_prefix` before, or overrides after, using `Array.set(_:_:)`).
public enum TokenizerMetadata {
    /// `_set_vocab_gpt2`: model "gpt2", pre, tokens, token types, then `SpecialVocab(load_merges=True)`
    /// (merges, special ids, add flags, chat template, normalizer flags).
    ///
    /// - Parameters:
    ///   - vocabSize: nil means `config.json` `vocab_size`, else the tokenizer's size.
    ///   - pre: overrides pre-tokenizer identification.
    public static func gpt2(
        files: TokenizerFiles, vocabSize: Int? = nil, pre: String? = nil
    ) throws(TokenizationError) -> [TokenizerMetadataEntry] {
        let vocabulary = try BPEVocabulary(files: files, vocabSize: vocabSize, pre: pre)
        let special = try SpecialVocabulary(files: files, loadMerges: true)
        return vocabulary.metadataEntries + special.metadataEntries
    }

    /// `_set_vocab_sentencepiece`: model "llama", pre "default", tokens, scores, token types, then
    /// `SpecialVocab(n_vocab=len(tokens))`.
    public static func sentencePiece(
        files: TokenizerFiles, vocabSize: Int? = nil
    ) throws(TokenizationError) -> [TokenizerMetadataEntry] {
        let vocabulary = try SentencePieceVocabulary(files: files, vocabSize: vocabSize)
        let special = try SpecialVocabulary(files: files, nVocab: vocabulary.tokens.count)
        return vocabulary.metadataEntries + special.metadataEntries
    }
}
