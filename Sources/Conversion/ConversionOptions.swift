import Foundation
import Quantization

/// What `kiln convert` writes: the converter's `--outtype` choices.
public enum OutputType: String, Sendable, CaseIterable {
    case f32, f16, bf16, q8_0, auto

    /// The tensor type for weights that follow the outtype (`auto` resolved beforehand).
    var tensorType: GGMLType {
        switch self {
        case .f32: .f32
        case .f16, .auto: .f16
        case .bf16: .bf16
        case .q8_0: .q8_0
        }
    }

    /// `general.file_type` (`llama_ftype`).
    var fileType: UInt32 {
        switch self {
        case .f32: 0
        case .f16, .auto: 1
        case .bf16: 32
        case .q8_0: 7
        }
    }

    /// The upper-case name used in default file names (`F16`, `Q8_0`).
    public var label: String { rawValue.uppercased() }
}

/// Options of one conversion.
public struct ConversionOptions: Sendable {
    public var checkpoint: URL
    /// Output file; nil picks the converter's default name inside the checkpoint folder.
    public var output: URL?
    public var outputType: OutputType
    public var overwrite: Bool
    public var threads: Int
    /// `--model-name`: overrides `general.name`.
    public var modelName: String?

    public init(
        checkpoint: URL, output: URL? = nil, outputType: OutputType = .auto, overwrite: Bool = false,
        threads: Int = ProcessInfo.processInfo.activeProcessorCount, modelName: String? = nil
    ) {
        self.checkpoint = checkpoint
        self.output = output
        self.outputType = outputType
        self.overwrite = overwrite
        self.threads = threads
        self.modelName = modelName
    }
}

/// Errors of the conversion stage that are not a lower module's.
public enum ConversionError: Error, Equatable, CustomStringConvertible {
    case notADirectory(path: String)
    case nonFiniteWeight(tensor: String, row: Int, column: Int, value: Float)
    case f16Overflow(tensor: String, value: Float)
    case unsupportedDType(tensor: String, dtype: String)
    case vocabularyLargerThanModel(path: String, tokens: Int, vocabSize: Int)
    case embeddingRowsDisagree(tensor: String, rows: Int, vocabSize: Int)

    public var description: String {
        switch self {
        case let .notADirectory(path): "\(path): not a checkpoint folder"
        case let .nonFiniteWeight(tensor, row, column, value):
            "tensor \(tensor) holds \(value) at row \(row), column \(column); refusing to write a broken model"
        case let .f16Overflow(tensor, value):
            "tensor \(tensor) holds \(value), beyond F16's range (±65504); convert with --outtype bf16 or f32"
        case let .unsupportedDType(tensor, dtype): "tensor \(tensor) has dtype \(dtype), which Kiln does not convert"
        case let .vocabularyLargerThanModel(path, tokens, vocabSize):
            "\(path): the tokenizer has \(tokens) tokens but config.json vocab_size is \(vocabSize)"
        case let .embeddingRowsDisagree(tensor, rows, vocabSize):
            "tensor \(tensor) has \(rows) rows but config.json vocab_size is \(vocabSize)"
        }
    }
}
