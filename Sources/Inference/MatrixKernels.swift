import Quantization

/// The matrix products of the forward pass, over every ``WeightMatrix`` storage.
///
/// - One token at a time (decoding): a row-parallel matrix-vector product that streams the stored form
///   (bytes plus group scales for quantized weights) and converts in registers.
/// - A batch (prompt evaluation): threads take 16-row panels, decode each panel once to F32 in k-major
///   order, and run a 6-token × 16-output register tile over it, so weights are read once per batch and
///   the inner loop is two loads, six broadcasts and twelve FMAs.
///
/// Each output is computed by the same code whatever the thread count, so results do not depend on it.
enum MatrixKernels {
    /// Tokens per register tile; batches shorter than this go token by token.
    static let tokenStrip = 6
    static let panelRows = 16

    // MARK: Batches

    static func multiplyBatch(_ w: WeightMatrix, x: UnsafePointer<Float>, tokens: Int, out: UnsafeMutablePointer<Float>, threads: Int) {
        let n = w.columns, rows = w.rows
        let panels = (rows + panelRows - 1) / panelRows
        let xs = UncheckedBox(x), os = SendablePointer(out)
        parallelFor(panels, threads: threads) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n * panelRows) { pb in
                let panel = pb.baseAddress!
                for p in range {
                    let r0 = p * panelRows
                    let valid = min(panelRows, rows - r0)
                    decodePanel(w, rows: r0, count: valid, into: panel)
                    var t = 0
                    while t + tokenStrip <= tokens {
                        tile6x16(xs.value + t * n, n: n, panel: panel, c: os.p + t * rows + r0, ldc: rows, columns: valid)
                        t += tokenStrip
                    }
                    while t < tokens {
                        tile1x16(xs.value + t * n, n: n, panel: panel, c: os.p + t * rows + r0, columns: valid)
                        t += 1
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
            let glen = g.groupLength, gpr = g.groupsPerRow
            for j in 0..<count {
                let c = g.codes.pointer + (r0 + j) * n, s = g.scales.pointer + (r0 + j) * gpr
                let o = g.offsets.map { $0.pointer + (r0 + j) * gpr }
                var k = 0
                for gi in 0..<gpr {
                    let a = s[gi]
                    if let o {
                        let b = o[gi]
                        for _ in 0..<glen {
                            panel[k * panelRows + j] = a * Float(c[k]) + b
                            k += 1
                        }
                    } else {
                        for _ in 0..<glen {
                            panel[k * panelRows + j] = a * Float(c[k])
                            k += 1
                        }
                    }
                }
            }
        case let .f32(p):
            for j in 0..<count {
                let row = p + (r0 + j) * n
                for k in 0..<n { panel[k * panelRows + j] = row[k] }
            }
        case .f16, .bf16:
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { tb in
                let tmp = tb.baseAddress!
                for j in 0..<count {
                    w.row(r0 + j, into: tmp)
                    for k in 0..<n { panel[k * panelRows + j] = tmp[k] }
                }
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

    /// `c[t·ldc + j] = Σ_k x[t·n + k] · panel[k·16 + j]` for 6 tokens and the first `columns` of 16 outputs.
    static func tile6x16(_ x: UnsafePointer<Float>, n: Int, panel: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
                         ldc: Int, columns: Int) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        let x0 = x, x1 = x + n, x2 = x + 2 * n, x3 = x + 3 * n, x4 = x + 4 * n, x5 = x + 5 * n
        for k in 0..<n {
            let w0 = load8(panel, k * 16), w1 = load8(panel, k * 16 + 8)
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
        if columns == 16 {
            store8(c00, c); store8(c01, c + 8)
            store8(c10, c + ldc); store8(c11, c + ldc + 8)
            store8(c20, c + 2 * ldc); store8(c21, c + 2 * ldc + 8)
            store8(c30, c + 3 * ldc); store8(c31, c + 3 * ldc + 8)
            store8(c40, c + 4 * ldc); store8(c41, c + 4 * ldc + 8)
            store8(c50, c + 5 * ldc); store8(c51, c + 5 * ldc + 8)
        } else {
            let all = [(c00, c01), (c10, c11), (c20, c21), (c30, c31), (c40, c41), (c50, c51)]
            for (t, (lo, hi)) in all.enumerated() {
                for j in 0..<columns { c[t * ldc + j] = j < 8 ? lo[j] : hi[j - 8] }
            }
        }
    }

    /// One token against a panel (the remainder of a batch).
    static func tile1x16(_ x: UnsafePointer<Float>, n: Int, panel: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, columns: Int) {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), e0 = SIMD8<Float>(), e1 = SIMD8<Float>()
        var k = 0
        while k + 2 <= n {
            let b = SIMD8<Float>(repeating: x[k]), d = SIMD8<Float>(repeating: x[k + 1])
            a0.addProduct(b, load8(panel, k * 16)); a1.addProduct(b, load8(panel, k * 16 + 8))
            e0.addProduct(d, load8(panel, k * 16 + 16)); e1.addProduct(d, load8(panel, k * 16 + 24))
            k += 2
        }
        if k < n {
            let b = SIMD8<Float>(repeating: x[k])
            a0.addProduct(b, load8(panel, k * 16)); a1.addProduct(b, load8(panel, k * 16 + 8))
        }
        let lo = a0 + e0, hi = a1 + e1
        for j in 0..<columns { c[j] = j < 8 ? lo[j] : hi[j - 8] }
    }

    // MARK: One token at a time

    static func multiplyEach(_ w: WeightMatrix, x: UnsafePointer<Float>, tokens: Int, out: UnsafeMutablePointer<Float>, threads: Int) {
        let n = w.columns, rows = w.rows
        switch w.storage {
        case let .f32(p):
            Kernels.matmul(x: x, tokens: tokens, w: p, n: n, rows: rows, c: out, ldc: rows, threads: threads)
        case let .groups(g):
            for t in 0..<tokens {
                groupedVector(g, x: x + t * n, out: out + t * rows, threads: threads)
            }
        case .f16, .bf16:
            let xs = UncheckedBox(x), os = SendablePointer(out)
            parallelFor(rows, threads: threads) { range in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { tb in
                    let tmp = tb.baseAddress!
                    for r in range {
                        w.row(r, into: tmp)
                        for t in 0..<tokens { os.p[t * rows + r] = Kernels.dot(xs.value + t * n, tmp, n: n) }
                    }
                }
            }
        }
    }

    /// Eight signed bytes as exact floats. Written lane by lane so LLVM emits one `vpmovsxbd` (the SIMD
    /// `truncatingIfNeeded:` conversion is an out-of-line call); the int→float step is exact for |v| < 2²².
    @inline(__always)
    static func floats(_ c: UnsafePointer<Int8>, _ k: Int) -> SIMD8<Float> {
        let v = SIMD8<Int32>(Int32(c[k]), Int32(c[k + 1]), Int32(c[k + 2]), Int32(c[k + 3]),
                             Int32(c[k + 4]), Int32(c[k + 5]), Int32(c[k + 6]), Int32(c[k + 7]))
        return unsafeBitCast(v &+ 0x4B40_0000, to: SIMD8<Float>.self) - 12_582_912.0
    }

    /// `out[r] = Σ_g scale[r,g] · (codes[r,g] · x_g) + offset[r,g] · Σ x_g`.
    static func groupedVector(_ g: GroupedRows, x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, threads: Int) {
        let glen = g.groupLength, gpr = g.groupsPerRow
        withUnsafeTemporaryAllocation(of: Float.self, capacity: gpr) { sb in
            let xsum = sb.baseAddress!
            if g.offsets != nil {
                for gi in 0..<gpr {
                    var s: Float = 0
                    for i in (gi * glen)..<((gi + 1) * glen) { s += x[i] }
                    xsum[gi] = s
                }
            }
            let xs = UncheckedBox(x), os = SendablePointer(out), sums = UncheckedBox(UnsafePointer(xsum))
            parallelFor((g.rows + 1) / 2, threads: threads) { range in
                for pair in range {
                    let r0 = 2 * pair, r1 = min(2 * pair + 1, g.rows - 1)
                    var (y0, y1) = rowPair(g, r0, r1, xs.value)
                    if let o = g.offsets {
                        let o0 = o.pointer + r0 * gpr, o1 = o.pointer + r1 * gpr
                        for gi in 0..<gpr {
                            y0 += o0[gi] * sums.value[gi]
                            y1 += o1[gi] * sums.value[gi]
                        }
                    }
                    os.p[r0] = y0
                    os.p[r1] = y1
                }
            }
        }
    }

    /// `Σ_g scale[r,g] · (codes[r,g] · x_g)` for two rows at once: four independent FMA chains sharing the
    /// activation loads. The group loop bound is a runtime value so LLVM keeps one `vpmovsxbd` per 8 codes.
    @inline(__always)
    static func rowPair(_ g: GroupedRows, _ r0: Int, _ r1: Int, _ x: UnsafePointer<Float>) -> (Float, Float) {
        let n = g.columns, gpr = g.groupsPerRow, glen = g.groupLength
        let c0 = UnsafePointer(g.codes.pointer + r0 * n), c1 = UnsafePointer(g.codes.pointer + r1 * n)
        let s0 = g.scales.pointer + r0 * gpr, s1 = g.scales.pointer + r1 * gpr
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var k = 0
        for gi in 0..<gpr {
            var p0 = SIMD8<Float>(), p1 = SIMD8<Float>(), q0 = SIMD8<Float>(), q1 = SIMD8<Float>()
            let end = k &+ glen
            while k < end {
                let xa = load8(x, k), xb = load8(x, k &+ 8)
                p0.addProduct(floats(c0, k), xa)
                p1.addProduct(floats(c1, k), xa)
                q0.addProduct(floats(c0, k &+ 8), xb)
                q1.addProduct(floats(c1, k &+ 8), xb)
                k &+= 16
            }
            acc0.addProduct(p0 + q0, SIMD8(repeating: s0[gi]))
            acc1.addProduct(p1 + q1, SIMD8(repeating: s1[gi]))
        }
        return (acc0.sum(), acc1.sum())
    }
}
