import GGUF

/// The model families Kiln converts, keyed by the Hugging Face `architectures` entry.
public enum ModelFamily: String, Sendable, CaseIterable {
    case llama, qwen2, qwen3, phi3, gemma, gemma2, gemma3

    /// Hugging Face class names and the family each converts as.
    public static let hfArchitectures: [(String, ModelFamily)] = [
        ("LlamaForCausalLM", .llama), ("LLaMAForCausalLM", .llama), ("MistralForCausalLM", .llama),
        ("Qwen2ForCausalLM", .qwen2), ("Qwen3ForCausalLM", .qwen3), ("Phi3ForCausalLM", .phi3),
        ("GemmaForCausalLM", .gemma), ("Gemma2ForCausalLM", .gemma2),
        ("Gemma3ForCausalLM", .gemma3), ("Gemma3ForConditionalGeneration", .gemma3)
    ]

    public static var supportedHFArchitectures: [String] { hfArchitectures.map(\.0) }

    /// The family for a config's first `architectures` entry, as the converter picks it.
    public static func detect(_ config: HFConfig) throws(ArchitectureError) -> ModelFamily {
        let names = config["architectures"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard let first = names.first, let family = hfArchitectures.first(where: { $0.0 == first })?.1 else {
            throw .unsupportedArchitecture(path: config.url.path, found: names)
        }
        return family
    }

    /// `general.architecture`.
    public var ggufName: String { rawValue }

    /// Whether Q and K projection rows are permuted from HF's rotate-half layout to llama.cpp's interleaved
    /// pairs (only the llama family; the others use NeoX rope in llama.cpp).
    public var permutesQK: Bool { self == .llama }

    /// Whether `*norm.weight` tensors get +1 (Gemma stores norm weights as offsets from one).
    public var addsOneToNorms: Bool { self == .gemma || self == .gemma2 || self == .gemma3 }

    /// Whether the converter drops `lm_head.weight` (Gemma 1 and 2 always tie).
    public var dropsLMHead: Bool { self == .gemma || self == .gemma2 }
}
