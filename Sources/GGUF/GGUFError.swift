/// Errors reading or writing GGUF files. Every case names the file and what was expected.
public enum GGUFError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    /// The file ends before a field that must be present.
    case truncated(path: String, offset: Int, needed: Int, fileSize: Int)
    case badMagic(path: String, found: [UInt8])
    case unsupportedVersion(path: String, version: UInt32)
    case invalidValueType(path: String, key: String, rawType: UInt32)
    case nestedArray(path: String, key: String)
    case invalidString(path: String, offset: Int)
    case duplicateKey(path: String, key: String)
    case implausibleCount(path: String, what: String, count: Int64)
    case duplicateTensor(path: String, name: String)
    case tensorNameTooLong(path: String, name: String)
    case invalidDimensions(path: String, tensor: String, dimensions: [Int64])
    case unknownTensorType(path: String, tensor: String, rawType: UInt32)
    case rowNotMultipleOfBlock(path: String, tensor: String, rowLength: Int, type: String)
    case misplacedTensorData(path: String, tensor: String, expectedOffset: Int, actualOffset: Int)
    case tensorDataOutOfBounds(path: String, tensor: String, end: Int, fileSize: Int)
    case invalidAlignment(path: String, alignment: Int)
    case tensorSizeMismatch(path: String, tensor: String, expected: Int, actual: Int)
    case tensorsMissing(path: String, written: Int, declared: Int)
    case unknownTensor(path: String, name: String)

    public var description: String {
        switch self {
        case let .cannotOpen(_, reason):
            reason
        case let .truncated(path, offset, needed, size):
            "\(path): truncated GGUF: \(needed) bytes needed at offset \(offset), file has \(size)"
        case let .badMagic(path, found):
            "\(path): not a GGUF file (magic \(found.map { String(format: "%02x", $0) }.joined()), expected 47475546 \"GGUF\")"
        case let .unsupportedVersion(path, version):
            "\(path): unsupported GGUF version \(version) (2 and 3 are read; a byte-swapped file is refused)"
        case let .invalidValueType(path, key, raw):
            "\(path): key \(key) has unknown value type \(raw)"
        case let .nestedArray(path, key):
            "\(path): key \(key) holds a nested array, which GGUF does not allow"
        case let .invalidString(path, offset):
            "\(path): string at offset \(offset) is not valid UTF-8"
        case let .duplicateKey(path, key):
            "\(path): key \(key) appears twice"
        case let .implausibleCount(path, what, count):
            "\(path): implausible \(what) count \(count)"
        case let .duplicateTensor(path, name):
            "\(path): tensor \(name) appears twice"
        case let .tensorNameTooLong(path, name):
            "\(path): tensor name \(name) is \(name.utf8.count) bytes; GGUF allows at most 63"
        case let .invalidDimensions(path, tensor, dims):
            "\(path): tensor \(tensor) has invalid dimensions \(dims) (1 to 4 non-negative sizes expected)"
        case let .unknownTensorType(path, tensor, raw):
            "\(path): tensor \(tensor) has unknown GGML type id \(raw)"
        case let .rowNotMultipleOfBlock(path, tensor, row, type):
            "\(path): tensor \(tensor) has rows of \(row) values, not a multiple of \(type)'s block size"
        case let .misplacedTensorData(path, tensor, expected, actual):
            "\(path): tensor \(tensor) data at offset \(actual), expected \(expected) (tensor data must be contiguous and aligned)"
        case let .tensorDataOutOfBounds(path, tensor, end, size):
            "\(path): tensor \(tensor) data ends at byte \(end), beyond the file's \(size) bytes"
        case let .invalidAlignment(path, alignment):
            "\(path): general.alignment \(alignment) is not a power of two"
        case let .tensorSizeMismatch(path, tensor, expected, actual):
            "\(path): tensor \(tensor) needs \(expected) bytes of data, \(actual) given"
        case let .tensorsMissing(path, written, declared):
            "\(path): only \(written) of \(declared) declared tensors were written"
        case let .unknownTensor(path, name):
            "\(path): no tensor named \(name)"
        }
    }
}
