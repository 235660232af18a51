import FileAccess
import Foundation
import GGUF

/// The raw statistic behind an importance matrix, as llama-imatrix keeps it: per weight, the sum of the
/// squared activations of every column (`in_sum2`, one block of columns per matrix or expert) and how many
/// activation rows were summed (`counts`, one per matrix or expert).
///
/// It is read from and written to llama-imatrix's GGUF format (and the legacy `.dat`), merged as
/// `llama-imatrix --in-file` merges, and summarized as `--show-statistics` does. ``ImportanceMatrix`` is the
/// normalized form the quantizer reads.
public struct ImportanceStatistics: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        /// Σ x² per column, `columns × counts.count` floats (matrix- or expert-major).
        public var sums: [Float]
        /// Activation rows summed, per matrix or expert.
        public var counts: [Int64]

        public init(sums: [Float], counts: [Int64]) {
            self.sums = sums
            self.counts = counts
        }

        public var columns: Int { counts.isEmpty ? 0 : sums.count / counts.count }
    }

    public var entries: [String: Entry] = [:]
    /// The calibration texts, earlier merged files' first, as llama-imatrix records them.
    public var datasets: [String] = []
    /// Tokens per chunk (the context length of the run).
    public var chunkSize: Int

    public init(chunkSize: Int) {
        self.chunkSize = chunkSize
    }

    /// Chunks the statistic covers: the largest count over the chunk size (llama-imatrix's `m_last_chunk`).
    public var chunkCount: Int {
        guard chunkSize > 0 else { return 0 }
        let largest = entries.values.lazy.flatMap(\.counts).max() ?? 0
        return Int(largest / Int64(chunkSize))
    }

    /// Entry names in the order llama-imatrix writes them (bytewise).
    public var sortedNames: [String] { entries.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
}

// MARK: - Reading and merging

extension ImportanceStatistics {
    /// Adds the statistic in `url` (a GGUF imatrix, or a legacy `.dat` whose normalized values are scaled back
    /// by this statistic's chunk size, as llama-imatrix does) to this one.
    public mutating func merge(contentsOf url: URL) throws(ImportanceMatrixError) {
        let loaded: (entries: [(String, Entry)], datasets: [String])
        if let gguf = try? GGUFFile(url: url) {
            loaded = try Self.readGGUF(gguf)
        } else {
            loaded = try Self.readLegacy(url, chunkSize: chunkSize)
        }
        for (name, incoming) in loaded.entries {
            try merge(name, incoming, from: url.path)
        }
        datasets += loaded.datasets
    }

    /// Adds one entry: sums and counts add element by element (a single count is first spread over every
    /// expert of the other side).
    mutating func merge(_ name: String, _ incoming: Entry, from path: String) throws(ImportanceMatrixError) {
        guard var entry = entries[name] else {
            entries[name] = incoming
            return
        }
        if entry.counts.count == 1, incoming.counts.count > 1 {
            entry.counts = Array(repeating: entry.counts[0], count: incoming.counts.count)
        }
        guard entry.sums.count == incoming.sums.count else {
            throw .mismatch(
                path: path, tensor: name,
                reason: "\(incoming.sums.count) sums here, \(entry.sums.count) in what was loaded before")
        }
        guard entry.counts.count == incoming.counts.count else {
            throw .mismatch(
                path: path, tensor: name,
                reason: "\(incoming.counts.count) counts here, \(entry.counts.count) in what was loaded before")
        }
        for i in entry.sums.indices { entry.sums[i] += incoming.sums[i] }
        for i in entry.counts.indices { entry.counts[i] += incoming.counts[i] }
        entries[name] = entry
    }

    /// Checks every entry against the weights a model multiplies by (name → columns), naming the first
    /// entry (in file order) that the model does not have or whose size differs.
    public func check(against columns: [String: Int], path: String) throws(ImportanceMatrixError) {
        for name in sortedNames {
            let entry = entries[name]!
            guard let expected = columns[name] else {
                throw .mismatch(path: path, tensor: name, reason: "the model has no weight of that name")
            }
            guard entry.columns == expected else {
                throw .mismatch(
                    path: path, tensor: name,
                    reason: "\(entry.columns) columns here, but the model's weight has \(expected)")
            }
        }
    }

    static func readGGUF(_ f: GGUFFile) throws(ImportanceMatrixError) -> ([(String, Entry)], [String]) {
        let path = f.url.path
        guard f.tensors.count > 0 else { throw .invalid(path: path, reason: "no data in file") }
        var sums: [String: GGUFTensorInfo] = [:], counts: [String: GGUFTensorInfo] = [:]
        var order: [String] = []
        for t in f.tensors {
            if t.name.hasSuffix(".in_sum2") {
                let name = String(t.name.dropLast(".in_sum2".count))
                if sums[name] == nil, counts[name] == nil { order.append(name) }
                sums[name] = t
            } else if t.name.hasSuffix(".counts") {
                let name = String(t.name.dropLast(".counts".count))
                if sums[name] == nil, counts[name] == nil { order.append(name) }
                counts[name] = t
            }
        }
        var result: [(String, Entry)] = []
        for name in order {
            guard let s = sums[name], let c = counts[name] else {
                throw .invalid(path: path, reason: "mismatched sums and counts for \(name)")
            }
            guard s.type == .f32, c.type == .f32 else {
                throw .invalid(path: path, reason: "sums and counts for \(name) must be F32")
            }
            let sv = Array(f.data(for: s).bindMemory(to: Float.self))
            let counts = f.data(for: c).bindMemory(to: Float.self)
            // Counts are whole numbers of activations; anything else (negative, NaN, beyond Int64) is a bad file.
            guard counts.allSatisfy({ $0 >= 0 && $0 < 0x1p62 }) else {
                throw .invalid(path: path, reason: "\(name).counts holds a value that is not a count")
            }
            let cv = counts.map { Int64($0.rounded(.toNearestOrAwayFromZero)) }
            guard !cv.isEmpty, sv.count % cv.count == 0 else {
                throw .invalid(path: path, reason: "\(name): \(sv.count) sums do not split into \(cv.count) counts")
            }
            result.append((name, Entry(sums: sv, counts: cv)))
        }
        var datasets: [String] = []
        if case let .array(.string(d))? = f.metadata["imatrix.datasets"] { datasets = d }
        return (result, datasets)
    }

    static func readLegacy(_ url: URL, chunkSize: Int) throws(ImportanceMatrixError) -> ([(String, Entry)], [String]) {
        let legacy = try LegacyImatrix(url: url)
        let entries = legacy.entries.map { entry in
            let scale = Float(chunkSize)
            return (
                entry.name,
                Entry(sums: entry.values.map { $0 * scale }, counts: [Int64(entry.calls) * Int64(chunkSize)])
            )
        }
        return (entries, legacy.dataset.map { [$0] } ?? [])
    }
}

/// The legacy `.dat` layout: entries of (name, call count, values already divided by their count and
/// multiplied by the call count), then optionally the last chunk and the dataset name.
struct LegacyImatrix {
    var entries: [(name: String, calls: Int32, values: [Float])] = []
    var lastChunk = 0
    var dataset: String?

    init(url: URL) throws(ImportanceMatrixError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .invalid(path: url.path, reason: "cannot read") }
        var o = 0
        func i32() throws(ImportanceMatrixError) -> Int32 {
            guard o + 4 <= data.count else { throw .invalid(path: url.path, reason: "truncated at byte \(o)") }
            defer { o += 4 }
            return data.withUnsafeBytes { Int32(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: Int32.self)) }
        }
        func bytes(_ n: Int) throws(ImportanceMatrixError) -> Data {
            guard n >= 0, o + n <= data.count else { throw .invalid(path: url.path, reason: "truncated at byte \(o)") }
            defer { o += n }
            return data.subdata(in: o..<(o + n))
        }
        let n = try i32()
        guard n >= 1 else {
            throw .invalid(path: url.path, reason: "not a GGUF imatrix and not a legacy .dat (entry count \(n))")
        }
        for _ in 0..<n {
            let len = try i32()
            guard let name = String(data: try bytes(Int(len)), encoding: .utf8) else {
                throw .invalid(path: url.path, reason: "entry name is not UTF-8")
            }
            let calls = try i32()
            let count = try i32()
            guard count >= 1 else { throw .invalid(path: url.path, reason: "\(name) has \(count) values") }
            let raw = try bytes(Int(count) * 4)
            let values = raw.withUnsafeBytes { b in
                (0..<Int(count)).map {
                    Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
                }
            }
            entries.append((name, calls, values))
        }
        if o < data.count {
            lastChunk = Int(try i32())
            if o < data.count, let len = try? i32(), len > 0, let d = try? bytes(Int(len)) {
                dataset = String(decoding: d.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
    }
}

// MARK: - Writing

extension ImportanceStatistics {
    public enum FileFormat: String, Sendable, CaseIterable {
        case gguf, dat
    }

    /// Writes the statistic as llama-imatrix does, under a temporary name renamed when complete.
    ///
    /// GGUF: `general.type`, `imatrix.datasets`, `imatrix.chunk_count`, `imatrix.chunk_size`, then per entry
    /// (names in byte order) `NAME.in_sum2` and `NAME.counts`, F32, trailing dimensions of 1 dropped. Legacy
    /// `.dat`: entries with data, each value `sum / count · calls` where `calls` is the largest count in
    /// chunks rounded up, then the chunk count and the last dataset.
    public func write(to url: URL, format: FileFormat = .gguf, overwrite: Bool = true) throws {
        switch format {
        case .gguf: try writeGGUF(to: url, overwrite: overwrite)
        case .dat: try writeLegacy(to: url, overwrite: overwrite)
        }
    }

    private func writeGGUF(to url: URL, overwrite: Bool) throws {
        var metadata = GGUFMetadata()
        metadata.set("general.type", .string("imatrix"))
        metadata.set("imatrix.datasets", .array(.string(datasets)))
        metadata.set("imatrix.chunk_count", .uint32(UInt32(clamping: chunkCount)))
        metadata.set("imatrix.chunk_size", .uint32(UInt32(clamping: chunkSize)))
        var tensors: [GGUFTensorInfo] = []
        var payloads: [[Float]] = []
        for name in sortedNames {
            let entry = entries[name]!
            let matrices = entry.counts.count
            guard entry.sums.count > 0, matrices > 0 else { continue }
            let columns = entry.sums.count / matrices
            tensors.append(
                GGUFTensorInfo(
                    name: name + ".in_sum2", dimensions: matrices == 1 ? [columns] : [columns, matrices], type: .f32))
            tensors.append(
                GGUFTensorInfo(name: name + ".counts", dimensions: matrices == 1 ? [1] : [1, matrices], type: .f32))
            payloads.append(entry.sums)
            payloads.append(entry.counts.map { Float($0) })
        }
        let writer = try GGUFWriter(destination: url, metadata: metadata, tensors: tensors, overwrite: overwrite)
        for payload in payloads {
            try payload.withUnsafeBytes { try writer.writeTensorData($0) }
        }
        try writer.finish()
    }

    private func writeLegacy(to url: URL, overwrite: Bool) throws {
        var out: [UInt8] = []
        func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        let stored = sortedNames.filter { entries[$0]!.counts.contains { $0 > 0 } }
        i32(Int32(stored.count))
        for name in stored {
            let entry = entries[name]!
            let largest = entry.counts.max() ?? 0
            let calls = chunkSize > 0 ? (largest + Int64(chunkSize) - 1) / Int64(chunkSize) : 0
            i32(Int32(name.utf8.count))
            out.append(contentsOf: name.utf8)
            i32(Int32(calls))
            i32(Int32(entry.sums.count))
            let columns = entry.columns
            for (i, sum) in entry.sums.enumerated() {
                let count = entry.counts[i / columns]
                let value = count > 0 ? (sum / Float(count)) * Float(calls) : Float(calls)
                withUnsafeBytes(of: value.bitPattern.littleEndian) { out.append(contentsOf: $0) }
            }
        }
        i32(Int32(chunkCount))
        let dataset = datasets.last ?? ""
        i32(Int32(dataset.utf8.count))
        out.append(contentsOf: dataset.utf8)
        let file = try AtomicOutputFile(destination: url, overwrite: overwrite)
        try file.write(out)
        try file.commit()
    }
}

// MARK: - Statistics

extension ImportanceStatistics {
    /// `--show-statistics` for one tensor: over the mean squared activations `a = in_sum2 / count` of the
    /// matrices or experts that have data.
    public struct TensorSummary: Codable, Sendable, Equatable {
        public var tensor: String
        /// The block number (`blk.N.…`), or nil for other tensors.
        public var layer: Int?
        /// The part of the name that says which weight it is (`attn_q`, `ffn_down`).
        public var kind: String
        public var sumOfMeans: Float
        public var minimum: Float
        public var maximum: Float
        public var mean: Float
        public var standardDeviation: Float
        /// The fraction of columns whose mean square is above 1e-5.
        public var activeFraction: Float
        public var elements: Int
        public var entropy: Float
        public var normalizedEntropy: Float
        /// The fraction of columns more than one standard deviation above the mean.
        public var zScoreFraction: Float
        /// Cosine similarity of the raw sums with the same weight of the previous block.
        public var cosineToPreviousLayer: Float
    }

    /// Per-tensor summaries, sorted as llama-imatrix prints them (by kind, then by the sum of means, largest
    /// first), skipping tensors without data.
    public func summaries() -> [TensorSummary] {
        var result: [TensorSummary] = []
        for name in sortedNames {
            let entry = entries[name]!
            let columns = entry.columns
            var means: [Float] = []
            for (m, count) in entry.counts.enumerated() where count > 0 {
                for j in 0..<columns { means.append(entry.sums[m * columns + j] / Float(count)) }
            }
            guard !means.isEmpty else { continue }
            let n = Float(means.count)
            var sum: Float = 0, squares: Float = 0
            var minimum = Float.infinity, maximum = -Float.infinity, active = 0
            for a in means {
                sum += a
                squares += a * a
                minimum = min(minimum, a)
                maximum = max(maximum, a)
                if abs(a) > 1e-5 { active += 1 }
            }
            let mean = sum / n
            let deviation = (max(0, squares / n - mean * mean)).squareRoot()
            var entropy: Float = 0
            if sum > 0 {
                for a in means where a / sum > 0 {
                    let p = a / sum
                    entropy -= p * log2f(p)
                }
            }
            var above = 0
            if deviation > 0 { for a in means where (a - mean) / deviation > 1 { above += 1 } }
            let (layer, kind) = Self.parts(of: name)
            var cosine: Float = 0
            if let layer, layer > 0,
                let previous = entries[name.replacingOccurrences(of: "blk.\(layer).", with: "blk.\(layer - 1).")],
                previous.sums.count == entry.sums.count
            {
                var dot: Float = 0, na: Float = 0, nb: Float = 0
                for i in entry.sums.indices {
                    dot += entry.sums[i] * previous.sums[i]
                    na += entry.sums[i] * entry.sums[i]
                    nb += previous.sums[i] * previous.sums[i]
                }
                if na > 0, nb > 0 { cosine = dot / (na.squareRoot() * nb.squareRoot()) }
            }
            result.append(
                TensorSummary(
                    tensor: name, layer: layer, kind: kind, sumOfMeans: sum, minimum: minimum, maximum: maximum,
                    mean: mean, standardDeviation: deviation, activeFraction: Float(active) / n,
                    elements: means.count, entropy: entropy,
                    normalizedEntropy: means.count > 1 ? Float(Double(entropy) / log2(Double(means.count))) : 0,
                    zScoreFraction: Float(above) / n, cosineToPreviousLayer: cosine))
        }
        return result.sorted { a, b in
            a.kind != b.kind ? a.kind.utf8.lexicographicallyPrecedes(b.kind.utf8) : a.sumOfMeans > b.sumOfMeans
        }
    }

    /// Per-block averages of the summaries weighted by element count, and the blocks ranked by that
    /// importance (the weighted mean of Σ), most important first.
    public struct LayerSummary: Codable, Sendable, Equatable {
        public var layer: Int
        public var weightedSumOfMeans: Float
        public var weightedZScoreFraction: Float
        public var weightedCosine: Float
        public var rank: Int
    }

    public func layerSummaries(_ tensors: [TensorSummary]) -> [LayerSummary] {
        var totals: [Int: (n: Float, sum: Float, z: Float, cos: Float)] = [:]
        for t in tensors {
            guard let layer = t.layer else { continue }
            let n = Float(t.elements)
            var total = totals[layer] ?? (0, 0, 0, 0)
            total.n += n
            total.sum += n * t.sumOfMeans
            total.z += n * t.zScoreFraction
            total.cos += n * t.cosineToPreviousLayer
            totals[layer] = total
        }
        var layers = totals.keys.sorted().map { layer in
            let t = totals[layer]!
            return LayerSummary(
                layer: layer, weightedSumOfMeans: t.sum / t.n, weightedZScoreFraction: t.z / t.n,
                weightedCosine: t.cos / t.n, rank: 0)
        }
        let ranked = layers.indices.sorted { layers[$0].weightedSumOfMeans > layers[$1].weightedSumOfMeans }
        for (rank, i) in ranked.enumerated() { layers[i].rank = rank + 1 }
        return layers
    }

    /// `blk.12.attn_q.weight` → (12, "attn_q"); other names → (nil, the part before `.weight`).
    static func parts(of name: String) -> (layer: Int?, kind: String) {
        let pieces = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var layer: Int?
        if let b = pieces.firstIndex(of: "blk"), b + 1 < pieces.count { layer = Int(pieces[b + 1]) }
        var kind = name
        if let w = pieces.firstIndex(of: "weight"), w > 0 { kind = pieces[w - 1] }
        return (layer, kind)
    }
}
