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
        guard f.metadata.contains("imatrix.datasets"), f.metadata.contains("imatrix.chunk_count"),
            f.metadata.contains("imatrix.chunk_size")
        else {
            throw ImportanceMatrixError.invalid(
                path: f.url.path, reason: "missing imatrix.datasets, imatrix.chunk_count or imatrix.chunk_size")
        }
        let (raw, datasets) = try ImportanceStatistics.readGGUF(f)
        var entries: [String: [Float]] = [:]
        for (name, entry) in raw {
            let columns = entry.columns
            var e = [Float](repeating: 1, count: entry.sums.count)
            for (m, count) in entry.counts.enumerated() where count > 0 {
                for i in 0..<columns { e[m * columns + i] = entry.sums[m * columns + i] / Float(count) }
            }
            entries[name] = e
        }
        return (entries, datasets, Int(f.metadata["imatrix.chunk_count"]?.integerValue ?? 0))
    }

    static func loadLegacy(_ url: URL) throws -> ([String: [Float]], [String], Int) {
        let legacy = try LegacyImatrix(url: url)
        var entries: [String: [Float]] = [:]
        for e in legacy.entries {
            entries[e.name] = e.calls > 0 ? e.values.map { $0 / Float(e.calls) } : e.values
        }
        return (entries, legacy.dataset.map { [$0] } ?? [], legacy.lastChunk)
    }
}

public enum ImportanceMatrixError: Error, Equatable, CustomStringConvertible {
    case invalid(path: String, reason: String)
    case sizeMismatch(path: String, tensor: String, expected: Int, actual: Int)
    case nonFinite(path: String, tensor: String)
    /// An entry that does not fit what it is combined with (another file, or the model's weight).
    case mismatch(path: String, tensor: String, reason: String)

    public var description: String {
        switch self {
        case let .invalid(path, reason): "\(path): not a usable importance matrix: \(reason)"
        case let .sizeMismatch(path, tensor, expected, actual):
            "\(path): entry \(tensor) has \(actual) weights but the model's tensor needs \(expected) (was it computed for another model?)"
        case let .nonFinite(path, tensor): "\(path): entry \(tensor) holds NaN or Inf"
        case let .mismatch(path, tensor, reason): "\(path): entry \(tensor) does not fit: \(reason)"
        }
    }
}
