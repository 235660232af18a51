import Foundation
import KilnTestSupport
import Testing

@testable import Tokenization

/// Golden-file check: the tokenizer block for SmolLM2-135M-Instruct must match what llama.cpp's
/// convert_hf_to_gguf.py wrote (keys, order, types, values; long arrays by count and SHA-256).
@Suite("SmolLM2 golden tokenizer metadata", .tags(.golden), .fullTier)
struct SmolLM2GoldenTests {
    /// A golden `metadata` item.
    struct GoldenEntry {
        let key: String
        let type: String
        let value: Any?
        let count: Int?
        let sha256: String?
    }

    static func goldenTokenizerEntries() throws -> [GoldenEntry] {
        let data = try Data(contentsOf: try TestPaths.smolLM2Golden)
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let metadata = try #require(root["metadata"] as? [[String: Any]])
        return metadata.compactMap { item in
            guard let key = item["key"] as? String, key.hasPrefix("tokenizer.") else { return nil }
            return GoldenEntry(
                key: key, type: item["type"] as? String ?? "", value: item["value"],
                count: item["count"] as? Int, sha256: item["sha256_json"] as? String)
        }
    }

    /// What the Llama architecture's `set_vocab` does around `_set_vocab_gpt2` for this checkpoint.
    static func kilnEntries() throws -> [TokenizerMetadataEntry] {
        let files = try TokenizerFiles.load(directory: try TestPaths.smolLM2Directory)
        var entries: [TokenizerMetadataEntry] = []
        if let prefix = files.addPrefixSpace { entries.set(TokenizerKey.addSpacePrefix, .bool(prefix)) }
        entries.merge(try TokenizerMetadata.gpt2(files: files))
        if files.configVocabSize == 49152 { entries.set("tokenizer.ggml.add_bos_token", .bool(false)) }
        return entries
    }

    static func typeName(_ value: TokenizerMetadataValue) -> String {
        switch value {
        case .string: "STRING"
        case .bool: "BOOL"
        case .uint32: "UINT32"
        case .stringArray: "ARRAY[STRING]"
        case .float32Array: "ARRAY[FLOAT32]"
        case .int32Array: "ARRAY[INT32]"
        }
    }

    static func count(_ value: TokenizerMetadataValue) -> Int? {
        switch value {
        case .stringArray(let a): a.count
        case .float32Array(let a): a.count
        case .int32Array(let a): a.count
        default: nil
        }
    }

    @Test("keys appear in the converter's order")
    func keyOrder() throws {
        let golden = try Self.goldenTokenizerEntries()
        let ours = try Self.kilnEntries()
        #expect(ours.map(\.key) == golden.map(\.key))
    }

    @Test("every tokenizer value and type matches the golden file")
    func values() throws {
        let golden = try Self.goldenTokenizerEntries()
        let ours = try Self.kilnEntries()
        for expected in golden {
            let value = try #require(ours[key: expected.key], "missing \(expected.key)")
            #expect(Self.typeName(value) == expected.type, "\(expected.key)")
            if let sha = expected.sha256 {
                #expect(Self.count(value) == expected.count, "\(expected.key) count")
                #expect(SHA256.hex(PythonJSON.dumps(value)) == sha, "\(expected.key) sha256")
                continue
            }
            switch value {
            case .string(let s):
                let text = try #require(expected.value as? String)
                #expect(s.utf8.elementsEqual(text.utf8), "\(expected.key)")
            case .bool(let b):
                #expect((expected.value as? Bool) == b, "\(expected.key)")
            case .uint32(let v):
                #expect((expected.value as? Int) == Int(v), "\(expected.key)")
            default:
                let list = try #require(expected.value as? [Any])
                #expect(
                    PythonJSON.dumps(value) == PythonJSON.dumps(Self.goldenArray(list, like: value)), "\(expected.key)")
            }
        }
    }

    static func goldenArray(_ list: [Any], like value: TokenizerMetadataValue) -> TokenizerMetadataValue {
        switch value {
        case .stringArray: .stringArray(list.compactMap { $0 as? String })
        case .int32Array: .int32Array(list.compactMap { ($0 as? Int).map(Int32.init) })
        default: .float32Array(list.compactMap { ($0 as? Double).map(Float.init) })
        }
    }

    @Test("SmolLM2 is identified as the smollm pre-tokenizer")
    func preTokenizer() throws {
        let files = try TokenizerFiles.load(directory: try TestPaths.smolLM2Directory)
        #expect(try PreTokenizerIdentification.identify(files: files) == "smollm")
    }

    @Test("the SHA-256 helper and Python JSON form agree with Python")
    func helpers() {
        // python3 -c 'import json,hashlib;print(hashlib.sha256(json.dumps(["a\n\"é",1]...)'
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(PythonJSON.dumps(.stringArray(["a\"b", "\u{01}\n", "é"])) == #"["a\"b", "\u0001\n", "é"]"#)
        #expect(PythonJSON.dumps(.float32Array([-1000, 0.5, -10000])) == "[-1000.0, 0.5, -10000.0]")
    }
}
