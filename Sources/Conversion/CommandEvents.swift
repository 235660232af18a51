import Foundation

/// The `--json` lines of `kiln convert` and `kiln quantize` (and of the pipeline's conversion stages): one
/// `tensor` event per tensor, then one `done` summary. Each is defined once here and encoded with
/// `JSONOutput`; key names are part of Kiln's interface.
public enum CommandEvents {
    /// `kiln convert`: one tensor written.
    public struct ConvertedTensor: Codable, Sendable, Equatable {
        public var event = "tensor"
        public var index: Int
        public var count: Int
        public var name: String
        public var shape: [Int]
        public var from: String
        public var to: String
        public var bytes: Int

        public init(_ p: ConversionProgress) {
            index = p.index
            count = p.count
            name = p.tensor
            shape = p.shape
            from = p.sourceType
            to = p.outputType.description
            bytes = p.bytes
        }
    }

    /// `kiln convert`: the file written.
    public struct ConversionDone: Codable, Sendable, Equatable {
        public var event = "done"
        public var output: String
        public var architecture: String
        public var outtype: String
        public var tensors: Int
        public var bytes: Int
        public var seconds: Double

        public init(_ r: ConversionResult, seconds: Double) {
            output = r.output.path
            architecture = r.architecture
            outtype = r.outputType.rawValue
            tensors = r.tensorCount
            bytes = r.fileBytes
            self.seconds = seconds
        }
    }

    /// `kiln quantize`: one tensor planned (and, unless `--dry-run`, written).
    public struct QuantizedTensor: Codable, Sendable, Equatable {
        public var event = "tensor"
        public var index: Int
        public var count: Int
        public var name: String
        public var shape: [Int]
        public var from: String
        public var to: String
        public var bytesBefore: Int
        public var bytesAfter: Int
        public var imatrix: Bool
        public var fallback: Bool

        enum CodingKeys: String, CodingKey {
            case event, index, count, name, shape, from, to, imatrix, fallback
            case bytesBefore = "bytes_before"
            case bytesAfter = "bytes_after"
        }

        public init(_ e: QuantizePlanEntry, index: Int, count: Int) {
            self.index = index
            self.count = count
            name = e.name
            shape = e.dimensions
            from = e.from.description
            to = e.to.description
            bytesBefore = e.bytesBefore
            bytesAfter = e.bytesAfter
            imatrix = e.usesImportanceMatrix
            fallback = e.fellBack
        }
    }

    /// `kiln quantize`: the file written (or, with `--dry-run`, that would be).
    public struct QuantizeDone: Codable, Sendable, Equatable {
        public var event = "done"
        public var output: String
        public var type: String
        public var wrote: Bool
        public var tensors: Int
        public var bytes: Int
        public var tensorBytesBefore: Int
        public var tensorBytesAfter: Int
        public var seconds: Double

        enum CodingKeys: String, CodingKey {
            case event, output, type, wrote, tensors, bytes, seconds
            case tensorBytesBefore = "tensor_bytes_before"
            case tensorBytesAfter = "tensor_bytes_after"
        }

        public init(_ r: QuantizeResult, type: String, seconds: Double) {
            output = r.output.path
            self.type = type
            wrote = r.wrote
            tensors = r.entries.count
            bytes = r.fileBytes
            tensorBytesBefore = r.entries.reduce(0) { $0 + $1.bytesBefore }
            tensorBytesAfter = r.entries.reduce(0) { $0 + $1.bytesAfter }
            self.seconds = seconds
        }
    }
}
