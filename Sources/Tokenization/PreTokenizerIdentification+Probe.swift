import FileAccess

extension PreTokenizerIdentification {
    /// llama.cpp's probe text (`CHK_TXT` in `convert_hf_to_gguf_update.py`; 350 code points, UTF-8 SHA-256
    /// `a36179c1e2b1cfcfbfad1dc779addad2ffc778201e4cf0d538bddeafa2c526da`).
    public static let probeText =
        "\u{a} \u{a}\u{a} \u{a}\u{a}\u{a} \u{9} \u{9}\u{9} \u{9}\u{a}  \u{a}   \u{a}    \u{a}     \u{a}\u{1f680} (normal) \u{1f636}\u{200d}\u{1f32b}\u{fe0f} (multiple emojis concatenated) \u{2705} \u{1f999}\u{1f999} 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 \u{1780}\u{17b6}\u{1793}\u{17cb}\u{178f}\u{17c2}\u{1796}\u{17b7}\u{179f}\u{17c1}\u{179f}\u{17a2}\u{17b6}\u{1785}\u{1f601} ?\u{6211}\u{60f3}\u{5728}apple\u{5de5}\u{4f5c}1314151\u{5929}\u{ff5e} ------======= \u{43d}\u{435}\u{449}\u{43e} \u{43d}\u{430} \u{411}\u{44a}\u{43b}\u{433}\u{430}\u{440}\u{441}\u{43a}\u{438} ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL"

    /// llama.cpp's pre-tokenizer hash (`chkhsh` in `get_vocab_base_pre`) computed with Kiln's own encoder:
    /// the SHA-256 of Python's `str(ids)` for the probe text encoded with special tokens added.
    public static func probeHash(tokenizer: Tokenizer) -> String {
        let ids = tokenizer.encode(probeText, addSpecialTokens: true)
        let text = "[" + ids.map(String.init).joined(separator: ", ") + "]"
        return SHA256Digest.hexDigest(Array(text.utf8))
    }

    /// `probeHash(tokenizer:)` for the tokenizer of `files`.
    ///
    /// - Throws: what `Tokenizer.init(files:)` throws.
    public static func probeHash(files: TokenizerFiles) throws(TokenizationError) -> String {
        probeHash(tokenizer: try Tokenizer(files: files))
    }

    /// The `tokenizer.ggml.pre` names of some known probe hashes (llama.cpp's table).
    public static let knownProbeHashes: [String: String] = [
        "0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5": "llama-bpe",
        "e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea": "qwen2",
        "d4540891389ea895b53b399da6ac824becc30f2fba0e9ddbb98f92e55ca0e97c": "qwen2",
        "855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249": "smollm",
        "3ce83efda5659b07b1ad37ca97ca5797ea4285d9b9ab0dc679e4a720c9da7454": "gpt-2",
        "fcace8b9cac38ce847670c970cd5892031a753a1ef381abd1d9af00f713da085": "phi-2",
        "b3f499bb4255f8ca19fccd664443283318f2fd2414d5e0b040fbdd0cc195d6c5": "deepseek-r1-qwen",
        "9d032fcbd5501f4a38150912590928bfb36091efb5df11b8e2124b0390e3fb1e": "falcon3",
        "63b97e4253352e6f357cc59ea5b583e3a680eaeaf2632188c2b952de2588485e": "tekken",
        "ccc2ef013c104be7bae2965776d611e1d7a8a2a9c547dd93a682c9a9fc80352e": "gpt-4o"
    ]

    /// `tokenizer.ggml.pre` from two kinds of evidence. The configuration must be one Kiln understands
    /// (``identify(files:)``; anything else is an error naming what was found). When Kiln's own encoder
    /// then produces a probe hash from llama.cpp's table, the table's name wins, because that is exactly
    /// what the converter writes (it tells apart models sharing a configuration, such as `falcon3` and
    /// `llama-bpe`); otherwise the configuration's name is used, where llama.cpp's converter would refuse.
    public static func resolve(files: TokenizerFiles) throws(TokenizationError) -> String {
        let byConfiguration = try identify(files: files)
        guard let tokenizer = try? Tokenizer(files: files) else { return byConfiguration }
        return knownProbeHashes[probeHash(tokenizer: tokenizer)] ?? byConfiguration
    }
}
