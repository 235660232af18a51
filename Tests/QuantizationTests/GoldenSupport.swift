import Foundation
import KilnTestSupport

@testable import Quantization

/// Locates and reads `../shared/golden/quant` (the bytes llama.cpp's quantizer wrote; see its README.md).
enum Golden {
    /// The golden folder, `golden/quant` in ``TestEnvironment/shared``.
    static let folder: URL? = {
        guard let shared = try? TestEnvironment.shared else { return nil }
        let folder = shared.appendingPathComponent("golden/quant")
        return FileManager.default.fileExists(atPath: folder.appendingPathComponent("manifest.tsv").path) ? folder : nil
    }()

    /// One line of `manifest.tsv`.
    struct Entry: Sendable, CustomStringConvertible {
        let dataset: String
        let rows: Int
        let columns: Int
        let typeName: String
        let imatrix: Bool
        let file: String
        let bytes: Int
        var description: String { "\(dataset)/\(file)" }
        var type: GGMLType { GGMLType(name: typeName)! }
    }

    static let manifest: [Entry] = {
        guard let folder,
            let text = try? String(contentsOf: folder.appendingPathComponent("manifest.tsv"), encoding: .utf8)
        else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: "\t").map(String.init)
            guard f.count == 7, let rows = Int(f[1]), let cols = Int(f[2]), let bytes = Int(f[6]) else { return nil }
            return Entry(
                dataset: f[0], rows: rows, columns: cols, typeName: f[3], imatrix: f[4] == "1", file: f[5],
                bytes: bytes)
        }
    }()

    /// Entries whose `.bin` has a `.dequant.f32` next to it.
    static let dequantEntries: [Entry] = manifest.filter { !$0.imatrix }

    static func data(_ dataset: String, _ name: String) throws -> Data {
        guard let folder else { throw CocoaError(.fileNoSuchFile) }
        return try Data(contentsOf: folder.appendingPathComponent(dataset).appendingPathComponent(name))
    }

    static func floats(_ dataset: String, _ name: String) throws -> [Float] {
        let d = try data(dataset, name)
        return d.withUnsafeBytes { raw in
            (0..<(d.count / 4)).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
            }
        }
    }

    /// A short account of where two byte strings differ ("" when equal).
    static func difference(_ got: [UInt8], _ want: [UInt8], blockBytes: Int) -> String {
        guard got.count == want.count else { return "length \(got.count) != \(want.count)" }
        let diffs = zip(got, want).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        guard let first = diffs.first else { return "" }
        let blocks = Set(diffs.map { $0 / blockBytes })
        return
            "\(diffs.count) bytes differ in \(blocks.count) blocks; first at byte \(first) (block \(first / blockBytes), "
            + "offset \(first % blockBytes)): got \(got[first]) want \(want[first])"
    }
}
