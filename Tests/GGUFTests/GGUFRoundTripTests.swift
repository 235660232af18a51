import Foundation
import KilnTestSupport
import Quantization
import Testing

@testable import GGUF

@Suite("GGUF writer and reader")
struct GGUFRoundTripTests {
    /// The worked example of spec §6.4 (produced there with gguf-py): 480 bytes, laid out as listed.
    @Test("writes the spec's worked example byte for byte")
    func workedExample() throws {
        let folder = TemporaryFolder()
        let url = folder.file("example.gguf")
        var kv = GGUFMetadata()
        kv.set("general.architecture", .string("llama"))
        kv.set("llama.block_count", .uint32(1))
        kv.set("tokenizer.ggml.tokens", .array(.string(["a", "bc"])))
        kv.set("tokenizer.ggml.add_bos_token", .bool(true))
        let tensors = [
            GGUFTensorInfo(name: "output_norm.weight", dimensions: [3], type: .f32),
            GGUFTensorInfo(name: "token_embd.weight", dimensions: [32, 2], type: .f16)
        ]
        let writer = try GGUFWriter(destination: url, metadata: kv, tensors: tensors)
        let norm: [Float] = [0, 1, 2]
        try norm.withUnsafeBytes { try writer.writeTensorData($0) }
        let zeros = [UInt8](repeating: 0, count: 128)
        try zeros.withUnsafeBytes { try writer.writeTensorData($0) }
        try writer.finish()

        let bytes = [UInt8](try Data(contentsOf: url))
        #expect(bytes.count == 480)
        var expected: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { expected += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { expected += $0 } }
        func str(_ s: String) { u64(UInt64(s.utf8.count)); expected += Array(s.utf8) }
        expected += Array("GGUF".utf8); u32(3); u64(2); u64(4)
        str("general.architecture"); u32(8); str("llama")
        str("llama.block_count"); u32(4); u32(1)
        str("tokenizer.ggml.tokens"); u32(9); u32(8); u64(2); str("a"); str("bc")
        str("tokenizer.ggml.add_bos_token"); u32(7); expected.append(1)
        str("output_norm.weight"); u32(1); u64(3); u32(0); u64(0)
        str("token_embd.weight"); u32(2); u64(32); u64(2); u32(1); u64(32)
        #expect(expected.count <= 0x140)
        expected += [UInt8](repeating: 0, count: 0x140 - expected.count)
        expected += [0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40] + [UInt8](repeating: 0, count: 20)
        expected += [UInt8](repeating: 0, count: 128)
        #expect(bytes == expected)

        let file = try GGUFFile(url: url)
        #expect(file.metadata == kv)
        #expect(file.tensors.map(\.name) == ["output_norm.weight", "token_embd.weight"])
        #expect(file.tensors[1].offset == 32)
        #expect(file.dataOffset == 0x140)
        #expect(Array(file.data(for: file.tensors[0])) == [0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40])
    }

    @Test("every value type round-trips")
    func valueTypes() throws {
        let folder = TemporaryFolder()
        let url = folder.file("values.gguf")
        var kv = GGUFMetadata()
        kv.set("u8", .uint8(200)); kv.set("i8", .int8(-5)); kv.set("u16", .uint16(65000)); kv.set("i16", .int16(-300))
        kv.set("u32", .uint32(4_000_000_000)); kv.set("i32", .int32(-7)); kv.set("f32", .float32(-0.5))
        kv.set("bool", .bool(false)); kv.set("s", .string("héllo ✓")); kv.set("u64", .uint64(.max))
        kv.set("i64", .int64(.min)); kv.set("f64", .float64(1e300))
        kv.set("a.u8", .array(.uint8([1, 2]))); kv.set("a.i32", .array(.int32([-1, 3])))
        kv.set("a.f32", .array(.float32([1.5, -2]))); kv.set("a.bool", .array(.bool([true, false])))
        kv.set("a.s", .array(.string(["", "x"]))); kv.set("a.f64", .array(.float64([2.25])))
        kv.set("a.empty", .array(.int64([])))
        let writer = try GGUFWriter(destination: url, metadata: kv, tensors: [])
        try writer.finish()
        #expect(try GGUFFile(url: url).metadata == kv)
    }

    @Test("the C update rule moves a key to the end; gguf-py's keeps its place")
    func updateRules() {
        var kv = GGUFMetadata([("a", .uint32(1)), ("b", .uint32(2)), ("c", .uint32(3))])
        kv.set("a", .uint32(9))
        #expect(kv.keys == ["a", "b", "c"])
        kv.moveToEnd("a", .uint32(10))
        #expect(kv.keys == ["b", "c", "a"])
        #expect(kv["a"] == .uint32(10))
    }

    @Test("an unfinished writer leaves no file behind")
    func noPartialOutput() throws {
        let folder = TemporaryFolder()
        let url = folder.file("partial.gguf")
        do {
            let writer = try GGUFWriter(
                destination: url, metadata: GGUFMetadata(),
                tensors: [GGUFTensorInfo(name: "t", dimensions: [4], type: .f32)])
            let two: [Float] = [1, 2]
            try two.withUnsafeBytes { try writer.appendTensorData($0) }
            #expect(throws: GGUFError.self) { try writer.finish() }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).isEmpty)
    }

    @Test("refuses an existing output unless told to overwrite")
    func existingOutput() throws {
        let folder = TemporaryFolder()
        let url = folder.file("exists.gguf")
        try Data("x".utf8).write(to: url)
        #expect(throws: (any Error).self) { try GGUFWriter(destination: url, metadata: GGUFMetadata(), tensors: []) }
        let w = try GGUFWriter(destination: url, metadata: GGUFMetadata(), tensors: [], overwrite: true)
        try w.finish()
        #expect(try GGUFFile(url: url).tensors.isEmpty)
    }
}

@Suite("GGUF reader refuses bad files")
struct GGUFBadInputTests {
    func validFile(_ folder: TemporaryFolder) throws -> [UInt8] {
        let url = folder.file("ok.gguf")
        var kv = GGUFMetadata()
        kv.set("general.architecture", .string("llama"))
        let w = try GGUFWriter(
            destination: url, metadata: kv, tensors: [GGUFTensorInfo(name: "w", dimensions: [32, 2], type: .q8_0)],
            overwrite: true)
        try [UInt8](repeating: 0, count: 68).withUnsafeBytes { try w.writeTensorData($0) }
        try w.finish()
        return [UInt8](try Data(contentsOf: url))
    }

    func open(_ bytes: [UInt8], _ folder: TemporaryFolder) throws(GGUFError) -> GGUFFile {
        let url = folder.file("bad.gguf")
        try? Data(bytes).write(to: url)
        return try GGUFFile(url: url)
    }

    @Test("truncated at every length") func truncated() throws {
        let folder = TemporaryFolder()
        let bytes = try validFile(folder)
        for n in [0, 3, 8, 20, 40, bytes.count - 40] {  // the last cut lands inside the tensor data, before its padding
            #expect(throws: GGUFError.self) { try open(Array(bytes.prefix(n)), folder) }
        }
        _ = try open(bytes, folder)
    }

    @Test("bad magic and version") func magicAndVersion() throws {
        let folder = TemporaryFolder()
        var bytes = try validFile(folder)
        bytes[0] = 0x47 ^ 0xff
        #expect {
            try open(bytes, folder)
        } throws: { ($0 as? GGUFError).map { if case .badMagic = $0 { true } else { false } } ?? false }
        bytes = try validFile(folder)
        bytes[4] = 1
        #expect {
            try open(bytes, folder)
        } throws: { ($0 as? GGUFError).map { if case .unsupportedVersion(_, 1) = $0 { true } else { false } } ?? false }
    }

    @Test("lying counts and types") func lyingHeader() throws {
        let folder = TemporaryFolder()
        var bytes = try validFile(folder)
        bytes[8] = 0xff; bytes[9] = 0xff  // tensor count
        #expect(throws: GGUFError.self) { try open(bytes, folder) }
        bytes = try validFile(folder)
        // value type of the first key: offset 24 + 8 + 20
        bytes[52] = 99
        #expect {
            try open(bytes, folder)
        } throws: { ($0 as? GGUFError).map { if case .invalidValueType = $0 { true } else { false } } ?? false }
    }
}
