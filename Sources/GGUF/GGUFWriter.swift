import FileAccess
import Foundation
import Quantization

/// Streams a GGUF file: the header (metadata and tensor table, with offsets computed up front) is written
/// first, then each tensor's data in declaration order, padded to the alignment.
///
/// The file is written under a temporary name in the destination folder and renamed by ``finish()``;
/// dropping the writer before that removes the temporary file.
public final class GGUFWriter {
    public let destination: URL
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    private let output: AtomicOutputFile
    private var nextTensor = 0
    /// Bytes of the pending tensor already appended.
    private var writtenOfTensor = 0
    private let dataStart: Int

    /// Validates the tensor table, computes offsets and writes the header.
    ///
    /// - Parameters:
    ///   - tensors: names, dimensions (GGML order) and types, in the order the data will be written;
    ///     offsets are computed here.
    ///   - overwrite: replace an existing destination (otherwise it is an error).
    public init(
        destination: URL, metadata: GGUFMetadata, tensors: [GGUFTensorInfo], overwrite: Bool = false
    ) throws {
        self.destination = destination
        let path = destination.path
        var alignment = GGUF.defaultAlignment
        if let a = metadata["general.alignment"]?.integerValue {
            guard a > 0, a & (a - 1) == 0 else { throw GGUFError.invalidAlignment(path: path, alignment: Int(a)) }
            alignment = Int(a)
        }
        self.alignment = alignment
        var laidOut: [GGUFTensorInfo] = []
        var names = Set<String>()
        var offset = 0
        for var t in tensors {
            guard t.name.utf8.count <= GGUF.maxNameLength else {
                throw GGUFError.tensorNameTooLong(path: path, name: t.name)
            }
            guard names.insert(t.name).inserted else { throw GGUFError.duplicateTensor(path: path, name: t.name) }
            guard (1...4).contains(t.dimensions.count), t.dimensions.allSatisfy({ $0 >= 0 }) else {
                throw GGUFError.invalidDimensions(path: path, tensor: t.name, dimensions: t.dimensions.map(Int64.init))
            }
            guard t.dimensions[0] % t.type.blockSize == 0 else {
                throw GGUFError.rowNotMultipleOfBlock(
                    path: path, tensor: t.name, rowLength: t.dimensions[0], type: t.type.description)
            }
            t.offset = offset
            offset = GGUF.pad(offset + t.byteCount, to: alignment)
            laidOut.append(t)
        }
        self.tensors = laidOut
        var header = GGUFWriter.encodeHeader(metadata: metadata, tensors: laidOut)
        header.append(contentsOf: repeatElement(0, count: GGUF.pad(header.count, to: alignment) - header.count))
        dataStart = header.count
        output = try AtomicOutputFile(destination: destination, overwrite: overwrite)
        try output.write(header)
    }

    /// The tensor whose data ``writeTensorData(_:)`` expects next, or nil when all are written.
    public var pendingTensor: GGUFTensorInfo? { nextTensor < tensors.count ? tensors[nextTensor] : nil }

    /// Appends the next tensor's data (exactly its byte count) and its padding.
    public func writeTensorData(_ bytes: UnsafeRawBufferPointer) throws {
        if let t = pendingTensor, writtenOfTensor == 0, bytes.count != t.byteCount {
            throw GGUFError.tensorSizeMismatch(
                path: destination.path, tensor: t.name, expected: t.byteCount, actual: bytes.count)
        }
        try appendTensorData(bytes)
    }

    /// Appends part of the pending tensor's data; after its last byte the padding follows and the next
    /// tensor becomes pending. A chunk may not run past the pending tensor's end.
    public func appendTensorData(_ bytes: UnsafeRawBufferPointer) throws {
        guard let t = pendingTensor else {
            throw GGUFError.tensorSizeMismatch(
                path: destination.path, tensor: "(none left)", expected: 0, actual: bytes.count)
        }
        guard writtenOfTensor + bytes.count <= t.byteCount else {
            throw GGUFError.tensorSizeMismatch(
                path: destination.path, tensor: t.name, expected: t.byteCount, actual: writtenOfTensor + bytes.count)
        }
        try output.write(bytes)
        writtenOfTensor += bytes.count
        if writtenOfTensor == t.byteCount {
            try output.writeZeros(GGUF.pad(t.byteCount, to: alignment) - t.byteCount)
            nextTensor += 1
            writtenOfTensor = 0
        }
    }

    /// Checks every tensor was written, then renames the file into place.
    public func finish() throws {
        guard nextTensor == tensors.count else {
            throw GGUFError.tensorsMissing(path: destination.path, written: nextTensor, declared: tensors.count)
        }
        try output.commit()
    }

    /// Header bytes: magic, version, counts, key/values, tensor infos (no trailing padding).
    public static func encodeHeader(metadata: GGUFMetadata, tensors: [GGUFTensorInfo]) -> [UInt8] {
        var e = ByteEncoder()
        e.bytes.append(contentsOf: GGUF.magic)
        e.put(GGUF.version)
        e.put(UInt64(tensors.count))
        e.put(UInt64(metadata.count))
        for (key, value) in metadata {
            e.string(key)
            e.put(value.type.rawValue)
            e.value(value)
        }
        for t in tensors {
            e.string(t.name)
            e.put(UInt32(t.dimensions.count))
            for d in t.dimensions { e.put(UInt64(d)) }
            e.put(t.type.rawValue)
            e.put(UInt64(t.offset))
        }
        return e.bytes
    }
}

/// Little-endian encoding of GGUF fields.
struct ByteEncoder {
    var bytes: [UInt8] = []

    mutating func put<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ s: String) {
        put(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    mutating func value(_ v: GGUFValue) {
        switch v {
        case let .uint8(x): put(x)
        case let .int8(x): put(x)
        case let .uint16(x): put(x)
        case let .int16(x): put(x)
        case let .uint32(x): put(x)
        case let .int32(x): put(x)
        case let .float32(x): put(x.bitPattern)
        case let .bool(x): put(UInt8(x ? 1 : 0))
        case let .string(x): string(x)
        case let .uint64(x): put(x)
        case let .int64(x): put(x)
        case let .float64(x): put(x.bitPattern)
        case let .array(a):
            put(a.elementType.rawValue)
            put(UInt64(a.count))
            switch a {
            case let .uint8(xs): bytes.append(contentsOf: xs)
            case let .int8(xs): for x in xs { put(x) }
            case let .uint16(xs): for x in xs { put(x) }
            case let .int16(xs): for x in xs { put(x) }
            case let .uint32(xs): for x in xs { put(x) }
            case let .int32(xs): for x in xs { put(x) }
            case let .float32(xs): for x in xs { put(x.bitPattern) }
            case let .bool(xs): for x in xs { put(UInt8(x ? 1 : 0)) }
            case let .string(xs): for x in xs { string(x) }
            case let .uint64(xs): for x in xs { put(x) }
            case let .int64(xs): for x in xs { put(x) }
            case let .float64(xs): for x in xs { put(x.bitPattern) }
            }
        }
    }
}
