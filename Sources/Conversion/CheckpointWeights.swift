import FileAccess
import Foundation
import GGUF
import Inference

extension Converter {
    /// A Hugging Face checkpoint as the inference engine's weights, without writing a file: the tensors
    /// `kiln convert --outtype f32` would write (names, permutations, norm offsets, metadata), decoded into
    /// memory. F32 holds F16 and BF16 checkpoint weights exactly, so the model is the checkpoint's own.
    public static func loadWeights(checkpoint: URL, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> InMemoryWeights {
        let plan = try prepare(ConversionOptions(checkpoint: checkpoint, outputType: .f32, threads: threads))
        let weights = InMemoryWeights(name: checkpoint.path, metadata: plan.metadata)
        for (t, type) in zip(plan.tensors, plan.types) {
            let rows = PlannedRows(tensor: t)
            precondition(type == .f32)
            try weights.add(name: t.name, type: .f32, dimensions: t.shape.reversed()) { buffer in
                let out = buffer.baseAddress!.assumingMemoryBound(to: Float.self)
                try rows.loadRows(0..<rows.rowCount, into: out)
                for i in 0..<(rows.rowCount * rows.rowLength) where !out[i].isFinite {
                    throw ConversionError.nonFiniteWeight(tensor: t.hfName, row: i / rows.rowLength, column: i % rows.rowLength, value: out[i])
                }
            }
            rows.finished()
        }
        return weights
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

extension ReferenceModel {
    /// A Hugging Face checkpoint folder, loaded with ``Converter/loadWeights(checkpoint:threads:)``.
    public static func checkpoint(_ url: URL) -> ReferenceModel {
        ReferenceModel(name: url.path, load: { threads in
            try TransformerModel(file: try Converter.loadWeights(checkpoint: url, threads: threads), threads: threads)
        }, contentHash: { try Converter.checkpointHash(url) }, configuration: {
            // Metadata and tensor shapes from the plan; no weight is read.
            let plan = try Converter.prepare(ConversionOptions(checkpoint: url, outputType: .f32))
            let shapes = InMemoryWeights(name: url.path, metadata: plan.metadata)
            for t in plan.tensors { shapes.declare(name: t.name, type: .f32, dimensions: t.shape.reversed()) }
            return try ModelConfiguration(file: shapes)
        })
    }

    /// A checkpoint folder or a GGUF file, by what is at `path`.
    public static func at(_ path: String) -> ReferenceModel {
        var isDirectory: ObjCBool = false
        let url = URL(fileURLWithPath: path)
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return .checkpoint(url)
        }
        return .gguf(url)
    }
}
