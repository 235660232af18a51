import Foundation
import JSON

extension TokenizerFiles {
    /// The named special tokens `transformers` passes to a chat template (`bos_token`, `eos_token`, `unk_token`,
    /// `sep_token`, `pad_token`, `cls_token`, `mask_token`, in that order), as strings: from
    /// `tokenizer_config.json`, else `special_tokens_map.json`, where a value is a string or `{"content": …}`.
    public var chatTemplateSpecialTokens: [(name: String, value: String)] {
        SpecialVocabulary.defaultSpecialTokenTypes.compactMap { type in
            let key = type + "_token"
            for source in [tokenizerConfig, specialTokensMap] {
                switch source?[key] {
                case .string(let text)?: return (key, text)
                case .object?: if let text = source?[key]?["content"]?.stringValue { return (key, text) }
                default: continue
                }
            }
            return nil
        }
    }
}
