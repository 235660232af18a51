/// Element types a safetensors header can name.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64, .u64: 8
        case .f32, .i32, .u32: 4
        case .f16, .bf16, .i16, .u16: 2
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2: 1
        }
    }

    /// True for the floating-point types Kiln converts (F64, F32, F16, BF16).
    public var isConvertibleFloat: Bool { self == .f64 || self == .f32 || self == .f16 || self == .bf16 }
}

/// Errors reading safetensors checkpoints. Every case names the file.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    /// The file is shorter than its 8-byte length prefix or than the header length it declares.
    case truncatedHeader(path: String, declared: Int, fileSize: Int)
    case invalidHeaderJSON(path: String, reason: String)
    case invalidEntry(path: String, tensor: String, reason: String)
    case unknownDType(path: String, tensor: String, dtype: String)
    /// dtype size × product of shape ≠ end − begin.
    case sizeMismatch(path: String, tensor: String, expected: Int, actual: Int)
    /// A tensor's data range extends past the end of the file.
    case dataOutOfBounds(path: String, tensor: String, end: Int, available: Int)
    case overlappingData(path: String, first: String, second: String)
    case noWeights(directory: String)
    case invalidIndex(path: String, reason: String)
    case missingShard(index: String, shard: String)
    case indexMismatch(index: String, tensor: String, reason: String)
    case duplicateTensor(tensor: String, firstFile: String, secondFile: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "\(path): cannot open: \(reason)"
        case let .truncatedHeader(path, declared, size):
            "\(path): truncated safetensors file: header declares \(declared) bytes but the file has \(size)"
        case let .invalidHeaderJSON(path, reason): "\(path): safetensors header is not a valid JSON object: \(reason)"
        case let .invalidEntry(path, tensor, reason): "\(path): tensor \(tensor): \(reason)"
        case let .unknownDType(path, tensor, dtype):
            "\(path): tensor \(tensor) has unknown dtype \(dtype) (expected one of \(SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .sizeMismatch(path, tensor, expected, actual):
            "\(path): tensor \(tensor): dtype and shape give \(expected) bytes but data_offsets span \(actual)"
        case let .dataOutOfBounds(path, tensor, end, available):
            "\(path): tensor \(tensor) data ends at byte \(end) of the data section, which has \(available) bytes (truncated file?)"
        case let .overlappingData(path, first, second): "\(path): tensors \(first) and \(second) share bytes"
        case let .noWeights(directory):
            "\(directory): no model.safetensors, model.safetensors.index.json or model*.safetensors found"
        case let .invalidIndex(path, reason): "\(path): \(reason)"
        case let .missingShard(index, shard): "\(index): names shard \(shard), which does not exist"
        case let .indexMismatch(index, tensor, reason): "\(index): tensor \(tensor): \(reason)"
        case let .duplicateTensor(tensor, first, second): "tensor \(tensor) appears in both \(first) and \(second)"
        }
    }
}
