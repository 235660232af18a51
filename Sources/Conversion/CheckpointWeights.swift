import FileAccess
import Foundation
import GGUF

/// One tensor of a checkpoint as `kiln convert --outtype f32` would write it, readable as F32 rows.
public struct F32Tensor {
    /// The GGUF name (`blk.0.attn_q.weight`).
    public let name: String
    /// GGUF dimensions (innermost first).
    public let dimensions: [Int]
    fileprivate let rows: PlannedRows
    fileprivate let hfName: String

    /// Writes the tensor's `rows × rowLength` floats to `out` (after the converter's permutations and
    /// offsets) and checks that every value is finite.
    ///
    /// - Throws: ``ConversionError/nonFiniteWeight(tensor:row:column:value:)`` for NaN or ±Inf; read errors.
    public func read(into out: UnsafeMutablePointer<Float>) throws {
        try rows.loadRows(0..<rows.rowCount, into: out)
        for i in 0..<(rows.rowCount * rows.rowLength) where !out[i].isFinite {
            throw ConversionError.nonFiniteWeight(
                tensor: hfName, row: i / rows.rowLength, column: i % rows.rowLength, value: out[i])
        }
        rows.finished()
    }
}

extension Converter {
    /// A checkpoint's tensors as `kiln convert --outtype f32` would write them (names, permutations, norm
    /// offsets), in the converter's order, with the metadata it would write; nothing is read until
    /// ``F32Tensor/read(into:)`` and nothing is written. F32 holds F16 and BF16 weights exactly.
    public static func f32Tensors(
        checkpoint: URL, threads: Int = ProcessInfo.processInfo.activeProcessorCount
    ) throws
        -> (metadata: GGUFMetadata, tensors: [F32Tensor])
    {
        let plan = try prepare(ConversionOptions(checkpoint: checkpoint, outputType: .f32, threads: threads))
        let tensors = plan.tensors.map { t in
            F32Tensor(name: t.name, dimensions: t.shape.reversed(), rows: PlannedRows(tensor: t), hfName: t.hfName)
        }
        return (plan.metadata, tensors)
    }

    /// The content key of a checkpoint for the reference logits cache: SHA-256 over the names and digests
    /// of `config.json`, the tokenizer files and every `.safetensors` file in the folder.
    public static func checkpointHash(_ checkpoint: URL) throws -> [UInt8] {
        let names = try FileManager.default.contentsOfDirectory(atPath: checkpoint.path).filter {
            $0.hasSuffix(".safetensors") || $0 == "config.json" || $0.hasPrefix("tokenizer")
        }.sorted()
        var digest = SHA256Digest()
        for name in names {
            let url = checkpoint.appendingPathComponent(name)
            let file = try MappedFile(url: url)
            var entry = Array(name.utf8) + [0]
            entry += SHA256Digest.hash(file.bytes)
            entry.withUnsafeBytes { digest.update($0) }
        }
        return digest.finalize()
    }
}
