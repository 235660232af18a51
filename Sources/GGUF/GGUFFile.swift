import FileAccess
import Foundation
import Quantization

/// A GGUF file opened for reading: metadata and tensor table parsed and validated up front, tensor data
/// served straight from a memory mapping.
///
/// Validation follows the C reader (`gguf_init_from_reader`): unique keys and tensor names, names shorter
/// than 64 bytes, 1–4 dimensions, known types, rows a multiple of the block size, and data offsets exactly
/// the running sum of padded tensor sizes.
public final class GGUFFile: @unchecked Sendable {
    public let url: URL
    public let version: UInt32
    public let metadata: GGUFMetadata
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Absolute file offset of the data section.
    public let dataOffset: Int
    private let file: MappedFile
    private let tensorIndex: [String: Int]

    public init(url: URL) throws(GGUFError) {
        self.url = url
        do {
            file = try MappedFile(url: url)
        } catch {
            throw .cannotOpen(path: url.path, reason: "\(error)")
        }
        var r = ByteReader(bytes: file.bytes, path: url.path)
        let magic = try r.bytes(4)
        guard magic == GGUF.magic else { throw .badMagic(path: url.path, found: magic) }
        version = try r.u32()
        guard version == 2 || version == 3 else { throw .unsupportedVersion(path: url.path, version: version) }
        let tensorCount = try r.i64()
        let kvCount = try r.i64()
        // Each KV and tensor info needs at least 8 bytes, which bounds plausible counts by the file size.
        guard tensorCount >= 0, tensorCount <= Int64(file.count / 8) else {
            throw .implausibleCount(path: url.path, what: "tensor", count: tensorCount)
        }
        guard kvCount >= 0, kvCount <= Int64(file.count / 8) else {
            throw .implausibleCount(path: url.path, what: "key/value", count: kvCount)
        }
        var metadata = GGUFMetadata()
        for _ in 0..<kvCount {
            let key = try r.string()
            guard !metadata.contains(key) else { throw .duplicateKey(path: url.path, key: key) }
            let rawType = try r.u32()
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw .invalidValueType(path: url.path, key: key, rawType: rawType)
            }
            metadata.set(key, try r.value(of: type, key: key))
        }
        self.metadata = metadata
        var alignment = GGUF.defaultAlignment
        if let a = metadata["general.alignment"]?.integerValue {
            guard a > 0, a & (a - 1) == 0 else { throw .invalidAlignment(path: url.path, alignment: Int(a)) }
            alignment = Int(a)
        }
        self.alignment = alignment

        var tensors: [GGUFTensorInfo] = []
        var tensorIndex: [String: Int] = [:]
        var expectedOffset = 0
        for _ in 0..<tensorCount {
            let name = try r.string()
            guard name.utf8.count <= GGUF.maxNameLength else { throw .tensorNameTooLong(path: url.path, name: name) }
            guard tensorIndex[name] == nil else { throw .duplicateTensor(path: url.path, name: name) }
            let nDims = try r.u32()
            guard (1...4).contains(nDims) else {
                throw .invalidDimensions(path: url.path, tensor: name, dimensions: [Int64(nDims)])
            }
            var dims: [Int64] = []
            for _ in 0..<nDims { dims.append(try r.i64()) }
            var elements: Int64 = 1
            for d in dims {
                let (product, overflow) = elements.multipliedReportingOverflow(by: max(d, 1))
                guard d >= 0, !overflow else {
                    throw .invalidDimensions(path: url.path, tensor: name, dimensions: dims)
                }
                elements = product
            }
            let rawType = try r.u32()
            guard let type = GGMLType(rawValue: rawType) else {
                throw .unknownTensorType(path: url.path, tensor: name, rawType: rawType)
            }
            guard dims[0] % Int64(type.blockSize) == 0 else {
                throw .rowNotMultipleOfBlock(
                    path: url.path, tensor: name, rowLength: Int(dims[0]), type: type.description)
            }
            let offset = Int(truncatingIfNeeded: try r.u64())
            guard offset == expectedOffset else {
                throw .misplacedTensorData(
                    path: url.path, tensor: name, expectedOffset: expectedOffset, actualOffset: offset)
            }
            // A size or end past the file is refused here, before any sum of sizes could overflow.
            let (bytes, tooLarge) = Int(elements / Int64(type.blockSize)).multipliedReportingOverflow(
                by: type.typeSize)
            guard !tooLarge else { throw .invalidDimensions(path: url.path, tensor: name, dimensions: dims) }
            guard bytes <= file.count - offset else {
                throw .tensorDataOutOfBounds(
                    path: url.path, tensor: name, end: bytes > file.count ? bytes : offset + bytes, fileSize: file.count
                )
            }
            let info = GGUFTensorInfo(name: name, dimensions: dims.map { Int($0) }, type: type, offset: offset)
            expectedOffset = GGUF.pad(offset + bytes, to: alignment)
            tensorIndex[name] = tensors.count
            tensors.append(info)
        }
        dataOffset = GGUF.pad(r.offset, to: alignment)
        for t in tensors where dataOffset + t.offset + t.byteCount > file.count {
            throw .tensorDataOutOfBounds(
                path: url.path, tensor: t.name, end: dataOffset + t.offset + t.byteCount, fileSize: file.count)
        }
        self.tensors = tensors
        self.tensorIndex = tensorIndex
    }

    /// The tensor named `name`, if present.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The raw bytes of a tensor, valid while this object is alive.
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        file.slice(offset: dataOffset + tensor.offset, length: tensor.byteCount)
    }

    /// Size of the whole file in bytes.
    public var fileSize: Int { file.count }

    /// The underlying mapping, for page advice while streaming.
    public var mapping: MappedFile { file }
}

/// Bounds-checked little-endian reads over a mapped file.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var offset = 0

    mutating func need(_ n: Int) throws(GGUFError) {
        guard n >= 0, offset <= bytes.count - n else {
            throw .truncated(path: path, offset: offset, needed: n, fileSize: bytes.count)
        }
    }

    mutating func load<T: FixedWidthInteger>(_: T.Type) throws(GGUFError) -> T {
        try need(MemoryLayout<T>.size)
        let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return v
    }

    mutating func u32() throws(GGUFError) -> UInt32 { try load(UInt32.self) }
    mutating func u64() throws(GGUFError) -> UInt64 { try load(UInt64.self) }
    mutating func i64() throws(GGUFError) -> Int64 { try load(Int64.self) }

    mutating func bytes(_ n: Int) throws(GGUFError) -> [UInt8] {
        try need(n)
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    mutating func string() throws(GGUFError) -> String {
        let length = try u64()
        guard length <= UInt64(bytes.count) else {
            throw .truncated(path: path, offset: offset, needed: Int(clamping: length), fileSize: bytes.count)
        }
        let start = offset
        try need(Int(length))
        offset += Int(length)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<offset])
        guard let s = String(validating: slice, as: UTF8.self) else { throw .invalidString(path: path, offset: start) }
        return s
    }

    mutating func value(of type: GGUFValueType, key: String) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try load(UInt8.self))
        case .int8: return .int8(try load(Int8.self))
        case .uint16: return .uint16(try load(UInt16.self))
        case .int16: return .int16(try load(Int16.self))
        case .uint32: return .uint32(try load(UInt32.self))
        case .int32: return .int32(try load(Int32.self))
        case .float32: return .float32(Float(bitPattern: try load(UInt32.self)))
        case .bool: return .bool(try load(UInt8.self) != 0)
        case .string: return .string(try string())
        case .uint64: return .uint64(try load(UInt64.self))
        case .int64: return .int64(try load(Int64.self))
        case .float64: return .float64(Double(bitPattern: try load(UInt64.self)))
        case .array:
            let rawElement = try u32()
            guard let element = GGUFValueType(rawValue: rawElement) else {
                throw .invalidValueType(path: path, key: key, rawType: rawElement)
            }
            guard element != .array else { throw .nestedArray(path: path, key: key) }
            let count64 = try u64()
            // Every element takes at least one byte, so a count beyond the remaining bytes is a lie.
            guard count64 <= UInt64(bytes.count - offset) else {
                throw .implausibleCount(path: path, what: "array element", count: Int64(clamping: count64))
            }
            let n = Int(count64)
            return .array(try array(of: element, count: n))
        }
    }

    private mutating func fixed<T: FixedWidthInteger>(_: T.Type, _ n: Int) throws(GGUFError) -> [T] {
        try need(n * MemoryLayout<T>.size)
        let base = offset
        offset += n * MemoryLayout<T>.size
        return (0..<n).map {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: base + $0 * MemoryLayout<T>.size, as: T.self))
        }
    }

    private mutating func array(of type: GGUFValueType, count n: Int) throws(GGUFError) -> GGUFArray {
        switch type {
        case .uint8: return .uint8(try fixed(UInt8.self, n))
        case .int8: return .int8(try fixed(Int8.self, n))
        case .uint16: return .uint16(try fixed(UInt16.self, n))
        case .int16: return .int16(try fixed(Int16.self, n))
        case .uint32: return .uint32(try fixed(UInt32.self, n))
        case .int32: return .int32(try fixed(Int32.self, n))
        case .float32: return .float32(try fixed(UInt32.self, n).map(Float.init(bitPattern:)))
        case .bool: return .bool(try fixed(UInt8.self, n).map { $0 != 0 })
        case .uint64: return .uint64(try fixed(UInt64.self, n))
        case .int64: return .int64(try fixed(Int64.self, n))
        case .float64: return .float64(try fixed(UInt64.self, n).map(Double.init(bitPattern:)))
        case .string:
            var out: [String] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try string()) }
            return .string(out)
        case .array: throw .nestedArray(path: path, key: "")
        }
    }
}
