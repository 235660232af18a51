import Quantization
import WideKernels

/// The matrix products of the forward pass, over every ``WeightMatrix`` storage.
///
/// - One token at a time (decoding): a row-parallel matrix-vector product that streams the stored form
///   (bytes plus group scales for quantized weights) and converts in registers.
/// - A batch of a weight type ``GGMLOrder`` has no kernel for (BF16, Q4_1, Q5_1, Q2_K, Q5_K, IQ types):
///   threads take 16-row panels, decode each panel once to F32 in k-major
///   order, and run a 6-token × 16-output register tile over it, so weights are read once per batch and
///   the inner loop is two loads, six broadcasts and twelve FMAs.
///
/// Each output is computed by the same code whatever the thread count, so results do not depend on it.
enum MatrixKernels {
    /// Tokens per register tile; batches shorter than this go token by token.
    static let tokenStrip = 6
    static let panelRows = 16

    // MARK: Batches

    static func multiplyBatch(
        _ w: WeightMatrix, x: UnsafePointer<Float>, tokens: Int, out: UnsafeMutablePointer<Float>, threads: Int,
        route: KernelRoute
    ) {
        let n = w.columns, rows = w.rows
        let panels = (rows + panelRows - 1) / panelRows
        let xs = UncheckedBox(x), os = SendablePointer(out)
        if route.usesWideTiles {
            // Two panels side by side in 6 × 32 AVX-512 tiles.
            parallelFor((panels + 1) / 2, threads: threads) { range in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * n * panelRows) { pb in
                    let a = pb.baseAddress!, b = a + n * panelRows
                    for pair in range {
                        let r0 = 2 * pair * panelRows
                        let validA = min(panelRows, rows - r0), validB = max(0, min(panelRows, rows - r0 - panelRows))
                        decodePanel(w, rows: r0, count: validA, into: a)
                        if validB > 0 { decodePanel(w, rows: r0 + panelRows, count: validB, into: b) }
                        var t = 0
                        while t < tokens {
                            WideKernels.tile6x32(
                                xs.value + t * n, ldx: n, rows: min(tokenStrip, tokens - t), n: n, a: a,
                                b: validB > 0 ? b : a, c: os.p + t * rows + r0, ldc: rows,
                                columnsA: validA, columnsB: validB)
                            t += tokenStrip
                        }
                    }
                }
            }
            return
        }
        parallelFor(panels, threads: threads) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n * panelRows) { pb in
                let panel = pb.baseAddress!
                for p in range {
                    let r0 = p * panelRows
                    let valid = min(panelRows, rows - r0)
                    decodePanel(w, rows: r0, count: valid, into: panel)
                    var t = 0
                    while t < tokens {
                        // A short last strip repeats its last token in the spare rows and stores only its own.
                        let rowsValid = min(tokenStrip, tokens - t)
                        tile6x16(
                            xs.value + t * n, ldx: n, rows: rowsValid, n: n, panel: panel, ldp: panelRows,
                            c: os.p + t * rows + r0,
                            ldc: rows, columns: valid)
                        t += tokenStrip
                    }
                }
            }
        }
    }

    /// Rows `r0 ..< r0+count` of `w` as F32, `panel[k·16 + j]` = element k of row `r0 + j` (zero past `count`).
    static func decodePanel(_ w: WeightMatrix, rows r0: Int, count: Int, into panel: UnsafeMutablePointer<Float>) {
        let n = w.columns
        if count < panelRows { panel.update(repeating: 0, count: n * panelRows) }
        switch w.storage {
        case let .groups(g):
            let p = r0 / panelRows
            let glen = g.groupLength, gpr = g.groupsPerRow
            let c = UnsafePointer(g.codes.pointer + p * n * panelRows)
            let s = UnsafeRawPointer(g.scales.pointer + p * gpr * panelRows)
            let o = g.offsets.map { UnsafeRawPointer($0.pointer + p * gpr * panelRows) }
            let out = UnsafeMutableRawPointer(panel)
            var q = 0
            for gi in 0..<gpr {
                let a = s.loadUnaligned(fromByteOffset: gi * 64, as: SIMD16<Float>.self)
                let b = o?.loadUnaligned(fromByteOffset: gi * 64, as: SIMD16<Float>.self)
                for _ in 0..<(glen / 4) {
                    // `scale · code + offset`, a multiply then an add, as the scalar decoders round them.
                    let (c0, c1, c2, c3) = quadColumns(c, q)
                    var w0 = a * c0, w1 = a * c1, w2 = a * c2, w3 = a * c3
                    if let b {
                        w0 = w0 + b
                        w1 = w1 + b
                        w2 = w2 + b
                        w3 = w3 + b
                    }
                    out.storeBytes(of: w0, toByteOffset: q * 256, as: SIMD16<Float>.self)
                    out.storeBytes(of: w1, toByteOffset: q * 256 + 64, as: SIMD16<Float>.self)
                    out.storeBytes(of: w2, toByteOffset: q * 256 + 128, as: SIMD16<Float>.self)
                    out.storeBytes(of: w3, toByteOffset: q * 256 + 192, as: SIMD16<Float>.self)
                    q += 1
                }
            }
            return
        case let .f32(p):
            for j in 0..<count {
                let row = p + (r0 + j) * n
                for k in 0..<n { panel[k * panelRows + j] = row[k] }
            }
        }
    }

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// `c[t·ldc + j] = Σ_k x[t·ldx + k] · panel[k·ldp + j]` for `rows` ≤ 6 rows (spare rows repeat the last), j < 16 (16 floats are read
    /// from each panel row; only the first `columns` outputs are stored). Twelve accumulators, one FMA chain
    /// per output in k order, started from +0.
    @inline(__always)
    static func tile6x16(
        _ x: UnsafePointer<Float>, ldx: Int, rows: Int, n: Int, panel: UnsafePointer<Float>, ldp: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, columns: Int, accumulate: Bool = false
    ) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        if accumulate {
            // Continue each output's chain from its stored value (only the first `columns` of each row are read).
            @inline(__always) func get(_ t: Int) -> (SIMD8<Float>, SIMD8<Float>) {
                guard t < rows else { return (SIMD8(), SIMD8()) }
                if columns == 16 { return (load8(c + t * ldc, 0), load8(c + t * ldc, 8)) }
                var lo = SIMD8<Float>(), hi = SIMD8<Float>()
                for j in 0..<columns { if j < 8 { lo[j] = c[t * ldc + j] } else { hi[j - 8] = c[t * ldc + j] } }
                return (lo, hi)
            }
            (c00, c01) = get(0); (c10, c11) = get(1); (c20, c21) = get(2)
            (c30, c31) = get(3); (c40, c41) = get(4); (c50, c51) = get(5)
        }
        let last = rows - 1
        let x0 = x, x1 = x + min(1, last) * ldx, x2 = x + min(2, last) * ldx
        let x3 = x + min(3, last) * ldx, x4 = x + min(4, last) * ldx, x5 = x + min(5, last) * ldx
        var p = panel
        for k in 0..<n {
            let w0 = load8(p, 0), w1 = load8(p, 8)
            p += ldp
            var b = SIMD8<Float>(repeating: x0[k])
            c00.addProduct(b, w0); c01.addProduct(b, w1)
            b = SIMD8(repeating: x1[k])
            c10.addProduct(b, w0); c11.addProduct(b, w1)
            b = SIMD8(repeating: x2[k])
            c20.addProduct(b, w0); c21.addProduct(b, w1)
            b = SIMD8(repeating: x3[k])
            c30.addProduct(b, w0); c31.addProduct(b, w1)
            b = SIMD8(repeating: x4[k])
            c40.addProduct(b, w0); c41.addProduct(b, w1)
            b = SIMD8(repeating: x5[k])
            c50.addProduct(b, w0); c51.addProduct(b, w1)
        }
        @inline(__always) func put(_ t: Int, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>) {
            guard t < rows else { return }
            if columns == 16 {
                store8(lo, c + t * ldc)
                store8(hi, c + t * ldc + 8)
            } else {
                for j in 0..<columns { c[t * ldc + j] = j < 8 ? lo[j] : hi[j - 8] }
            }
        }
        put(0, c00, c01); put(1, c10, c11); put(2, c20, c21)
        put(3, c30, c31); put(4, c40, c41); put(5, c50, c51)
    }

    // MARK: One token at a time

    /// One token times F32 weights (F32 storage, or types decoded to it at load).
    static func multiplyEach(
        _ w: UnsafePointer<Float>, x: UnsafePointer<Float>, tokens: Int, columns n: Int, rows: Int,
        out: UnsafeMutablePointer<Float>, threads: Int
    ) {
        Kernels.matmul(x: x, tokens: tokens, w: w, n: n, rows: rows, c: out, ldc: rows, threads: threads)
    }

    /// The 16 codes of columns `4q ..< 4q+4` of a quad panel (``GroupedRows``) as exact floats, k-major.
    @inline(__always)
    static func quadColumns(
        _ c: UnsafePointer<Int8>, _ q: Int
    ) -> (
        SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>
    ) {
        let v = UnsafeRawPointer(c + q &* 64).loadUnaligned(as: SIMD16<Int32>.self)
        @inline(__always) func exact(_ code: SIMD16<Int32>) -> SIMD16<Float> {
            unsafeBitCast(code &+ 0x4B40_0000, to: SIMD16<Float>.self) - 12_582_912.0
        }
        return (exact((v &<< 24) &>> 24), exact((v &<< 16) &>> 24), exact((v &<< 8) &>> 24), exact(v &>> 24))
    }
}
