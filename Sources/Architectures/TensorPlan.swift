import Foundation
import Safetensors

/// One tensor the converter writes, and how its rows are derived from the checkpoint.
public struct PlannedTensor: @unchecked Sendable {
    public enum Source {
        /// Rows come from a checkpoint tensor, in ``RowOrder`` order.
        case checkpoint(file: SafetensorsFile, tensor: SafetensorsTensorInfo)
        /// Values computed by the converter (`rope_freqs.weight`).
        case generated([Float])
    }

    /// How output rows map to source rows.
    public enum RowOrder: Equatable, Sendable {
        case identity
        /// llama.cpp's Q/K permutation: within each of `heads` groups of rows, rotate-half pairs become
        /// interleaved pairs. Output row `h*hd + 2i + j` is source row `h*hd + j*(hd/2) + i`.
        case interleaveRotaryHalves(heads: Int)
    }

    public let hfName: String
    /// The GGUF name.
    public let name: String
    /// Output shape, PyTorch order (outermost first).
    public let shape: [Int]
    public let source: Source
    public let rowOrder: RowOrder
    /// Gemma's norm weights are stored as offsets from one.
    public let addOne: Bool

    /// Elements per row (the innermost dimension; 1 for scalars).
    public var rowLength: Int { shape.last ?? 1 }
    public var rowCount: Int { shape.dropLast().reduce(1, *) }
    public var elementCount: Int { shape.reduce(1, *) }

    /// Source row for output row `r`.
    @inlinable public func sourceRow(_ r: Int) -> Int {
        switch rowOrder {
        case .identity:
            return r
        case let .interleaveRotaryHalves(heads):
            let headDim = rowCount / heads
            let h = r / headDim, within = r % headDim
            let i = within / 2, j = within % 2
            return h * headDim + j * (headDim / 2) + i
        }
    }
}

/// Builds the converter's tensor list for a checkpoint: order, GGUF names, skipped tensors and transforms.
public enum TensorPlanner {
    /// HF tensor name endings the converter drops everywhere.
    static let droppedSuffixes = [".attention.masked_bias", ".attention.bias", ".rotary_emb.inv_freq"]

    /// - Parameters:
    ///   - vocabularySize: the tokenizer's token count, used where the converter truncates embeddings.
    public static func plan(
        family: ModelFamily, config: HFConfig, checkpoint: SafetensorsCheckpoint, vocabularySize: Int
    ) throws(ArchitectureError) -> [PlannedTensor] {
        var out: [PlannedTensor] = []
        for (name, values) in try generatedTensors(family: family, config: config) {
            out.append(
                PlannedTensor(
                    hfName: name, name: name, shape: [values.count], source: .generated(values), rowOrder: .identity,
                    addOne: false))
        }
        let heads = family.permutesQK ? try config.requireInteger(["n_heads", "num_attention_heads"]) : 0
        let kvHeads = family.permutesQK ? try config.requireInteger(["n_kv_heads", "num_key_value_heads"]) : 0
        for (file, info) in checkpoint.orderedTensors {
            var name = info.name
            if droppedSuffixes.contains(where: name.hasSuffix) { continue }
            if isMultimodal(name) { continue }
            if name.hasPrefix("language_model.") { name.removeFirst("language_model.".count) }
            if family == .llama { name = name.replacingOccurrences(of: "text_model.", with: "") }
            if family.dropsLMHead, name == "lm_head.weight" { continue }
            guard let gguf = TensorNames.ggufName(for: name, family: family) else {
                throw .unmappedTensor(name: "\(info.name) in \(file.url.path)", architecture: family.ggufName)
            }
            guard info.dtype.isConvertibleFloat else {
                throw .unexpectedShape(
                    tensor: "\(info.name) in \(file.url.path)",
                    expected: "a floating-point tensor (F64, F32, F16 or BF16), found \(info.dtype.rawValue)",
                    actual: info.shape)
            }
            var shape = info.shape
            var order = PlannedTensor.RowOrder.identity
            if family.permutesQK {
                let isQ = name.hasSuffix("q_proj.weight") || name.hasSuffix("q_proj.bias")
                let isK = name.hasSuffix("k_proj.weight") || name.hasSuffix("k_proj.bias")
                if isQ || isK {
                    let h = isK && kvHeads != heads ? kvHeads : heads
                    guard let rows = shape.first, h > 0, rows % (2 * h) == 0 else {
                        let key = isK && kvHeads != heads ? "num_key_value_heads" : "num_attention_heads"
                        throw .unexpectedShape(
                            tensor: "\(info.name) in \(file.url.path)",
                            expected: "a first dimension divisible by 2 × \(h) heads (\(key) in \(config.url.path))",
                            actual: info.shape)
                    }
                    order = .interleaveRotaryHalves(heads: h)
                }
            }
            if family == .gemma3, name.contains("embed_tokens.weight"), let rows = shape.first, rows > vocabularySize {
                shape[0] = vocabularySize
            }
            out.append(
                PlannedTensor(
                    hfName: info.name, name: gguf, shape: shape, source: .checkpoint(file: file, tensor: info),
                    rowOrder: order, addOne: family.addsOneToNorms && name.hasSuffix("norm.weight")))
        }
        let files = checkpoint.files
        let place =
            files.count == 1
            ? files[0].url.path
            : "\(checkpoint.directory.appendingPathComponent("model.safetensors.index.json").path) and its shards"
        try check(out, family: family, config: config, checkpoint: place)
        return out
    }

    /// Multimodal tensors a text conversion skips (`TextModel.filter_tensors`).
    static func isMultimodal(_ name: String) -> Bool {
        let prefixes = [
            "mlp", "vit.", "vpm.", "siglip2.", "conformer.", "merger.", "resampler.", "sound_encoder.",
            "sound_projection.", "speech_embeddings."
        ]
        let infixes = [
            "visual.", "vision.", "audio.", "talker.", "vision_", "audio_", "token2wav.", "code2wav.", "projector.",
            "pre_mm_projector_norm", "image_newline", "view_seperator", "patch_embed", "patch_embedding",
            "patch_merger.",
            "patch_merge_mlp.", "model.connector."
        ]
        return prefixes.contains(where: name.hasPrefix) || infixes.contains(where: name.contains)
    }

    /// Tensors the converter computes before the checkpoint's own (`generate_extra_tensors`).
    static func generatedTensors(family: ModelFamily, config: HFConfig) throws(ArchitectureError) -> [(String, [Float])]
    {
        switch family {
        case .llama:
            let rope = try RopeParameters(config: config)
            guard rope.type?.lowercased() == "llama3" else { return [] }
            let dim: Int
            if let d = try config.integer("head_dim") {
                dim = d
            } else {
                dim = try config.requireInteger(["hidden_size"]) / config.requireInteger(["num_attention_heads"])
            }
            return [
                (
                    "rope_freqs.weight",
                    llama3RopeFactors(
                        base: rope.theta ?? 10000, dim: dim, factor: rope.factor ?? 8,
                        lowFreqFactor: rope.value("low_freq_factor") ?? 1,
                        highFreqFactor: rope.value("high_freq_factor") ?? 4,
                        originalContext: Double(rope.originalContext ?? 8192))
                )
            ]
        case .phi3:
            let rope = try RopeParameters(config: config)
            if rope.params["long_factor"] != nil {
                throw .invalidConfig(
                    path: config.url.path, key: "rope_scaling.long_factor",
                    reason: "Phi-3 long-rope checkpoints are not supported yet")
            }
            return []
        default:
            return []
        }
    }

    /// Llama 3 rope scaling factors, computed in float32 as the converter's torch code does: the frequency
    /// is a float32 tensor, and Python scalars do not widen float32 tensor arithmetic.
    static func llama3RopeFactors(
        base: Double, dim: Int, factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalContext: Double
    ) -> [Float] {
        let lowWavelen = originalContext / lowFreqFactor
        let highWavelen = originalContext / highFreqFactor
        var out: [Float] = []
        for k in stride(from: 0, to: dim, by: 2) {
            let exponent = Float(k) / Float(dim)
            let freq: Float = 1 / powf(Float(base), exponent)
            let wavelen: Float = Float(2 * Double.pi) / freq
            if Double(wavelen) < highWavelen {
                out.append(1)
            } else if Double(wavelen) > lowWavelen {
                out.append(Float(factor))
            } else {
                let smooth: Float =
                    (Float(originalContext) / wavelen - Float(lowFreqFactor)) / Float(highFreqFactor - lowFreqFactor)
                out.append(1 / ((1 - smooth) / Float(factor) + smooth))
            }
        }
        return out
    }
}
