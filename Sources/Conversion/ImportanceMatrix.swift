import Foundation
import GGUF

/// An importance matrix as llama-quantize loads it (`load_imatrix`): one weight per column (times experts)
/// for each tensor name, already normalized.
///
/// Two file formats are read: llama-imatrix's GGUF (`<name>.in_sum2` sums divided by `<name>.counts` per
/// expert, 1 where a count is zero) and the legacy `.dat` (stored values divided by the call count).
public struct ImportanceMatrix: Sendable {
    public var entries: [String: [Float]]
    public var datasets: [String]
    public var chunkCount: Int
    public let path: String

    public init(url: URL) throws {
        path = url.path
        if let gguf = try? GGUFFile(url: url) {
            (entries, datasets, chunkCount) = try Self.loadGGUF(gguf)
        } else {
            (entries, datasets, chunkCount) = try Self.loadLegacy(url)
        }
    }

    static func loadGGUF(_ f: GGUFFile) throws -> ([String: [Float]], [String], Int) {
        let path = f.url.path
        guard !f.tensors.isEmpty else { throw ImportanceMatrixError.invalid(path: path, reason: "no tensors") }
        let datasets: [String]
        if case let .array(.string(d))? = f.metadata["imatrix.datasets"] { datasets = d } else { datasets = [] }
        guard f.metadata.contains("imatrix.datasets"), f.metadata.contains("imatrix.chunk_count"),
            f.metadata.contains("imatrix.chunk_size")
        else {
            throw ImportanceMatrixError.invalid(
                path: path, reason: "missing imatrix.datasets, imatrix.chunk_count or imatrix.chunk_size")
        }
        let chunks = Int(f.metadata["imatrix.chunk_count"]?.integerValue ?? 0)
        var sums: [String: GGUFTensorInfo] = [:], counts: [String: GGUFTensorInfo] = [:]
        for t in f.tensors {
            if t.name.hasSuffix(".in_sum2") {
                sums[String(t.name.dropLast(8))] = t
            } else if t.name.hasSuffix(".counts") {
                counts[String(t.name.dropLast(7))] = t
            }
        }
        var entries: [String: [Float]] = [:]
        for name in Set(sums.keys).union(counts.keys) {
            guard let s = sums[name], let c = counts[name], s.type == .f32, c.type == .f32 else {
                throw ImportanceMatrixError.invalid(
                    path: path, reason: "\(name) needs F32 .in_sum2 and .counts tensors")
            }
            let sv = Array(f.data(for: s).bindMemory(to: Float.self))
            let cv = Array(f.data(for: c).bindMemory(to: Float.self)).map {
                Float(Int64(($0).rounded(.toNearestOrAwayFromZero)))
            }
            guard !cv.isEmpty, sv.count % cv.count == 0 else {
                throw ImportanceMatrixError.invalid(
                    path: path, reason: "\(name): \(sv.count) sums do not split into \(cv.count) counts")
            }
            let ne0 = sv.count / cv.count
            var e = [Float](repeating: 1, count: sv.count)
            for j in 0..<cv.count where cv[j] > 0 {
                for i in 0..<ne0 { e[j * ne0 + i] = sv[j * ne0 + i] / cv[j] }
            }
            entries[name] = e
        }
        return (entries, datasets, chunks)
    }

    static func loadLegacy(_ url: URL) throws -> ([String: [Float]], [String], Int) {
        let data = try Data(contentsOf: url)
        var o = 0
        func i32() throws -> Int32 {
            guard o + 4 <= data.count else {
                throw ImportanceMatrixError.invalid(path: url.path, reason: "truncated at byte \(o)")
            }
            defer { o += 4 }
            return data.withUnsafeBytes { Int32(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: Int32.self)) }
        }
        func bytes(_ n: Int) throws -> Data {
            guard n >= 0, o + n <= data.count else {
                throw ImportanceMatrixError.invalid(path: url.path, reason: "truncated at byte \(o)")
            }
            defer { o += n }
            return data.subdata(in: o..<(o + n))
        }
        let n = try i32()
        guard n >= 1 else {
            throw ImportanceMatrixError.invalid(
                path: url.path, reason: "not a GGUF imatrix and not a legacy .dat (entry count \(n))")
        }
        var entries: [String: [Float]] = [:]
        for _ in 0..<n {
            let len = try i32()
            guard let name = String(data: try bytes(Int(len)), encoding: .utf8) else {
                throw ImportanceMatrixError.invalid(path: url.path, reason: "entry name is not UTF-8")
            }
            let ncall = try i32()
            let nval = try i32()
            guard nval >= 1 else {
                throw ImportanceMatrixError.invalid(path: url.path, reason: "\(name) has \(nval) values")
            }
            let raw = try bytes(Int(nval) * 4)
            let values = raw.withUnsafeBytes { b in
                (0..<Int(nval)).map {
                    Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
                }
            }
            entries[name] = ncall > 0 ? values.map { $0 / Float(ncall) } : values
        }
        var chunks = 0
        var datasets: [String] = []
        if o < data.count {
            chunks = Int(try i32())
            if let len = try? i32(), len > 0, let d = try? bytes(Int(len)) {
                datasets.append(String(decoding: d.prefix { $0 != 0 }, as: UTF8.self))
            }
        }
        return (entries, datasets, chunks)
    }
}

public enum ImportanceMatrixError: Error, Equatable, CustomStringConvertible {
    case invalid(path: String, reason: String)
    case sizeMismatch(path: String, tensor: String, expected: Int, actual: Int)
    case nonFinite(path: String, tensor: String)

    public var description: String {
        switch self {
        case let .invalid(path, reason): "\(path): not a usable importance matrix: \(reason)"
        case let .sizeMismatch(path, tensor, expected, actual):
            "\(path): entry \(tensor) has \(actual) weights but the model's tensor needs \(expected) (was it computed for another model?)"
        case let .nonFinite(path, tensor): "\(path): entry \(tensor) holds NaN or Inf"
        }
    }
}
