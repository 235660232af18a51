import Foundation
import JSON

/// Human and machine renderings of a GGUF file, for `kiln inspect`.
public enum GGUFInspection {
    /// What `kiln inspect --json` prints: header facts, every key in file order with its type and full
    /// value, and the tensor table.
    public struct Report: Codable, Sendable {
        public struct Entry: Codable, Sendable {
            public var key: String
            public var type: String
            public var value: JSONValue
        }
        public struct Tensor: Codable, Sendable {
            public var name: String
            public var type: String
            public var shape: [Int]
            public var offset: Int
            public var bytes: Int
        }
        public var path: String
        public var version: Int
        public var alignment: Int
        public var dataOffset: Int
        public var fileBytes: Int
        public var metadata: [Entry]
        public var tensors: [Tensor]

        enum CodingKeys: String, CodingKey {
            case path, version, alignment, metadata, tensors
            case dataOffset = "data_offset"
            case fileBytes = "file_bytes"
        }
    }

    public static func report(_ file: GGUFFile) -> Report {
        let metadata = file.metadata.entries.map { entry in
            var typeName = entry.value.type.description
            if case let .array(a) = entry.value { typeName = "ARRAY[\(a.elementType)]" }
            return Report.Entry(key: entry.key, type: typeName, value: jsonValue(entry.value))
        }
        let tensors = file.tensors.map {
            Report.Tensor(
                name: $0.name, type: $0.type.description, shape: $0.dimensions, offset: $0.offset, bytes: $0.byteCount)
        }
        return Report(
            path: file.url.path, version: Int(file.version), alignment: file.alignment, dataOffset: file.dataOffset,
            fileBytes: file.fileSize, metadata: metadata, tensors: tensors)
    }

    /// A metadata value as JSON: integers (a UInt64 past Int64's range as a float), floats, booleans, strings
    /// and arrays of them.
    static func jsonValue(_ v: GGUFValue) -> JSONValue {
        func u64(_ x: UInt64) -> JSONValue { Int(exactly: x).map(JSONValue.int) ?? .double(Double(x)) }
        switch v {
        case let .uint8(x): return .int(Int(x))
        case let .int8(x): return .int(Int(x))
        case let .uint16(x): return .int(Int(x))
        case let .int16(x): return .int(Int(x))
        case let .uint32(x): return .int(Int(x))
        case let .int32(x): return .int(Int(x))
        case let .float32(x): return .double(Double(x))
        case let .bool(x): return .bool(x)
        case let .string(x): return .string(x)
        case let .uint64(x): return u64(x)
        case let .int64(x): return .int(Int(x))
        case let .float64(x): return .double(x)
        case let .array(a):
            switch a {
            case let .uint8(xs): return .array(xs.map { .int(Int($0)) })
            case let .int8(xs): return .array(xs.map { .int(Int($0)) })
            case let .uint16(xs): return .array(xs.map { .int(Int($0)) })
            case let .int16(xs): return .array(xs.map { .int(Int($0)) })
            case let .uint32(xs): return .array(xs.map { .int(Int($0)) })
            case let .int32(xs): return .array(xs.map { .int(Int($0)) })
            case let .float32(xs): return .array(xs.map { .double(Double($0)) })
            case let .bool(xs): return .array(xs.map(JSONValue.bool))
            case let .string(xs): return .array(xs.map(JSONValue.string))
            case let .uint64(xs): return .array(xs.map(u64))
            case let .int64(xs): return .array(xs.map { .int(Int($0)) })
            case let .float64(xs): return .array(xs.map(JSONValue.double))
            }
        }
    }

    /// A scalar or array element as text for the listing.
    static func plain(_ v: JSONValue) -> String {
        switch v {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .int(let i): "\(i)"
        case .double(let d): "\(d)"
        case .string(let s): s
        case .array(let a): "[" + a.map(plain).joined(separator: ", ") + "]"
        case .object: "{…}"
        }
    }

    /// A readable listing; arrays show their first `arrayPreview` elements.
    public static func text(_ file: GGUFFile, arrayPreview: Int = 8) -> String {
        var out =
            "\(file.url.path): GGUF v\(file.version), \(file.metadata.count) keys, \(file.tensors.count) tensors, \(file.fileSize) bytes, alignment \(file.alignment)\n\n"
        let width = min(48, file.metadata.keys.map(\.count).max() ?? 0)
        for (key, value) in file.metadata {
            out +=
                "  \(key.padding(toLength: width, withPad: " ", startingAt: 0))  \(render(value, preview: arrayPreview))\n"
        }
        out +=
            "\n  \("tensor".padding(toLength: 34, withPad: " ", startingAt: 0)) \("type".padding(toLength: 7, withPad: " ", startingAt: 0)) \("shape (ne)".padding(toLength: 18, withPad: " ", startingAt: 0)) \("offset".padding(toLength: 12, withPad: " ", startingAt: 0)) bytes\n"
        for t in file.tensors {
            let shape = t.dimensions.map(String.init).joined(separator: " × ")
            out +=
                "  \(t.name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(t.type.description.padding(toLength: 7, withPad: " ", startingAt: 0)) \(shape.padding(toLength: 18, withPad: " ", startingAt: 0)) \(String(file.dataOffset + t.offset).padding(toLength: 12, withPad: " ", startingAt: 0)) \(t.byteCount)\n"
        }
        return out
    }

    static func render(_ v: GGUFValue, preview: Int) -> String {
        switch v {
        case let .string(s):
            let flat = s.replacingOccurrences(of: "\n", with: "\\n")
            return flat.count > 100 ? "\"\(flat.prefix(100))…\" (\(s.utf8.count) bytes)" : "\"\(flat)\""
        case let .array(a):
            let items = (jsonValue(v).arrayValue ?? []).prefix(preview).map(plain)
            let more = a.count > preview ? ", … \(a.count) total" : ""
            return "[\(a.elementType)] [\(items.joined(separator: ", "))\(more)]"
        default:
            return "\(plain(jsonValue(v))) (\(v.type))"
        }
    }
}
