import Foundation
import KilnTestSupport
import Testing

@testable import Safetensors

/// Builds a file from a raw header string and data, to describe lying headers precisely.
func rawFile(header: String, data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    let h = Array(header.utf8)
    withUnsafeBytes(of: UInt64(h.count).littleEndian) { out += $0 }
    return out + h + data
}

func matches(_ error: any Error, _ predicate: (SafetensorsError) -> Bool) -> Bool {
    (error as? SafetensorsError).map(predicate) ?? false
}

@Suite("safetensors reader")
struct SafetensorsReaderTests {
    @Test("reads tensors sorted by name, with metadata") func reads() throws {
        let folder = TemporaryFolder()
        let url = folder.file("model.safetensors")
        let b: [Float] = [1, 2, 3, 4, 5, 6]
        try SafetensorsWriter.write(
            [
                .init(name: "z.weight", dtype: .f32, shape: [2, 3], bytes: b.withUnsafeBytes { Array($0) }),
                .init(name: "a.weight", dtype: .bf16, shape: [2], bytes: [0, 0x3f, 0, 0x40])
            ], metadata: ["format": "pt"], to: url)
        let f = try SafetensorsFile(url: url)
        #expect(f.tensors.map(\.name) == ["a.weight", "z.weight"])
        #expect(f.metadata == ["format": "pt"])
        let z = try #require(f.tensor(named: "z.weight"))
        #expect(z.shape == [2, 3])
        #expect(Array(f.data(for: z).bindMemory(to: Float.self)) == b)
    }

    @Test("a file shorter than its header is refused") func truncatedHeader() throws {
        let folder = TemporaryFolder()
        let url = folder.file("t.safetensors")
        var bytes = rawFile(
            header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0])
        try Data(bytes.prefix(20)).write(to: url)
        #expect { try SafetensorsFile(url: url) } throws: {
            matches($0) { if case .truncatedHeader = $0 { true } else { false } }
        }
        try Data(bytes.prefix(5)).write(to: url)
        #expect { try SafetensorsFile(url: url) } throws: {
            matches($0) { if case .truncatedHeader = $0 { true } else { false } }
        }
        bytes.removeLast(2)
        try Data(bytes).write(to: url)
        #expect { try SafetensorsFile(url: url) } throws: {
            matches($0) { if case .dataOutOfBounds(_, "a", 4, 2) = $0 { true } else { false } }
        }
    }

    @Test(
        "corrupt JSON, unknown dtype, size mismatch, overlap, bad offsets",
        arguments: [
            ("{not json", "json"),
            ("[1,2]", "json"),
            ("{\"a\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}", "dtype"),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", "size"),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", "entry"),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "entry"),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", "entry"),
            (
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}",
                "overlap"
            )
        ])
    func corrupt(header: String, kind: String) throws {
        let folder = TemporaryFolder()
        let url = folder.file("c.safetensors")
        try Data(rawFile(header: header, data: [UInt8](repeating: 0, count: 8))).write(to: url)
        #expect {
            try SafetensorsFile(url: url)
        } throws: { error in
            matches(error) { e in
                switch (e, kind) {
                case (.invalidHeaderJSON, "json"), (.unknownDType, "dtype"), (.sizeMismatch, "size"),
                    (.invalidEntry, "entry"), (.overlappingData, "overlap"):
                    return "\(e)".contains(url.path)
                default: return false
                }
            }
        }
    }

    @Test("sharded checkpoints: index checked against shards") func sharded() throws {
        let folder = TemporaryFolder()
        let one: [UInt8] = [0, 0, 0x80, 0x3f]
        try SafetensorsWriter.write(
            [.init(name: "b", dtype: .f32, shape: [1], bytes: one)], to: folder.file("model-00002-of-00002.safetensors")
        )
        try SafetensorsWriter.write(
            [.init(name: "a", dtype: .f32, shape: [1], bytes: one)], to: folder.file("model-00001-of-00002.safetensors")
        )
        let index =
            "{\"metadata\":{},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}"
        try Data(index.utf8).write(to: folder.file("model.safetensors.index.json"))
        let c = try SafetensorsCheckpoint(directory: folder.url)
        #expect(c.orderedTensors.map(\.tensor.name) == ["a", "b"])

        let missing =
            "{\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00003-of-00003.safetensors\"}}"
        try Data(missing.utf8).write(to: folder.file("model.safetensors.index.json"))
        #expect { try SafetensorsCheckpoint(directory: folder.url) } throws: {
            matches($0) { if case .missingShard(_, "model-00003-of-00003.safetensors") = $0 { true } else { false } }
        }
        let wrong =
            "{\"weight_map\":{\"a\":\"model-00002-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}"
        try Data(wrong.utf8).write(to: folder.file("model.safetensors.index.json"))
        #expect { try SafetensorsCheckpoint(directory: folder.url) } throws: {
            matches($0) { if case .indexMismatch = $0 { true } else { false } }
        }
    }

    @Test("a folder without weights") func noWeights() throws {
        let folder = TemporaryFolder()
        #expect { try SafetensorsCheckpoint(directory: folder.url) } throws: {
            matches($0) { if case .noWeights = $0 { true } else { false } }
        }
    }
}
