import FileAccess
import Foundation
import KilnTestSupport
@testable import Tokenization

/// Where the test inputs live (the checkpoint and `../shared` come from ``TestEnvironment``).
enum TestPaths {
    static var smolLM2Directory: URL { get throws { try TestEnvironment.smolLM2 } }

    /// What llama.cpp wrote for SmolLM2 (`metadata` list). `KILN_SMOLLM2_GOLDEN` overrides the path.
    static var smolLM2Golden: URL { get throws { try TestEnvironment.shared.appendingPathComponent("golden/smollm2/F16.json") } }

    /// `Tests/TokenizationTests/Resources`, found next to this file.
    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources")
}

/// Python's `json.dumps(values, ensure_ascii=False)` for the array types GGUF metadata uses, so array
/// values can be compared against the golden files' SHA-256.
enum PythonJSON {
    static func dumps(_ value: TokenizerMetadataValue) -> String {
        switch value {
        case .string(let s): return quote(s)
        case .bool(let b): return b ? "true" : "false"
        case .uint32(let v): return String(v)
        case .stringArray(let a): return "[" + a.map(quote).joined(separator: ", ") + "]"
        case .int32Array(let a): return "[" + a.map { String($0) }.joined(separator: ", ") + "]"
        case .float32Array(let a): return "[" + a.map { float(Double($0)) }.joined(separator: ", ") + "]"
        }
    }

    /// Python `repr(float)`: shortest round-trip digits, ".0" on integral values, exponent form outside
    /// 1e-4 ..< 1e16.
    static func float(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return d.description // Swift uses the same shortest-digits algorithm and thresholds.
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// SHA-256 helpers for golden comparisons, on the project's one implementation.
enum SHA256 {
    static func hex(_ text: String) -> String { SHA256Digest.hexDigest(text) }
    static func hex(_ message: [UInt8]) -> String { SHA256Digest.hexDigest(message) }
}


/// A temporary checkpoint directory with the given files; removed by `cleanup()`.
struct TemporaryCheckpoint {
    let url: URL

    init(files: [String: String], binary: [String: Data] = [:]) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, text) in files {
            let target = url.appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: target)
        }
        for (name, data) in binary { try data.write(to: url.appendingPathComponent(name)) }
    }

    func cleanup() { try? FileManager.default.removeItem(at: url) }
}
