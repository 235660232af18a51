import Dispatch

/// The entry points that turn rows of fp32 values into GGML blocks and back.
///
/// Every row is encoded independently (as `ggml_quantize_chunk` does), so the bytes never depend on the
/// thread count: rows are split into contiguous ranges, one per thread.
public enum Quantizer {
    /// Types Kiln can encode.
    public static let encodableTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0]

    /// True when Kiln can encode `type`.
    public static func canEncode(_ type: GGMLType) -> Bool { encodableTypes.contains(type) }

    /// Quantizes `rows × columns` floats (row-major) into `destination`.
    ///
    /// - Parameters:
    ///   - importance: one weight per column (llama.cpp's imatrix for this tensor), or nil.
    ///   - threads: worker count; the output is identical for any value.
    /// - Throws: ``QuantizationError/nonFiniteValue(row:column:value:)`` before writing anything when a row
    ///   holds NaN or ±Inf, and the shape errors.
    public static func quantize(
        _ type: GGMLType, rows: Int, columns: Int,
        source: UnsafePointer<Float>, destination: UnsafeMutableRawPointer, destinationCount: Int,
        importance: UnsafePointer<Float>? = nil, threads: Int = 1
    ) throws(QuantizationError) {
        guard canEncode(type) else { throw .unsupportedType(type) }
        guard columns % type.blockSize == 0 else { throw .rowLengthNotMultipleOfBlock(columns: columns, type: type) }
        let rowBytes = type.byteCount(elements: columns)
        guard destinationCount >= rowBytes * rows else {
            throw .bufferTooSmall(expected: rowBytes * rows, actual: destinationCount)
        }
        if let bad = firstNonFinite(source, count: rows * columns) {
            throw .nonFiniteValue(row: bad / columns, column: bad % columns, value: source[bad])
        }
        let work = RowWork(source: source, destination: destination, importance: importance)
        forEachRowRange(rows: rows, threads: threads) { range in
            for row in range {
                let x = work.source + row * columns
                let y = work.destination + row * rowBytes
                encodeRow(type, x, y, columns, work.importance)
            }
        }
    }

    /// Decodes `count` values of `type` from `source` into `destination`.
    public static func dequantize(
        _ type: GGMLType, source: UnsafeRawPointer, count: Int, destination: UnsafeMutablePointer<Float>
    ) throws(QuantizationError) {
        guard count % type.blockSize == 0 else { throw .rowLengthNotMultipleOfBlock(columns: count, type: type) }
        switch type {
        case .f32: destination.update(from: source.assumingMemoryBound(to: Float.self), count: count)
        case .f16: HalfPrecision.convertFromFP16(source.assumingMemoryBound(to: UInt16.self), destination, count: count)
        case .bf16: HalfPrecision.convertFromBF16(source.assumingMemoryBound(to: UInt16.self), destination, count: count)
        case .q8_0: Q8_0.dequantize(source, destination, count: count)
        default: throw .unsupportedType(type)
        }
    }

    /// One row through the type's encoder.
    @inline(__always)
    static func encodeRow(
        _ type: GGMLType, _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ n: Int,
        _ importance: UnsafePointer<Float>?
    ) {
        switch type {
        case .f32: y.copyMemory(from: x, byteCount: n * 4)
        case .f16: HalfPrecision.convertToFP16(x, y.assumingMemoryBound(to: UInt16.self), count: n)
        case .bf16: HalfPrecision.convertToBF16(x, y.assumingMemoryBound(to: UInt16.self), count: n)
        case .q8_0: Q8_0.quantizeReference(x, y, count: n)
        default: preconditionFailure("encodeRow called for \(type), which canEncode rejects")
        }
    }

    /// Index of the first NaN or ±Inf in `count` floats, or nil.
    public static func firstNonFinite(_ x: UnsafePointer<Float>, count: Int) -> Int? {
        let raw = UnsafeRawPointer(x)
        var i = 0
        while i + 16 <= count {
            let bits = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<UInt32>.self) & 0x7f80_0000
            if any(bits .== 0x7f80_0000) { break }
            i += 16
        }
        while i < count {
            if !x[i].isFinite { return i }
            i += 1
        }
        return nil
    }

    /// Runs `body` over contiguous row ranges, one per worker.
    static func forEachRowRange(rows: Int, threads: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let workers = max(1, min(threads, rows))
        if workers == 1 {
            body(0..<rows)
            return
        }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lower = rows * w / workers
            let upper = rows * (w + 1) / workers
            body(lower..<upper)
        }
    }
}

/// Pointers handed to worker threads. Each worker touches disjoint rows of `destination`.
struct RowWork: @unchecked Sendable {
    let source: UnsafePointer<Float>
    let destination: UnsafeMutableRawPointer
    let importance: UnsafePointer<Float>?
}
