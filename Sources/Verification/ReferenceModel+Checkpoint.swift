import Conversion
import Foundation
import Inference

extension ReferenceModel {
    /// A Hugging Face checkpoint folder, loaded in memory as its F32 conversion (no file is written).
    /// - Parameter contentHash: the folder's digest when the caller already has one (a build's source key);
    ///   otherwise it is computed from the files when a cache needs it.
    public static func checkpoint(_ url: URL, contentHash known: [UInt8]? = nil) -> ReferenceModel {
        ReferenceModel(
            name: url.path,
            load: { threads in
                try TransformerModel(file: try loadWeights(checkpoint: url, threads: threads), threads: threads)
            }, contentHash: { try known ?? Converter.checkpointHash(url) },
            configuration: {
                // Metadata and tensor shapes from the plan; no weight is read.
                let (metadata, tensors) = try Converter.f32Tensors(checkpoint: url)
                let shapes = InMemoryWeights(name: url.path, metadata: metadata)
                for t in tensors { shapes.declare(name: t.name, type: .f32, dimensions: t.dimensions) }
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

    /// A checkpoint's tensors as the inference engine's weights, decoded into memory as F32.
    public static func loadWeights(
        checkpoint: URL, threads: Int = ProcessInfo.processInfo.activeProcessorCount
    ) throws -> InMemoryWeights {
        let (metadata, tensors) = try Converter.f32Tensors(checkpoint: checkpoint, threads: threads)
        let weights = InMemoryWeights(name: checkpoint.path, metadata: metadata)
        for t in tensors {
            try weights.add(name: t.name, type: .f32, dimensions: t.dimensions) { buffer in
                try t.read(into: buffer.baseAddress!.assumingMemoryBound(to: Float.self))
            }
        }
        return weights
    }
}
