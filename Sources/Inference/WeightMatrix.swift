import GGUF
import Quantization

/// An owned, 64-byte aligned buffer of `count` elements of `T`.
@usableFromInline
final class AlignedBuffer<T>: @unchecked Sendable {
    @usableFromInline let pointer: UnsafeMutablePointer<T>
    @usableFromInline let count: Int

    init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<T>.stride, alignment: 64)
        pointer = raw.bindMemory(to: T.self, capacity: max(1, count))
    }

    deinit { pointer.deallocate() }
}

typealias FloatBuffer = AlignedBuffer<Float>

/// A weight matrix, row-major with one output per row (GGML: `dimensions = [columns, rows]`), held in the
/// form its kernels read fastest and remembering the activation grid its source type implies.
///
/// - F32 tensors are read in place from the source (a memory-mapped GGUF stays mapped).
/// - Block-quantized tensors are repacked at load into one signed byte per weight plus a scale (and an
///   offset) per group of 16 or 32 (``GroupCodeLayout``): a decode step streams about 1.1–1.3 bytes per
///   weight. Batches run in llama.cpp's order (``GGMLOrder``), over those codes or over the source's blocks
///   read in place (Q4_0, Q4_K, Q6_K, Q3_K).
/// - Other types (F16, BF16, the ternary types) are decoded to F32 at load; F32 holds them exactly, and
///   their activations are still rounded to the type's grid.
public struct WeightMatrix: @unchecked Sendable {
    public let name: String
    public let rows: Int
    public let columns: Int
    public let sourceType: GGMLType
    public let grid: ActivationGrid

    enum Storage {
        case f32(UnsafePointer<Float>)
        case groups(GroupedRows)
    }

    let storage: Storage
    /// The tensor's bytes as stored in the source (GGML blocks, row-major), read in place by the batch
    /// kernels that follow llama.cpp's order for block types (``GGMLOrder``); nil for types decoded at load.
    let blocks: UnsafeRawPointer?
    /// Keeps the memory `storage` and `blocks` point into alive.
    private let owners: [AnyObject]

    /// Loads tensor `name` of `source`, checking its GGML dimensions against `[columns, rows]`.
    init(file source: some WeightSource, name: String, columns: Int, rows: Int, threads: Int) throws(InferenceError) {
        guard let info = source.tensor(named: name) else { throw .missingTensor(name) }
        let dims = info.dimensions.count == 1 ? [info.dimensions[0], 1] : info.dimensions
        guard dims == [columns, rows] else {
            throw .tensorShapeMismatch(tensor: name, expected: [columns, rows], actual: info.dimensions)
        }
        self.name = name
        self.rows = rows
        self.columns = columns
        sourceType = info.type
        grid = ActivationGrid(weightType: info.type)
        let bytes = source.data(for: info)
        let rowBytes = info.type.byteCount(elements: columns)
        guard columns % info.type.blockSize == 0, bytes.count >= rowBytes * rows, let base = bytes.baseAddress else {
            throw .unsupportedTensorType(tensor: name, type: info.type)
        }
        if info.type == .f32, Int(bitPattern: base) % 4 == 0 {
            storage = .f32(base.assumingMemoryBound(to: Float.self))
            blocks = base
            owners = [source]
            return
        }
        let src = UncheckedBox(base)
        let type = info.type
        if let layout = GroupCodeLayout(type) {
            let g = GroupedRows(
                rows: rows, columns: columns, layout: layout, wideCodes: type == .q8_0 || type == .iq4_nl)
            do {
                try g.decodeRows(type, source: base, rowBytes: rowBytes, rows: 0..<1)
            } catch {
                throw .unsupportedTensorType(tensor: name, type: type)
            }
            parallelFor(rows, threads: threads) { r in
                try? g.decodeRows(type, source: src.value, rowBytes: rowBytes, rows: r)
            }
            storage = .groups(g)
            blocks = base
            owners = [g, source]
            return
        }
        let buffer = FloatBuffer(count: rows * columns)
        // Probe one row for an undecodable type before going parallel.
        do {
            try Quantizer.dequantize(type, source: base, count: columns, destination: buffer.pointer)
        } catch {
            throw .unsupportedTensorType(tensor: name, type: type)
        }
        let dst = SendablePointer(buffer.pointer)
        let cols = columns
        parallelFor(rows, threads: threads) { r in
            try? Quantizer.dequantize(
                type, source: src.value + r.lowerBound * rowBytes, count: r.count * cols,
                destination: dst.p + r.lowerBound * cols)
        }
        storage = .f32(UnsafePointer(buffer.pointer))
        blocks = nil
        owners = [buffer]
    }

    /// Decodes a 1-D F32 (or any decodable type) vector such as a norm weight.
    static func vector(file: some WeightSource, name: String, length: Int) throws(InferenceError) -> [Float] {
        let m = try WeightMatrix(file: file, name: name, columns: length, rows: 1, threads: 1)
        return [Float](unsafeUninitializedCapacity: length) { buf, count in
            m.row(0, into: buf.baseAddress!)
            count = length
        }
    }

    /// `out[t·rows + o] = round_grid(input[t]) · row(o)` for `tokens` rows of `columns` activations: the
    /// matrix applied to a batch, with activations first rounded to the grid llama.cpp's CPU backend would
    /// use for this weight type. `scratch` holds at least `tokens · columns` floats. Every `route` gives the
    /// same bits.
    func apply(
        _ input: UnsafePointer<Float>, tokens n: Int, into out: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, threads: Int, placement: GGMLOrder.Placement = .alone,
        route: KernelRoute = .best
    ) {
        // llama.cpp multiplies micro-batches of two tokens or more with its matrix kernels, single tokens with
        // dot products; Kiln follows the former in llama.cpp's order and keeps its own kernel for the latter.
        if max(placement.tokens, n) >= 2,
            GGMLOrder.apply(
                self, input, tokens: n, out: out, scratch: scratch, threads: threads, placement: placement,
                route: route)
        {
            return
        }
        // A single token (decoding) of block-quantized weights: integer dot products over the group codes.
        if case let .groups(g) = storage, max(placement.tokens, n) == 1 {
            GroupProduct.apply(g, grid: grid, input, out: out, threads: threads, route: route)
            return
        }
        var src = input
        if grid != .f32 {
            let cols = columns, grid = grid
            let i = SendablePointer(UnsafeMutablePointer(mutating: input)), r = SendablePointer(scratch)
            parallelFor(n, threads: threads) { range in
                for t in range { grid.round(i.p + t * cols, into: r.p + t * cols, count: cols) }
            }
            src = UnsafePointer(scratch)
        }
        if case let .f32(w) = storage, n < MatrixKernels.tokenStrip {
            MatrixKernels.multiplyEach(w, x: src, tokens: n, columns: columns, rows: rows, out: out, threads: threads)
        } else {
            MatrixKernels.multiplyBatch(self, x: src, tokens: n, out: out, threads: threads, route: route)
        }
    }

    /// Decodes row `r` (an embedding lookup) into `out`.
    func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let n = columns
        switch storage {
        case let .f32(w): out.update(from: w + r * n, count: n)
        case let .groups(g): g.decodeRow(r, into: out)
        }
    }
}

/// Rows as signed byte codes with a scale (and an offset) per group (``GroupCodeLayout``), stored in
/// 16-row panels of column quads: for each group of four columns q of a panel, the four codes of row j at
/// bytes `q·64 + j·4 ..< +4` (the operand layout of four-way integer dot products: `vpdpbusd`, or
/// `vpmaddubsw` + `vpmaddwd`), and the 16 scales of a group adjacent.
///
/// Decoding multiplies these bytes with integer activations (``MatrixKernels``); batches of Q8_0, Q5_0 and
/// Q4_0 weights multiply the integer codes in llama.cpp's order (``GGMLOrder``), other types decode 16-row
/// panels to F32.
final class GroupedRows: @unchecked Sendable {
    static let panelRows = 16
    let rows: Int
    let columns: Int
    let groupLength: Int
    let groupsPerRow: Int
    let panels: Int
    /// Whether codes go beyond −64…63 (Q8_0, IQ4_NL): integer kernels then move their sign to the activations.
    let wideCodes: Bool
    /// `codes[p·columns·16 + Self.index(row: j, column: k)]`: column k of row `16p + j`.
    let codes: AlignedBuffer<Int8>
    /// `scales[(p·groupsPerRow + g)·16 + j]`, the same for `offsets`.
    let scales: AlignedBuffer<Float>
    let offsets: AlignedBuffer<Float>?

    /// Where column k of panel row j sits in its panel.
    @inline(__always)
    static func index(row j: Int, column k: Int) -> Int { (k &>> 2) &* 64 &+ j &* 4 &+ (k & 3) }

    init(rows: Int, columns: Int, layout: GroupCodeLayout, wideCodes: Bool) {
        self.rows = rows
        self.wideCodes = wideCodes
        self.columns = columns
        groupLength = layout.groupLength
        groupsPerRow = columns / layout.groupLength
        panels = (rows + Self.panelRows - 1) / Self.panelRows
        codes = AlignedBuffer(count: panels * columns * Self.panelRows)
        scales = AlignedBuffer(count: panels * groupsPerRow * Self.panelRows)
        offsets = layout.hasOffset ? AlignedBuffer(count: panels * groupsPerRow * Self.panelRows) : nil
        // Rows past `rows` in the last panel decode to zero.
        codes.pointer.update(repeating: 0, count: codes.count)
        scales.pointer.update(repeating: 0, count: scales.count)
        offsets?.pointer.update(repeating: 0, count: scales.count)
    }

    /// Decodes source rows `r` (each `rowBytes` long) into the panel layout.
    func decodeRows(
        _ type: GGMLType, source: UnsafeRawPointer, rowBytes: Int, rows r: Range<Int>
    ) throws(QuantizationError) {
        let n = columns, gpr = groupsPerRow, pr = Self.panelRows
        let rowCodes = UnsafeMutablePointer<Int8>.allocate(capacity: n)
        let rowScales = UnsafeMutablePointer<Float>.allocate(capacity: 2 * gpr)
        defer { rowCodes.deallocate(); rowScales.deallocate() }
        for row in r {
            try Quantizer.decodeGroups(
                type, source: source + row * rowBytes, count: n, codes: rowCodes, scales: rowScales,
                offsets: offsets == nil ? nil : rowScales + gpr)
            let p = row / pr, j = row % pr
            let c = codes.pointer + p * n * pr
            for k in 0..<n { c[Self.index(row: j, column: k)] = rowCodes[k] }
            let s = scales.pointer + p * gpr * pr + j
            for g in 0..<gpr { s[g * pr] = rowScales[g] }
            if let offsets {
                let o = offsets.pointer + p * gpr * pr + j
                for g in 0..<gpr { o[g * pr] = rowScales[gpr + g] }
            }
        }
    }

    /// Row `r` as `scale · code + offset`, the block format's own dequantized values.
    func decodeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let n = columns, gpr = groupsPerRow, pr = Self.panelRows
        let p = r / pr, j = r % pr
        let c = codes.pointer + p * n * pr
        let s = scales.pointer + p * gpr * pr + j
        let o = offsets.map { $0.pointer + p * gpr * pr + j }
        for k in 0..<n {
            let g = k / groupLength
            let v = s[g * pr] * Float(c[Self.index(row: j, column: k)])
            out[k] = o.map { v + $0[g * pr] } ?? v
        }
    }
}
