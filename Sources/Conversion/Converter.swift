import Architectures
import FileAccess
import Foundation
import GGUF
import Quantization
import Safetensors
import Tokenization

/// Progress of a conversion, one event per tensor.
public struct ConversionProgress: Sendable {
    public let index: Int
    public let count: Int
    public let tensor: String
    public let shape: [Int]
    public let sourceType: String
    public let outputType: GGMLType
    public let bytes: Int
}

/// What a finished conversion wrote.
public struct ConversionResult: Sendable {
    public let output: URL
    public let tensorCount: Int
    public let fileBytes: Int
    public let outputType: OutputType
    public let architecture: String
}

/// The decisions of a conversion, made before any byte is written.
public struct ConversionPlan: @unchecked Sendable {
    public let family: ModelFamily
    public let config: HFConfig
    public let checkpoint: SafetensorsCheckpoint
    public let metadata: GGUFMetadata
    public let tensors: [PlannedTensor]
    public let types: [GGMLType]
    public let outputType: OutputType
    public let defaultOutput: URL
}

/// `kiln convert`: a Hugging Face checkpoint folder to a GGUF file, byte-identical to what llama.cpp's
/// `convert_hf_to_gguf.py` writes for the same input.
///
/// The run is a single pass that holds a few megabytes of rows at a time: the checkpoint is memory-mapped,
/// each output tensor is produced in chunks of rows (permuted, offset, converted, quantized) and streamed to
/// a temporary file that is renamed when complete. Everything is validated before the first byte is written
/// (config, tensor names and shapes, tokenizer); weights are checked (NaN, ±Inf, F16 overflow) while they
/// stream, and any error removes the partial file.
public enum Converter {
    public static func convert(
        _ options: ConversionOptions, progress: ((ConversionProgress) -> Void)? = nil
    ) throws -> ConversionResult {
        let plan = try prepare(options)
        let output = options.output ?? plan.defaultOutput
        let infos = zip(plan.tensors, plan.types).map { t, type in
            GGUFTensorInfo(name: t.name, dimensions: t.shape.reversed(), type: type)
        }
        let writer = try GGUFWriter(
            destination: output, metadata: plan.metadata, tensors: infos, overwrite: options.overwrite)
        var encoder = TensorEncoder(threads: max(1, options.threads))
        for (i, (t, type)) in zip(plan.tensors, plan.types).enumerated() {
            try encoder.encode(PlannedRows(tensor: t), as: type, into: writer)
            progress?(
                ConversionProgress(
                    index: i, count: plan.tensors.count, tensor: t.name, shape: t.shape,
                    sourceType: t.sourceTypeName, outputType: type, bytes: infos[i].byteCount))
        }
        try writer.finish()
        return ConversionResult(
            output: output, tensorCount: plan.tensors.count, fileBytes: fileSize(output), outputType: plan.outputType,
            architecture: plan.family.ggufName)
    }

    /// Everything a conversion decides before writing: metadata in the converter's order, the tensors in
    /// its order with their output types. Reads and validates the checkpoint but writes nothing.
    public static func prepare(_ options: ConversionOptions) throws -> ConversionPlan {
        let dir = options.checkpoint.standardizedFileURL
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ConversionError.notADirectory(path: dir.path)
        }
        let rawConfig = try HFConfig(url: dir.appendingPathComponent("config.json"))
        let family = try ModelFamily.detect(rawConfig)
        let config = rawConfig.withTransformersDefaults(for: family)
        let checkpoint = try SafetensorsCheckpoint(directory: dir)

        let vocabulary = try VocabularyExport.entries(family: family, directory: dir, config: config)
        let tensors = try TensorPlanner.plan(
            family: family, config: config, checkpoint: checkpoint, vocabularySize: vocabulary.tokenCount)
        try validateEmbedding(tensors: tensors, config: config, family: family, vocabulary: vocabulary)

        let outtype = resolve(options.outputType, checkpoint: checkpoint)
        let types = tensors.map { tensorType(for: $0, outtype: outtype) }
        let totalParameters = tensors.reduce(Int64(0)) { $0 + Int64($1.elementCount) }

        let modelMetadata = try ModelMetadata.load(
            directory: dir, modelName: options.modelName, totalParameters: totalParameters, config: rawConfig.document)

        var kv = GGUFMetadata()
        kv.set("general.architecture", .string(family.ggufName))
        kv.set("general.type", .string("model"))
        for (k, v) in modelMetadata.entries() { kv.set(k, v) }
        try Hyperparameters.write(family: family, config: config, fileType: outtype.fileType, into: &kv)
        kv.set("general.quantization_version", .uint32(2))
        for (k, v) in vocabulary.entries { kv.set(k, v) }
        return ConversionPlan(
            family: family, config: config, checkpoint: checkpoint, metadata: kv, tensors: tensors, types: types,
            outputType: outtype,
            defaultOutput: dir.appendingPathComponent(modelMetadata.defaultFileName(outtype: outtype.label) + ".gguf"))
    }

    /// `auto`: BF16 or F16 after the first 2-D (or larger) BF16/F16 checkpoint tensor, else F16.
    static func resolve(_ type: OutputType, checkpoint: SafetensorsCheckpoint) -> OutputType {
        guard type == .auto else { return type }
        for (_, t) in checkpoint.orderedTensors where t.shape.count >= 2 {
            if t.dtype == .bf16 { return .bf16 }
            if t.dtype == .f16 { return .f16 }
        }
        return .f16
    }

    /// The converter's per-tensor type rule (spec §7.2): 1-D tensors, norms and non-`.weight` tensors stay
    /// F32; Q8_0 falls back to F16 for rows that are not a multiple of 32.
    static func tensorType(for t: PlannedTensor, outtype: OutputType) -> GGMLType {
        if t.shape.count <= 1 || t.name.hasSuffix("_norm.weight") { return .f32 }
        if !t.name.hasSuffix(".weight") { return .f32 }
        let type = outtype.tensorType
        if t.rowLength % type.blockSize != 0 { return .f16 }
        return type
    }

    /// The token embedding must have one row per token of `vocab_size` (Gemma 3 is truncated to the
    /// tokenizer instead), and the tokenizer may not have more tokens than the model.
    static func validateEmbedding(
        tensors: [PlannedTensor], config: HFConfig, family: ModelFamily, vocabulary: VocabularyExport
    ) throws {
        guard let vocabSize = try config.integer("vocab_size") else { return }
        if vocabulary.tokenCount > vocabSize {
            throw ConversionError.vocabularyLargerThanModel(
                path: vocabulary.sourcePath, tokens: vocabulary.tokenCount, vocabSize: vocabSize)
        }
        if family != .gemma3, let embed = tensors.first(where: { $0.name == "token_embd.weight" }),
            embed.shape.first != vocabSize
        {
            throw ConversionError.embeddingRowsDisagree(
                tensor: embed.hfName, rows: embed.shape.first ?? 0, vocabSize: vocabSize)
        }
    }
}

extension PlannedTensor {
    var sourceTypeName: String {
        switch source {
        case let .checkpoint(_, info): info.dtype.rawValue
        case .generated: "F32"
        }
    }
}

/// Size of a file in bytes (0 if it cannot be read).
func fileSize(_ url: URL) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? 0
}
