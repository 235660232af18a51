import Catalog
import ChatTemplates
import Conversion
import FileAccess
import Foundation
import GGUF
import Quantization

/// What a build records about the model itself, read from the conversion's metadata (the keys every file of
/// the ladder carries) and its chat-template check. Stored with the source's content key, so a rebuild of
/// an unchanged checkpoint does not read the checkpoint again.
public struct ModelFacts: Codable, Sendable, Equatable {
    public var model: Manifest.ModelFacts
    public var tokenizer: Manifest.TokenizerFacts
    public var chatTemplate: Manifest.ChatTemplateFacts?
    /// `general.name`, `general.organization`, `general.license`, `general.description` from the model card
    /// and folder, as the converter derives them.
    public var name: String?
    public var organization: String?
    public var license: String?
    public var description: String?
    public var hyper: Hyper

    /// The hyperparameters the memory estimate needs.
    public struct Hyper: Codable, Sendable, Equatable {
        public var feedForwardLength: Int
        public var keyLength: Int
        public var valueLength: Int
        /// Sliding-window size and which layers use it (Gemma 2/3), or nil.
        public var slidingWindow: Int?
        public var slidingLayers: Int
    }

    /// Reads the facts from a conversion plan of `folder`.
    public static func read(folder: URL) throws -> ModelFacts {
        let plan = try Converter.prepare(ConversionOptions(checkpoint: folder, outputType: .f32))
        let kv = plan.metadata
        let path = folder.path
        guard let arch = kv["general.architecture"]?.stringValue else {
            throw BuildError("\(path): the conversion has no general.architecture")
        }
        func int(_ key: String) -> Int? {
            switch kv[key] {
            case let .array(.uint32(a))?: a.max().map(Int.init)
            case let .array(.int32(a))?: a.max().map(Int.init)
            case let v?: v.integerValue.map(Int.init)
            case nil: nil
            }
        }
        func need(_ key: String) throws -> Int {
            guard let v = int("\(arch).\(key)") else {
                throw BuildError("\(path): the conversion has no \(arch).\(key)")
            }
            return v
        }
        var vocabulary = int("\(arch).vocab_size") ?? 0
        if case let .array(.string(tokens))? = kv["tokenizer.ggml.tokens"] { vocabulary = tokens.count }
        let embedding = try need("embedding_length")
        let heads = try need("attention.head_count")
        let headsKV = int("\(arch).attention.head_count_kv") ?? heads
        let blocks = try need("block_count")
        let parameters = plan.tensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
        let tokens: [String]
        if case let .array(.string(t))? = kv["tokenizer.ggml.tokens"] { tokens = t } else { tokens = [] }
        func token(_ id: Int?) -> String? { id.flatMap { $0 >= 0 && $0 < tokens.count ? tokens[$0] : nil } }
        let bos = int("tokenizer.ggml.bos_token_id"), eos = int("tokenizer.ggml.eos_token_id")
        var addsBOS = false
        if case let .bool(b)? = kv["tokenizer.ggml.add_bos_token"] { addsBOS = b }

        var template: Manifest.ChatTemplateFacts? = nil
        if let text = kv["tokenizer.chat_template"]?.stringValue {
            let report = (try? ChatTemplateSource.folder(folder))?.check()
            template = Manifest.ChatTemplateFacts(
                sha256: SHA256Digest.hexDigest(text),
                supportsSystemRole: report?.supportsSystemRole ?? false, supportsTools: report?.supportsTools ?? false,
                supportsToolCalls: report?.supportsToolCalls ?? false, toolCallStart: report?.toolCallStart,
                toolCallEnd: report?.toolCallEnd, supportsReasoning: report?.supportsReasoning ?? false,
                reasoningStart: report?.reasoningStart, reasoningEnd: report?.reasoningEnd,
                stopTokens: report?.stopTokens ?? [],
                promptTemplate: report?.promptTemplate.map {
                    Manifest.PromptTemplate(
                        system: $0.system, user: $0.user, assistant: $0.assistant, prompt: $0.prompt)
                }, findings: report?.findings ?? ["the template could not be checked"])
        }
        let window = int("\(arch).attention.sliding_window")
        // llama.cpp's interleaved sliding-window layouts: Gemma 2 alternates, Gemma 3 has one global layer in six.
        let slidingLayers: Int
        switch arch {
        case "gemma2": slidingLayers = window == nil ? 0 : (blocks + 1) / 2
        case "gemma3": slidingLayers = window == nil ? 0 : blocks - blocks / 6
        default: slidingLayers = 0
        }
        let headDim = embedding / max(heads, 1)
        return ModelFacts(
            model: Manifest.ModelFacts(
                architecture: arch, parameterCount: parameters, contextLength: int("\(arch).context_length") ?? 0,
                vocabularySize: vocabulary, embeddingLength: embedding, blockCount: blocks, headCount: heads,
                headCountKV: headsKV),
            tokenizer: Manifest.TokenizerFacts(
                model: kv["tokenizer.ggml.model"]?.stringValue ?? "unknown", pre: kv["tokenizer.ggml.pre"]?.stringValue,
                bosTokenID: bos, eosTokenID: eos, bosToken: token(bos), eosToken: token(eos), addsBOS: addsBOS),
            chatTemplate: template, name: kv["general.name"]?.stringValue,
            organization: kv["general.organization"]?.stringValue, license: kv["general.license"]?.stringValue,
            description: kv["general.description"]?.stringValue,
            hyper: Hyper(
                feedForwardLength: int("\(arch).feed_forward_length") ?? 4 * embedding,
                keyLength: int("\(arch).attention.key_length") ?? headDim,
                valueLength: int("\(arch).attention.value_length") ?? headDim,
                slidingWindow: slidingLayers > 0 ? window : nil, slidingLayers: slidingLayers))
    }
}

/// The memory a llama.cpp runtime allocates to run a file on a CPU with its defaults (one sequence, a
/// micro-batch of 512 tokens, flash attention, F16 key/value cache):
///
/// - **weights:** the file's tensor bytes (mapped), plus the copies llama.cpp's CPU backend makes at load of
///   the tensors it repacks into interleaved layouts on x86-64 with AVX2 (Q4_0, Q4_K and IQ4_NL with a row
///   count divisible by 8; `ggml_repack_get_optimal_repack_type`), which it reports as a second model buffer;
/// - **KV cache:** `n_layer × n_ctx × (n_embd_k_gqa + n_embd_v_gqa) × 2` bytes, the context padded to 256;
///   sliding-window layers (Gemma 2/3) keep `min(n_ctx, window + 512)` cells, padded to 256;
/// - **compute buffer:** the graph's peak at a 512-token micro-batch, which is the output projection (the
///   logits `n_vocab × 512` F32 and two hidden-state rows `2 × n_embd × 512` F32) or the feed-forward
///   (`(2 n_embd + 3 n_ff) × 512` F32), whichever is larger; plus the one-token output buffer
///   (`n_vocab × 4`).
///
/// Checked against llama-completion's log for SmolLM2 (tests): its compute buffer is 98.25 MiB at both
/// 4,096 and 8,192 tokens, exactly the output-projection term, and its KV cache 90 and 180 MiB.
public enum MemoryEstimate {
    public static let method =
        "llama.cpp CPU defaults on x86-64 with AVX2 (n_ubatch 512, flash attention, F16 KV): tensor bytes + "
        + "repacked copies (Q4_0/Q4_K/IQ4_NL) + KV cache at the context length + compute buffer (peak of output "
        + "projection or feed-forward at 512 tokens) + output buffer"

    /// Whether llama.cpp's CPU backend on x86-64 with AVX2 copies this tensor into an interleaved layout.
    public static func isRepacked(_ type: GGMLType, dimensions: [Int]) -> Bool {
        guard [.q4_0, .q4_K, .iq4_nl].contains(type), dimensions.count >= 2 else { return false }
        return dimensions[1] % 8 == 0
    }

    public static func estimate(
        facts: ModelFacts, weightsBytes: Int, repackBytes: Int, contexts: [Int]
    )
        -> Manifest.Memory
    {
        let m = facts.model, h = facts.hyper
        let ubatch = 512
        let outputPeak = (m.vocabularySize + 2 * m.embeddingLength) * ubatch * 4
        let ffnPeak = (2 * m.embeddingLength + 3 * h.feedForwardLength) * ubatch * 4
        let compute = max(outputPeak, ffnPeak) + m.vocabularySize * 4
        let perCell = m.headCountKV * (h.keyLength + h.valueLength) * 2
        let list = contexts.map { n -> Manifest.Memory.AtContext in
            let cells = pad(n, 256)
            var kv = (m.blockCount - h.slidingLayers) * cells * perCell
            if let w = h.slidingWindow { kv += h.slidingLayers * min(cells, pad(w + ubatch, 256)) * perCell }
            return Manifest.Memory.AtContext(
                contextLength: n, kvCacheBytes: kv, computeBytes: compute,
                totalBytes: weightsBytes + repackBytes + kv + compute)
        }
        return Manifest.Memory(weightsBytes: weightsBytes, repackBytes: repackBytes, contexts: list, method: method)
    }

    static func pad(_ n: Int, _ to: Int) -> Int { (n + to - 1) / to * to }
}
