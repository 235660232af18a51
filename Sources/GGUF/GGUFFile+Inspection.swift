import Foundation

/// Human and machine renderings of a GGUF file, for `kiln inspect`.
public enum GGUFInspection {
    /// A JSON-ready dictionary: header facts, every key in file order with its type and full value,
    /// and the tensor table.
    public static func json(_ file: GGUFFile) -> [String: Any] {
        let metadata: [[String: Any]] = file.metadata.entries.map { entry in
            var typeName = entry.value.type.description
            if case let .array(a) = entry.value { typeName = "ARRAY[\(a.elementType)]" }
            return ["key": entry.key, "type": typeName, "value": jsonValue(entry.value)]
        }
        let tensors: [[String: Any]] = file.tensors.map {
            ["name": $0.name, "type": $0.type.description, "shape": $0.dimensions, "offset": $0.offset, "bytes": $0.byteCount]
        }
        return [
            "path": file.url.path, "version": Int(file.version), "alignment": file.alignment,
            "data_offset": file.dataOffset, "file_bytes": file.fileSize, "metadata": metadata, "tensors": tensors,
        ]
    }

    static func jsonValue(_ v: GGUFValue) -> Any {
        switch v {
        case let .uint8(x): Int(x)
        case let .int8(x): Int(x)
        case let .uint16(x): Int(x)
        case let .int16(x): Int(x)
        case let .uint32(x): Int(x)
        case let .int32(x): Int(x)
        case let .float32(x): Double(x)
        case let .bool(x): x
        case let .string(x): x
        case let .uint64(x): NSNumber(value: x)
        case let .int64(x): NSNumber(value: x)
        case let .float64(x): x
        case let .array(a):
            switch a {
            case let .uint8(xs): xs.map(Int.init)
            case let .int8(xs): xs.map(Int.init)
            case let .uint16(xs): xs.map(Int.init)
            case let .int16(xs): xs.map(Int.init)
            case let .uint32(xs): xs.map(Int.init)
            case let .int32(xs): xs.map(Int.init)
            case let .float32(xs): xs.map(Double.init)
            case let .bool(xs): xs
            case let .string(xs): xs
            case let .uint64(xs): xs.map { NSNumber(value: $0) }
            case let .int64(xs): xs.map { NSNumber(value: $0) }
            case let .float64(xs): xs
            }
        }
    }

    /// A readable listing; arrays show their first `arrayPreview` elements.
    public static func text(_ file: GGUFFile, arrayPreview: Int = 8) -> String {
        var out = "\(file.url.path): GGUF v\(file.version), \(file.metadata.count) keys, \(file.tensors.count) tensors, \(file.fileSize) bytes, alignment \(file.alignment)\n\n"
        let width = min(48, file.metadata.keys.map(\.count).max() ?? 0)
        for (key, value) in file.metadata {
            out += "  \(key.padding(toLength: width, withPad: " ", startingAt: 0))  \(render(value, preview: arrayPreview))\n"
        }
        out += "\n  \("tensor".padding(toLength: 34, withPad: " ", startingAt: 0)) \("type".padding(toLength: 7, withPad: " ", startingAt: 0)) \("shape (ne)".padding(toLength: 18, withPad: " ", startingAt: 0)) \("offset".padding(toLength: 12, withPad: " ", startingAt: 0)) bytes\n"
        for t in file.tensors {
            let shape = t.dimensions.map(String.init).joined(separator: " × ")
            out += "  \(t.name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(t.type.description.padding(toLength: 7, withPad: " ", startingAt: 0)) \(shape.padding(toLength: 18, withPad: " ", startingAt: 0)) \(String(file.dataOffset + t.offset).padding(toLength: 12, withPad: " ", startingAt: 0)) \(t.byteCount)\n"
        }
        return out
    }

    static func render(_ v: GGUFValue, preview: Int) -> String {
        switch v {
        case let .string(s):
            let flat = s.replacingOccurrences(of: "\n", with: "\\n")
            return flat.count > 100 ? "\"\(flat.prefix(100))…\" (\(s.utf8.count) bytes)" : "\"\(flat)\""
        case let .array(a):
            let items = (jsonValue(v) as? [Any] ?? []).prefix(preview).map { "\($0)" }
            let more = a.count > preview ? ", … \(a.count) total" : ""
            return "[\(a.elementType)] [\(items.joined(separator: ", "))\(more)]"
        default:
            return "\(jsonValue(v)) (\(v.type))"
        }
    }
}
