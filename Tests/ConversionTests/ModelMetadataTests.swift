import Foundation
import GGUF
import KilnTestSupport
import Testing

@testable import Conversion

/// Expected values come from the real gguf-py: see Resources/metadata/make_expected.py.
private let resourceDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Resources/metadata")

private struct MetadataCase: Sendable, CustomStringConvertible {
    let id: String
    let dir: String
    let files: [String: String]
    let override: String?
    let modelName: String?
    let total: Int64
    let shared: Int64
    let expert: Int64
    let expertCount: Int64
    var description: String { id }
}

private func loadJSONFile(_ name: String) -> [String: Any] {
    let data = try! Data(contentsOf: resourceDir.appendingPathComponent(name))
    return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
}

private func int64(_ v: Any?) -> Int64 { (v as? NSNumber)?.int64Value ?? 0 }

private let allCases: [MetadataCase] = {
    let root = loadJSONFile("cases.json")
    return (root["cases"] as! [[String: Any]]).map { c in
        MetadataCase(
            id: c["id"] as! String, dir: c["dir"] as! String, files: c["files"] as? [String: String] ?? [:],
            override: c["override"] as? String, modelName: c["model_name"] as? String,
            total: int64(c["total_params"]), shared: int64(c["shared_params"]),
            expert: int64(c["expert_params"]), expertCount: int64(c["expert_count"]))
    }
}()

nonisolated(unsafe) private let expected: [String: Any] = loadJSONFile("expected.json")

/// Converts one expected [key, type, value] row into a GGUFValue.
private func expectedValue(type: String, value: Any) -> GGUFValue {
    func f(_ v: Any) -> Float {
        switch v as? String {
        case "nan": return .nan
        case "inf": return .infinity
        case "-inf": return -.infinity
        default: return Float((v as! NSNumber).doubleValue)
        }
    }
    func i(_ v: Any) -> Int32 { Int32((v as! NSNumber).int64Value) }
    switch type {
    case "STRING": return .string(value as! String)
    case "INT32": return .int32(i(value))
    case "UINT32": return .uint32(UInt32((value as! NSNumber).int64Value))
    case "FLOAT32": return .float32(f(value))
    case "ARRAY:STRING": return .array(.string(value as! [String]))
    case "ARRAY:INT32": return .array(.int32((value as! [Any]).map(i)))
    case "ARRAY:FLOAT32": return .array(.float32((value as! [Any]).map(f)))
    case "ARRAY:BOOL": return .array(.bool((value as! [Any]).map { ($0 as! NSNumber).boolValue }))
    default: fatalError("unknown expected type \(type)")
    }
}

private func makeFolder(_ c: MetadataCase) throws -> (root: URL, dir: URL, override: URL?) {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-meta-\(UUID().uuidString)")
    let dir = root.appendingPathComponent(c.dir)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for (name, content) in c.files {
        try Data(content.utf8).write(to: dir.appendingPathComponent(name))
    }
    var override: URL?
    if let o = c.override {
        override = root.appendingPathComponent("override.json")
        try Data(o.utf8).write(to: override!)
    }
    return (root, dir, override)
}

@Suite("ModelMetadata vs gguf-py", .tags(.oracle), .fullTier)
struct ModelMetadataOracleTests {
    @Test("Metadata.load + set_gguf_meta_model + naming_convention", arguments: allCases)
    fileprivate func matchesGGUFPy(_ c: MetadataCase) throws {
        let exp = (expected["cases"] as! [String: Any])[c.id] as! [String: Any]
        let (root, dir, override) = try makeFolder(c)
        defer { try? FileManager.default.removeItem(at: root) }
        // Pass a relative-style URL whose last component is the folder name, like the CLI would.
        let result = Result {
            try ModelMetadata.load(
                directory: dir, overrideFile: override, modelName: c.modelName, totalParameters: c.total,
                sharedParameters: c.shared, expertParameters: c.expert, expertCount: c.expertCount)
        }
        if let err = exp["error"] as? String {
            #expect(throws: ModelMetadataError.self, "gguf-py fails with \(err)") { try result.get() }
            return
        }
        let meta = try result.get()
        let rows = exp["entries"] as! [[Any]]
        let want = rows.map { ($0[0] as! String, expectedValue(type: $0[1] as! String, value: $0[2])) }
        let got = meta.entries()
        #expect(got.map(\.0) == want.map(\.0))
        for (g, w) in zip(got, want) where g.0 == w.0 {
            if case let .float32(a) = g.1, case let .float32(b) = w.1 {
                #expect(a.bitPattern == b.bitPattern, "\(g.0): \(a) vs \(b)")
            } else {
                #expect(g.1 == w.1, "\(g.0)")
            }
        }
        let names = exp["filenames"] as! [String: String]
        for (outtype, name) in names {
            #expect(meta.defaultFileName(outtype: outtype) == name, "\(outtype)")
        }
    }

    @Test("size_label from parameter counts")
    func sizeLabels() {
        let rows = expected["size_labels"] as! [[Any]]
        #expect(rows.count > 30)
        for r in rows {
            let label = ModelMetadata.sizeLabel(
                totalParameters: int64(r[0]), sharedParameters: int64(r[1]),
                expertParameters: int64(r[2]), expertCount: int64(r[3]))
            #expect(label == r[4] as! String, "\(r[0]) \(r[1]) \(r[2]) \(r[3])")
        }
    }
}

@Suite("ModelMetadata examples")
struct ModelMetadataExampleTests {
    private func folder(_ name: String, files: [String: String] = [:]) throws -> (URL, URL) {
        let c = MetadataCase(
            id: name, dir: name, files: files, override: nil, modelName: nil, total: 0, shared: 0, expert: 0,
            expertCount: 0)
        let f = try makeFolder(c)
        return (f.root, f.dir)
    }

    @Test(.tags(.golden), .fullTier) func smolLM2WithoutCard() throws {
        let (root, dir) = try folder("smollm2-135m-instruct")
        defer { try? FileManager.default.removeItem(at: root) }
        let m = try ModelMetadata.load(directory: dir, totalParameters: 134_515_008)
        #expect(m.name == "Smollm2 135m Instruct")
        #expect(m.finetune == "instruct")
        #expect(m.basename == "smollm2")
        #expect(m.sizeLabel == "135M")
        #expect(m.entries().map(\.0) == ["general.name", "general.finetune", "general.basename", "general.size_label"])
        #expect(m.defaultFileName(outtype: "BF16") == "smollm2-135M-instruct-BF16.gguf")
    }

    @Test func modelNameOverridesEverything() throws {
        let (root, dir) = try folder("Llama-3.2-1B-Instruct")
        defer { try? FileManager.default.removeItem(at: root) }
        let m = try ModelMetadata.load(directory: dir, modelName: "X", totalParameters: 1_235_814_400)
        #expect(m.name == "X")
        #expect(m.basename == "Llama-3.2")
        #expect(m.defaultFileName(outtype: "q8_0") == "Llama-3.2-1B-Instruct-Q8_0.gguf")
    }

    @Test func invalidOverrideNamesTheFile() throws {
        let (root, dir) = try folder("m-7b")
        defer { try? FileManager.default.removeItem(at: root) }
        let o = root.appendingPathComponent("meta.json")
        try Data("{bad".utf8).write(to: o)
        do {
            _ = try ModelMetadata.load(directory: dir, overrideFile: o, totalParameters: 7_000_000_000)
            Issue.record("expected an error")
        } catch let e as ModelMetadataError {
            guard case let .invalidJSON(path, _) = e else { Issue.record("wrong error \(e)"); return }
            #expect(path == o.path)
            #expect(e.description.contains("meta.json"))
        }
    }

    @Test func missingOverrideFileIsIgnored() throws {
        let (root, dir) = try folder("m-7b")
        defer { try? FileManager.default.removeItem(at: root) }
        let m = try ModelMetadata.load(
            directory: dir, overrideFile: root.appendingPathComponent("nope.json"), totalParameters: 0)
        #expect(m.name == "M 7b")
        #expect(m.sizeLabel == "7B")
    }

    @Test func pythonStringHelpers() {
        #expect(PythonString.title("abc1def o'neil") == "Abc1Def O'Neil")
        #expect(PythonString.title("ßa") == "Ssa")
        #expect(PythonString.isLower("abc1") && !PythonString.isLower("123") && !PythonString.isLower("aB"))
        #expect(PythonString.splitLines("a\r\nb\rc\u{2028}d\n") == ["a", "b", "c", "d"])
        #expect(ModelNaming.idToTitle("  my-model v1.2 7b  ") == "My Model v1.2 7b")
    }

    @Test func yamlScalarTyping() throws {
        #expect(ModelCardYAML.resolvePlain("1.0") == .float(1.0))
        #expect(ModelCardYAML.resolvePlain("1e5") == .str("1e5"))
        #expect(ModelCardYAML.resolvePlain("1.0e+5") == .float(100000))
        #expect(ModelCardYAML.resolvePlain("017") == .int(15))
        #expect(ModelCardYAML.resolvePlain("0x1F") == .int(31))
        #expect(ModelCardYAML.resolvePlain("1:30") == .int(90))
        #expect(ModelCardYAML.resolvePlain("yes") == .bool(true))
        #expect(ModelCardYAML.resolvePlain("~") == .none)
        #expect(ModelCardYAML.resolvePlain("2024-01-01") == .other("datetime"))
        #expect(ModelCardYAML.resolvePlain("v1.0") == .str("v1.0"))
    }
}
