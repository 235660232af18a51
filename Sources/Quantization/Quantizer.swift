import Dispatch

/// The entry points that turn rows of fp32 values into GGML blocks and back.
///
/// Every row is encoded independently (as `ggml_quantize_chunk` does), so the bytes never depend on the
/// thread count: rows are split into contiguous ranges, one per thread.
public enum Quantizer {
    /// Types Kiln can encode.
    public static let encodableTypes: [GGMLType] = [
        .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .tq1_0,
        .tq2_0
    ]

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
        let rowBytes = try validate(
            type, rows: rows, columns: columns, source: source,
            destinationCount: destinationCount)
        let work = RowWork(source: source, destination: destination, importance: importance)
        forEachRowRange(rows: rows, threads: threads) { range in
            if type == .iq4_nl {
                // Independent 32-blocks: a row range is one stream, so short rows still fill all SIMD lanes.
                IQ4_NL.quantizeFast(
                    work.source + range.lowerBound * columns, work.destination + range.lowerBound * rowBytes,
                    count: range.count * columns, importance: work.importance, rowLength: columns)
                return
            }
            for row in range {
                let x = work.source + row * columns
                let y = work.destination + row * rowBytes
                encodeRow(type, x, y, columns, work.importance)
            }
        }
    }

    /// The scalar reference encoders (single-threaded), written to read like the spec. Same contract and
    /// bytes as ``quantize(_:rows:columns:source:destination:destinationCount:importance:threads:)``; tests
    /// compare the two.
    public static func quantizeReference(
        _ type: GGMLType, rows: Int, columns: Int,
        source: UnsafePointer<Float>, destination: UnsafeMutableRawPointer, destinationCount: Int,
        importance: UnsafePointer<Float>? = nil
    ) throws(QuantizationError) {
        let rowBytes = try validate(
            type, rows: rows, columns: columns, source: source,
            destinationCount: destinationCount)
        for row in 0..<rows {
            encodeRowReference(type, source + row * columns, destination + row * rowBytes, columns, importance)
        }
    }

    /// Checks the shape and the values; returns the bytes per row.
    private static func validate(
        _ type: GGMLType, rows: Int, columns: Int, source: UnsafePointer<Float>, destinationCount: Int
    ) throws(QuantizationError) -> Int {
        guard canEncode(type) else { throw .unsupportedType(type) }
        guard columns % type.blockSize == 0 else { throw .rowLengthNotMultipleOfBlock(columns: columns, type: type) }
        let rowBytes = type.byteCount(elements: columns)
        guard destinationCount >= rowBytes * rows else {
            throw .bufferTooSmall(expected: rowBytes * rows, actual: destinationCount)
        }
        if let bad = firstNonFinite(source, count: rows * columns) {
            throw .nonFiniteValue(row: bad / columns, column: bad % columns, value: source[bad])
        }
        return rowBytes
    }

    /// Decodes `count` values of `type` from `source` into `destination`.
    public static func dequantize(
        _ type: GGMLType, source: UnsafeRawPointer, count: Int, destination: UnsafeMutablePointer<Float>
    ) throws(QuantizationError) {
        guard count % type.blockSize == 0 else { throw .rowLengthNotMultipleOfBlock(columns: count, type: type) }
        switch type {
        case .f32: destination.update(from: source.assumingMemoryBound(to: Float.self), count: count)
        case .f16: HalfPrecision.convertFromFP16(source.assumingMemoryBound(to: UInt16.self), destination, count: count)
        case .bf16:
            HalfPrecision.convertFromBF16(source.assumingMemoryBound(to: UInt16.self), destination, count: count)
        case .q8_0: Q8_0.dequantize(source, destination, count: count)
        case .q4_0: Q4_0.dequantize(source, destination, count: count)
        case .q4_1: Q4_1.dequantize(source, destination, count: count)
        case .q5_0: Q5_0.dequantize(source, destination, count: count)
        case .q5_1: Q5_1.dequantize(source, destination, count: count)
        case .q2_K: Q2_K.dequantize(source, destination, count: count)
        case .q3_K: Q3_K.dequantize(source, destination, count: count)
        case .q4_K: Q4_K.dequantize(source, destination, count: count)
        case .q5_K: Q5_K.dequantize(source, destination, count: count)
        case .q6_K: Q6_K.dequantize(source, destination, count: count)
        case .iq4_nl: IQ4_NL.dequantize(source, destination, count: count)
        case .tq1_0: TQ1_0.dequantize(source, destination, count: count)
        case .tq2_0: TQ2_0.dequantize(source, destination, count: count)
        default: throw .unsupportedType(type)
        }
    }

    /// The scalar reference decoders, in ggml's element order; tests compare them with ``dequantize(_:source:count:destination:)``.
    public static func dequantizeReference(
        _ type: GGMLType, source: UnsafeRawPointer, count: Int, destination: UnsafeMutablePointer<Float>
    ) throws(QuantizationError) {
        guard count % type.blockSize == 0 else { throw .rowLengthNotMultipleOfBlock(columns: count, type: type) }
        switch type {
        case .f32: destination.update(from: source.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            let h = source.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { destination[i] = HalfPrecision.float(fp16: h[i]) }
        case .bf16:
            let h = source.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { destination[i] = HalfPrecision.float(bf16: h[i]) }
        case .q8_0: Q8_0.dequantizeReference(source, destination, count: count)
        case .q4_0: Q4_0.dequantizeReference(source, destination, count: count)
        case .q4_1: Q4_1.dequantizeReference(source, destination, count: count)
        case .q5_0: Q5_0.dequantizeReference(source, destination, count: count)
        case .q5_1: Q5_1.dequantizeReference(source, destination, count: count)
        case .q2_K: Q2_K.dequantizeReference(source, destination, count: count)
        case .q3_K: Q3_K.dequantizeReference(source, destination, count: count)
        case .q4_K: Q4_K.dequantizeReference(source, destination, count: count)
        case .q5_K: Q5_K.dequantizeReference(source, destination, count: count)
        case .q6_K: Q6_K.dequantizeReference(source, destination, count: count)
        case .iq4_nl: IQ4_NL.dequantizeReference(source, destination, count: count)
        case .tq1_0: TQ1_0.dequantizeReference(source, destination, count: count)
        case .tq2_0: TQ2_0.dequantizeReference(source, destination, count: count)
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
        case .q8_0: Q8_0.quantize(x, y, count: n)
        case .q4_0: Q4_0.quantize(x, y, count: n, importance: importance)
        case .q4_1: Q4_1.quantize(x, y, count: n, importance: importance)
        case .q5_0: Q5_0.quantize(x, y, count: n, importance: importance)
        case .q5_1: Q5_1.quantize(x, y, count: n, importance: importance)
        case .q2_K: Q2_K.quantize(x, y, count: n, importance: importance)
        case .q3_K: Q3_K.quantize(x, y, count: n, importance: importance)
        case .q4_K: Q4_K.quantize(x, y, count: n, importance: importance)
        case .q5_K: Q5_K.quantize(x, y, count: n, importance: importance)
        case .q6_K: Q6_K.quantize(x, y, count: n, importance: importance)
        case .iq4_nl: IQ4_NL.quantize(x, y, count: n, importance: importance)
        case .tq1_0: TQ1_0.quantize(x, y, count: n)
        case .tq2_0: TQ2_0.quantize(x, y, count: n)
        default: preconditionFailure("encodeRow called for \(type), which canEncode rejects")
        }
    }

    /// One row through the type's scalar reference encoder.
    static func encodeRowReference(
        _ type: GGMLType, _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ n: Int,
        _ importance: UnsafePointer<Float>?
    ) {
        switch type {
        case .f32: y.copyMemory(from: x, byteCount: n * 4)
        case .f16:
            let h = y.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { h[i] = HalfPrecision.fp16Bits(x[i]) }
        case .bf16:
            let h = y.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { h[i] = HalfPrecision.bf16Bits(x[i]) }
        case .q8_0: Q8_0.quantizeReference(x, y, count: n)
        case .q4_0: Q4_0.quantizeReference(x, y, count: n, importance: importance)
        case .q4_1: Q4_1.quantizeReference(x, y, count: n, importance: importance)
        case .q5_0: Q5_0.quantizeReference(x, y, count: n, importance: importance)
        case .q5_1: Q5_1.quantizeReference(x, y, count: n, importance: importance)
        case .q2_K: Q2_K.quantizeReference(x, y, count: n, importance: importance)
        case .q3_K: Q3_K.quantizeReference(x, y, count: n, importance: importance)
        case .q4_K: Q4_K.quantizeReference(x, y, count: n, importance: importance)
        case .q5_K: Q5_K.quantizeReference(x, y, count: n, importance: importance)
        case .q6_K: Q6_K.quantizeReference(x, y, count: n, importance: importance)
        case .iq4_nl: IQ4_NL.quantizeReference(x, y, count: n, importance: importance)
        case .tq1_0: TQ1_0.quantizeReference(x, y, count: n)
        case .tq2_0: TQ2_0.quantizeReference(x, y, count: n)
        default: preconditionFailure("encodeRowReference called for \(type), which canEncode rejects")
        }
    }

    /// Index of the first NaN or ±Inf in `count` floats, or nil.
    ///
    /// Scans 1024 values at a time with integer SIMD: `(bits & 0x7f800000) + 0x00800000` has its sign bit set
    /// exactly when the exponent is all ones (NaN or ±Inf). Lanes are OR-ed together and the chunk is checked
    /// once; only a flagged chunk is rescanned element by element to name the first bad index.
    public static func firstNonFinite(_ x: UnsafePointer<Float>, count: Int) -> Int? {
        let raw = UnsafeRawPointer(x)
        var i = 0
        while i + 1024 <= count {
            var acc = SIMD16<UInt32>(repeating: 0)
            var j = i
            while j < i + 1024 {
                let bits = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<UInt32>.self)
                acc |= (bits & 0x7f80_0000) &+ 0x0080_0000
                j += 16
            }
            if (acc & 0x8000_0000).max() != 0 { break }
            i += 1024
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
