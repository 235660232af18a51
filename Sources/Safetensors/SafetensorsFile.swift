import FileAccess
import Foundation

/// One tensor's entry in a safetensors header.
public struct SafetensorsTensorInfo: Equatable, Sendable {
    public let name: String
    public let dtype: SafetensorsDType
    /// PyTorch order, outermost first.
    public let shape: [Int]
    /// Absolute byte range within the file.
    public let range: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file whose header has been validated completely before any use:
/// header length against file size, JSON, dtype × shape = byte count, offsets inside the data section,
/// and no two tensors sharing bytes.
public final class SafetensorsFile: @unchecked Sendable {
    public let url: URL
    /// Tensors sorted by name (code point order), the order the converter visits them.
    public let tensors: [SafetensorsTensorInfo]
    public let metadata: [String: String]
    private let file: MappedFile
    private let index: [String: Int]

    public init(url: URL) throws(SafetensorsError) {
        self.url = url
        let path = url.path
        do {
            file = try MappedFile(url: url)
        } catch {
            throw .cannotOpen(path: path, reason: "\(error)")
        }
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw .truncatedHeader(path: path, declared: 8, fileSize: bytes.count) }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(bytes.count - 8) else {
            throw .truncatedHeader(path: path, declared: Int(clamping: declared) &+ 8, fileSize: bytes.count)
        }
        let headerLength = Int(declared)
        let dataStart = 8 + headerLength
        let dataCount = bytes.count - dataStart
        let json: Any
        do {
            let header = Data(bytes[8..<dataStart])
            json = try JSONSerialization.jsonObject(with: header)
        } catch {
            throw .invalidHeaderJSON(path: path, reason: error.localizedDescription)
        }
        guard let object = json as? [String: Any] else {
            throw .invalidHeaderJSON(path: path, reason: "top level is not an object")
        }
        // JSON parsers keep one of two equal keys silently; a header naming a tensor twice is refused.
        if let twice = Self.repeatedTopLevelKey(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart])) {
            throw .invalidEntry(path: path, tensor: twice, reason: "listed twice in the header")
        }
        var metadata: [String: String] = [:]
        var tensors: [SafetensorsTensorInfo] = []
        for (name, entry) in object {
            if name == "__metadata__" {
                guard let m = entry as? [String: Any] else {
                    throw .invalidEntry(path: path, tensor: name, reason: "__metadata__ is not an object")
                }
                for (k, v) in m {
                    guard let s = v as? String else {
                        throw .invalidEntry(
                            path: path, tensor: name, reason: "__metadata__ value for \(k) is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            tensors.append(
                try Self.parseEntry(name: name, entry: entry, path: path, dataStart: dataStart, dataCount: dataCount))
        }
        tensors.sort { $0.name.unicodeScalars.lexicographicallyPrecedes($1.name.unicodeScalars) }
        let byStart = tensors.filter { !$0.range.isEmpty }.sorted { $0.range.lowerBound < $1.range.lowerBound }
        for (a, b) in zip(byStart, byStart.dropFirst()) where a.range.upperBound > b.range.lowerBound {
            throw .overlappingData(path: path, first: a.name, second: b.name)
        }
        self.tensors = tensors
        self.metadata = metadata
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    /// The first key that appears twice in the top-level object of valid JSON `text`, as written (escapes
    /// are compared as they stand), or nil.
    static func repeatedTopLevelKey(_ text: UnsafeRawBufferPointer) -> String? {
        var seen = Set<ArraySlice<UInt8>>()
        let bytes = Array(text)
        var depth = 0, i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                // A string: find its end, then whether it is a key of the top-level object.
                let start = i + 1
                var j = start
                while j < bytes.count, bytes[j] != UInt8(ascii: "\"") { j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1 }
                let end = min(j, bytes.count)
                var k = end + 1
                while k < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[k]) { k += 1 }
                if depth == 1, k < bytes.count, bytes[k] == UInt8(ascii: ":") {
                    let key = bytes[start..<end]
                    if !seen.insert(key).inserted { return String(decoding: key, as: UTF8.self) }
                }
                i = end + 1
                continue
            }
            if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") { depth += 1 }
            if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") { depth -= 1 }
            i += 1
        }
        return nil
    }

    private static func parseEntry(
        name: String, entry: Any, path: String, dataStart: Int, dataCount: Int
    ) throws(SafetensorsError) -> SafetensorsTensorInfo {
        guard let e = entry as? [String: Any] else {
            throw .invalidEntry(path: path, tensor: name, reason: "entry is not an object")
        }
        guard let dtypeName = e["dtype"] as? String else {
            throw .invalidEntry(path: path, tensor: name, reason: "missing dtype")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw .unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard let shapeAny = e["shape"] as? [Any], let shape = Self.integers(shapeAny), shape.allSatisfy({ $0 >= 0 })
        else {
            throw .invalidEntry(path: path, tensor: name, reason: "shape is not a list of non-negative integers")
        }
        guard let offsetsAny = e["data_offsets"] as? [Any], let offsets = Self.integers(offsetsAny), offsets.count == 2,
            offsets[0] >= 0, offsets[0] <= offsets[1]
        else {
            throw .invalidEntry(
                path: path, tensor: name, reason: "data_offsets is not [begin, end] with 0 <= begin <= end")
        }
        var expected = dtype.size
        for d in shape {
            let (p, o) = expected.multipliedReportingOverflow(by: d)
            guard !o else { throw .invalidEntry(path: path, tensor: name, reason: "shape \(shape) overflows") }
            expected = p
        }
        guard expected == offsets[1] - offsets[0] else {
            throw .sizeMismatch(path: path, tensor: name, expected: expected, actual: offsets[1] - offsets[0])
        }
        guard offsets[1] <= dataCount else {
            throw .dataOutOfBounds(path: path, tensor: name, end: offsets[1], available: dataCount)
        }
        return SafetensorsTensorInfo(
            name: name, dtype: dtype, shape: shape, range: (dataStart + offsets[0])..<(dataStart + offsets[1]))
    }

    /// JSON numbers as exact integers, or nil if any is not an integer.
    private static func integers(_ values: [Any]) -> [Int]? {
        var out: [Int] = []
        for v in values {
            guard !isJSONBoolean(v), let i = (v as? Int) ?? (v as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) })
            else {
                return nil
            }
            out.append(i)
        }
        return out
    }

    /// The entry for `name`, if present.
    public func tensor(named name: String) -> SafetensorsTensorInfo? { index[name].map { tensors[$0] } }

    /// The raw little-endian bytes of a tensor, valid while this object is alive.
    public func data(for tensor: SafetensorsTensorInfo) -> UnsafeRawBufferPointer {
        file.slice(offset: tensor.range.lowerBound, length: tensor.range.count)
    }

    /// The underlying mapping, for page advice while streaming.
    public var mapping: MappedFile { file }
}

/// True for JSON `true`/`false`. On Linux `NSNumber(0) is Bool` holds, so the check looks at the number's
/// Objective-C type code ("c" for booleans) instead.
func isJSONBoolean(_ v: Any) -> Bool {
    if let n = v as? NSNumber { return String(cString: n.objCType) == "c" }
    return v is Bool
}
