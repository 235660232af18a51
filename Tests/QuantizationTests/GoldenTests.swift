import Foundation
import KilnTestSupport
import Testing

@testable import Quantization

/// Every file under the golden folder, byte for byte.
@Suite("Golden vectors from llama.cpp", .tags(.golden))
struct GoldenTests {
    @Test("the golden folder and its manifest are present")
    func folderPresent() throws {
        let folder = try #require(Golden.folder, "../shared/golden/quant not found (set KILN_SHARED)")
        #expect(FileManager.default.fileExists(atPath: folder.path))
        #expect(Golden.manifest.count > 100)
        #expect(Golden.dequantEntries.count == 81)
    }

    @Test("quantize (fast path, 1 and 2 threads) reproduces the golden bytes", arguments: Golden.manifest)
    func quantizeFast(_ entry: Golden.Entry) throws {
        let want = [UInt8](try Golden.data(entry.dataset, entry.file))
        for threads in [1, 2] {
            let got = try encode(entry, threads: threads, reference: false)
            let diff = Golden.difference(got, want, blockBytes: entry.type.typeSize)
            #expect(diff.isEmpty, "\(entry) threads=\(threads): \(diff)")
        }
    }

    @Test("quantizeReference reproduces the golden bytes", arguments: Golden.manifest)
    func quantizeReference(_ entry: Golden.Entry) throws {
        let want = [UInt8](try Golden.data(entry.dataset, entry.file))
        let got = try encode(entry, threads: 1, reference: true)
        let diff = Golden.difference(got, want, blockBytes: entry.type.typeSize)
        #expect(diff.isEmpty, "\(entry): \(diff)")
    }

    @Test("dequantize reproduces the golden floats bit for bit", arguments: Golden.dequantEntries)
    func dequantize(_ entry: Golden.Entry) throws {
        let blocks = [UInt8](try Golden.data(entry.dataset, entry.file))
        let stem = entry.file.replacingOccurrences(of: ".bin", with: "")
        let want = try Golden.floats(entry.dataset, "\(stem).dequant.f32").map(\.bitPattern)
        let count = entry.rows * entry.columns
        #expect(want.count == count)
        for reference in [false, true] {
            var out = [Float](repeating: 0, count: count)
            try blocks.withUnsafeBytes { raw in
                try out.withUnsafeMutableBufferPointer { o in
                    if reference {
                        try Quantizer.dequantizeReference(
                            entry.type, source: raw.baseAddress!, count: count, destination: o.baseAddress!)
                    } else {
                        try Quantizer.dequantize(
                            entry.type, source: raw.baseAddress!, count: count, destination: o.baseAddress!)
                    }
                }
            }
            let got = out.map(\.bitPattern)
            let bad = zip(got, want).enumerated().filter { $0.element.0 != $0.element.1 }
            #expect(
                bad.isEmpty,
                "\(entry) reference=\(reference): \(bad.count) floats differ, first at \(bad.first?.offset ?? -1)")
        }
    }

    private func encode(_ entry: Golden.Entry, threads: Int, reference: Bool) throws -> [UInt8] {
        let x = try Golden.floats(entry.dataset, "input.f32")
        #expect(x.count == entry.rows * entry.columns)
        let qw: [Float]? = entry.imatrix ? try Golden.floats(entry.dataset, "imatrix.f32") : nil
        var out = [UInt8](repeating: 0xA5, count: entry.bytes)
        try x.withUnsafeBufferPointer { xp in
            try out.withUnsafeMutableBytes { op in
                try withOptionalPointer(qw) { w in
                    if reference {
                        try Quantizer.quantizeReference(
                            entry.type, rows: entry.rows, columns: entry.columns, source: xp.baseAddress!,
                            destination: op.baseAddress!, destinationCount: op.count, importance: w)
                    } else {
                        try Quantizer.quantize(
                            entry.type, rows: entry.rows, columns: entry.columns, source: xp.baseAddress!,
                            destination: op.baseAddress!, destinationCount: op.count, importance: w, threads: threads)
                    }
                }
            }
        }
        return out
    }
}

/// Calls `body` with a pointer to `array`'s storage, or nil.
func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
    guard let array else { return try body(nil) }
    return try array.withUnsafeBufferPointer { try body($0.baseAddress) }
}
