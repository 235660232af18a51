import GGUF
import Quantization

/// An owned, 64-byte aligned F32 buffer.
@usableFromInline
final class FloatBuffer: @unchecked Sendable {
    @usableFromInline let pointer: UnsafeMutablePointer<Float>
    @usableFromInline let count: Int

    init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(1, count))
    }

    deinit { pointer.deallocate() }
}

/// A weight matrix decoded to F32, row-major with one output per row (GGML: `dimensions = [columns, rows]`),
/// remembering the activation grid its source type implies.
public struct WeightMatrix: @unchecked Sendable {
    public let name: String
    public let rows: Int
    public let columns: Int
    public let sourceType: GGMLType
    public let grid: ActivationGrid
    @usableFromInline let storage: FloatBuffer

    var pointer: UnsafePointer<Float> { UnsafePointer(storage.pointer) }

    /// Decodes tensor `name` of `file`, checking its GGML dimensions against `[columns, rows]`.
    init(file: some WeightSource, name: String, columns: Int, rows: Int, threads: Int) throws(InferenceError) {
        guard let info = file.tensor(named: name) else { throw .missingTensor(name) }
        let dims = info.dimensions.count == 1 ? [info.dimensions[0], 1] : info.dimensions
        guard dims == [columns, rows] else {
            throw .tensorShapeMismatch(tensor: name, expected: [columns, rows], actual: info.dimensions)
        }
        self.name = name
        self.rows = rows
        self.columns = columns
        sourceType = info.type
        grid = ActivationGrid(weightType: info.type)
        storage = FloatBuffer(count: rows * columns)
        let bytes = file.data(for: info)
        let rowBytes = info.type.byteCount(elements: columns)
        guard columns % info.type.blockSize == 0, bytes.count >= rowBytes * rows, let base = bytes.baseAddress else {
            throw .unsupportedTensorType(tensor: name, type: info.type)
        }
        // Probe one row for an undecodable type before going parallel.
        do {
            try Quantizer.dequantize(info.type, source: base, count: columns, destination: storage.pointer)
        } catch {
            throw .unsupportedTensorType(tensor: name, type: info.type)
        }
        let dst = SendablePointer(storage.pointer)
        let src = UncheckedBox(base)
        let type = info.type
        let cols = columns
        parallelFor(rows, threads: threads) { r in
            try? Quantizer.dequantize(type, source: src.value + r.lowerBound * rowBytes, count: r.count * cols,
                                      destination: dst.p + r.lowerBound * cols)
        }
    }

    /// Decodes a 1-D F32 (or any decodable type) vector such as a norm weight.
    static func vector(file: some WeightSource, name: String, length: Int) throws(InferenceError) -> [Float] {
        let m = try WeightMatrix(file: file, name: name, columns: length, rows: 1, threads: 1)
        return Array(UnsafeBufferPointer(start: m.pointer, count: length))
    }

    /// `out[t·rows + o] = round_grid(input[t]) · row(o)` for `tokens` rows of `columns` activations: the
    /// matrix applied to a batch, with activations first rounded to the grid llama.cpp's CPU backend would
    /// use for this weight type. `scratch` holds at least `tokens · columns` floats.
    func apply(_ input: UnsafePointer<Float>, tokens n: Int, into out: UnsafeMutablePointer<Float>,
               scratch: UnsafeMutablePointer<Float>, threads: Int) {
        var src = input
        if grid != .f32 {
            let cols = columns, grid = grid
            let i = SendablePointer(UnsafeMutablePointer(mutating: input)), r = SendablePointer(scratch)
            parallelFor(n, threads: threads) { range in
                for t in range { grid.round(i.p + t * cols, into: r.p + t * cols, count: cols) }
            }
            src = UnsafePointer(scratch)
        }
        Kernels.matmul(x: src, tokens: n, w: pointer, n: columns, rows: rows, c: out, ldc: rows, threads: threads)
    }

    /// Decodes row `r` (an embedding lookup) into `out`.
    func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        out.update(from: pointer + r * columns, count: columns)
    }
}
