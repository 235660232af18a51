import FileAccess
import Foundation
import JSON
import KilnTestSupport

@testable import Tokenization

/// Where the test inputs live (the checkpoint and `../shared` come from ``TestEnvironment``).
enum TestPaths {
    static var smolLM2Directory: URL { get throws { try TestEnvironment.smolLM2 } }

    /// What llama.cpp wrote for SmolLM2 (`metadata` list). `KILN_SMOLLM2_GOLDEN` overrides the path.
    static var smolLM2Golden: URL {
        get throws { try TestEnvironment.shared.appendingPathComponent("golden/smollm2/F16.json") }
    }

    /// `Tests/TokenizationTests/Resources`, found next to this file.
    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Resources")
}

/// Python's `json.dumps(values, ensure_ascii=False)` for the array types GGUF metadata uses, so array
/// values can be compared against the golden files' SHA-256 (through the JSON module's `dumps`).
enum PythonJSON {
    static func dumps(_ value: TokenizerMetadataValue) -> String {
        json(value).dumps(ensureASCII: false)
    }

    static func json(_ value: TokenizerMetadataValue) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .uint32(let v): return .int(Int(v))
        case .stringArray(let a): return .array(a.map { .string($0) })
        case .int32Array(let a): return .array(a.map { .int(Int($0)) })
        case .float32Array(let a): return .array(a.map { .double(Double($0)) })
        }
    }

    static func quote(_ s: String) -> String { JSONValue.string(s).dumps(ensureASCII: false) }
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
