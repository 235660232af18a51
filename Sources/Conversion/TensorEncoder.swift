import Architectures
import GGUF
import Quantization
import Safetensors

/// A tensor whose rows can be produced as F32, a chunk at a time.
protocol RowSource {
    /// The name errors report (the checkpoint's name for converted tensors).
    var displayName: String { get }
    var rowLength: Int { get }
    var rowCount: Int { get }
    /// Writes rows `range` as F32, `rowLength` values each, into `out`.
    func loadRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) throws
    /// Releases pages of the source once the tensor is done.
    func finished()
}

/// Produces tensors' output bytes in chunks of rows and appends them to a writer.
///
/// Buffers are reused across tensors, so memory stays at a few chunks whatever the model size. Rows are
/// checked (NaN, ±Inf, F16 overflow) before they are encoded by the `Quantization` module.
struct TensorEncoder {
    let threads: Int
    /// Target size of one chunk of F32 rows.
    static let chunkBytes = 4 << 20
    private var rows: [Float] = []
    private var encoded: [UInt8] = []

    init(threads: Int) { self.threads = threads }

    /// One output encoding of a tensor: its type, importance weights, and the files that receive the bytes.
    struct Target {
        var type: GGMLType
        var importance: [Float]?
        var writers: [GGUFWriter]
    }

    mutating func encode(
        _ source: some RowSource, as type: GGMLType, importance: [Float]? = nil, into writer: GGUFWriter
    ) throws {
        try encode(source, targets: [Target(type: type, importance: importance, writers: [writer])])
    }

    /// Reads each chunk of rows once and encodes it for every target.
    mutating func encode(_ source: some RowSource, targets: [Target]) throws {
        // Work on local copies so the closures below do not overlap accesses to `self`.
        var rows = self.rows, encoded = self.encoded
        defer { self.rows = rows; self.encoded = encoded }
        let n = source.rowLength
        let rowCount = source.rowCount
        let chunkRows = max(1, min(rowCount, Self.chunkBytes / 4 / max(n, 1)))
        if rows.count < chunkRows * n { rows = [Float](repeating: 0, count: chunkRows * n) }
        let rowBytes = targets.map { $0.type.byteCount(elements: n) }.max() ?? 0
        if encoded.count < chunkRows * rowBytes { encoded = [UInt8](repeating: 0, count: chunkRows * rowBytes) }

        var first = 0
        while first < rowCount {
            let count = min(chunkRows, rowCount - first)
            try rows.withUnsafeMutableBufferPointer { buf in
                try source.loadRows(first..<(first + count), into: buf.baseAddress!)
                for t in targets {
                    try Self.check(source, buf.baseAddress!, rows: count, columns: n, firstRow: first, type: t.type)
                }
            }
            for target in targets {
                let type = target.type
                let bytes = count * type.byteCount(elements: n)
                try rows.withUnsafeBufferPointer { src in
                    try encoded.withUnsafeMutableBytes { dst in
                        try Self.withImportance(target.importance) { imatrix in
                            do {
                                try Quantizer.quantize(
                                    type, rows: count, columns: n, source: src.baseAddress!,
                                    destination: dst.baseAddress!, destinationCount: dst.count, importance: imatrix,
                                    threads: threads)
                            } catch let QuantizationError.nonFiniteValue(row, column, value) {
                                // The quantizer scans every chunk before writing; name the tensor and its row.
                                throw ConversionError.nonFiniteWeight(
                                    tensor: source.displayName, row: first + row, column: column, value: value)
                            }
                        }
                        for writer in target.writers {
                            try writer.appendTensorData(UnsafeRawBufferPointer(rebasing: dst[0..<bytes]))
                        }
                    }
                }
            }
            first += count
        }
        source.finished()
    }

    private static func withImportance(_ w: [Float]?, _ body: (UnsafePointer<Float>?) throws -> Void) throws {
        guard let w else { return try body(nil) }
        try w.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// Refuses values an F16 output would turn into infinities. (NaN and ±Inf are refused by
    /// `Quantizer.quantize`, which scans each chunk before writing it.)
    private static func check(
        _ t: some RowSource, _ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, firstRow: Int, type: GGMLType
    ) throws {
        let count = rows * columns
        if type == .f16 {
            for i in 0..<count where abs(x[i]) >= 65520 {
                throw ConversionError.f16Overflow(tensor: t.displayName, value: x[i])
            }
        }
    }
}

/// Rows of a planned checkpoint tensor, as the converter derives them.
struct PlannedRows: RowSource {
    let tensor: PlannedTensor
    /// The checkpoint name and its file, for errors ("model.norm.weight in /path/model.safetensors").
    var displayName: String {
        if case let .checkpoint(file, _) = tensor.source { return "\(tensor.hfName) in \(file.url.path)" }
        return tensor.hfName
    }
    var rowLength: Int { tensor.rowLength }
    var rowCount: Int { tensor.rowCount }

    func loadRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) throws {
        for (k, r) in range.enumerated() { try loadRow(r, into: out + k * rowLength) }
    }

    func finished() {
        if case let .checkpoint(file, info) = tensor.source {
            file.mapping.dropPages(offset: info.range.lowerBound, length: info.range.count)
        }
    }

    private func loadRow(_ row: Int, into out: UnsafeMutablePointer<Float>) throws {
        let n = rowLength
        switch tensor.source {
        case let .generated(values):
            for j in 0..<n { out[j] = values[row * n + j] }
        case let .checkpoint(file, info):
            let base = file.data(for: info).baseAddress! + tensor.sourceRow(row) * n * info.dtype.size
            switch info.dtype {
            case .f32:
                out.update(from: base.assumingMemoryBound(to: Float.self), count: n)
            case .f16:
                HalfPrecision.convertFromFP16(base.assumingMemoryBound(to: UInt16.self), out, count: n)
                if tensor.addOne {
                    // The converter adds in the source's F16 precision for F16 checkpoints.
                    for j in 0..<n { out[j] = Float(Float16(out[j] + 1)) }
                    return
                }
            case .bf16:
                HalfPrecision.convertFromBF16(base.assumingMemoryBound(to: UInt16.self), out, count: n)
            case .f64:
                for j in 0..<n { out[j] = Float(base.loadUnaligned(fromByteOffset: j * 8, as: Double.self)) }
            default:
                throw ConversionError.unsupportedDType(tensor: displayName, dtype: info.dtype.rawValue)
            }
            if tensor.addOne { for j in 0..<n { out[j] += 1 } }
        }
    }
}

/// Rows of a GGUF tensor, dequantized to F32.
struct GGUFRows: RowSource {
    let file: GGUFFile
    let info: GGUFTensorInfo
    var displayName: String { info.name }
    var rowLength: Int { info.dimensions[0] }
    var rowCount: Int { info.rowCount }

    func loadRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) throws {
        let rowBytes = info.type.byteCount(elements: rowLength)
        let data = file.data(for: info).baseAddress! + range.lowerBound * rowBytes
        try Quantizer.dequantize(info.type, source: data, count: range.count * rowLength, destination: out)
    }

    func finished() {
        file.mapping.dropPages(offset: file.dataOffset + info.offset, length: info.byteCount)
    }
}
