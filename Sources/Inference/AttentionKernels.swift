import Foundation

/// The register tiles of attention over the KV cache.
///
/// The caches are stored in 16-column panels, so the scores of up to 6 queries against 16 consecutive keys are
/// the register tile ``MatrixKernels/tile6x16(_:ldx:rows:n:panel:ldp:c:ldc:columns:accumulate:)`` over one contiguous panel (keys: `[block of 16 positions]
/// [d][16]`, per layer and KV head): for each component d, two loads of 16 keys' component d, six broadcasts
/// of the queries' component d, twelve FMAs. `P · V` is the same tile with k running over positions, over
/// value panels `[block of 16 dimensions][position][16]`, continuing each output's chain across key tiles.
///
/// Each output of a tile is one FMA chain over k in increasing order, whatever the number of rows in the
/// tile: the order of ggml's `simd_gemm` in its tiled flash attention.
enum AttentionKernels {
    /// Queries per register tile.
    static let blockRows = 6
    /// Keys (score tile) or value dimensions (output tile) per register tile.
    static let tileColumns = 16

    /// The one-row case of ``MatrixKernels/tile6x16(_:ldx:rows:n:panel:ldp:c:ldc:columns:)`` over two panels at once
    /// (`columns` ≤ 32 stored; `panel1` is read only when `columns` > 16): each output is the same FMA chain,
    /// so the results are identical.
    @inline(__always)
    static func tile1x32(
        _ x: UnsafePointer<Float>, n: Int, panel0: UnsafePointer<Float>, panel1: UnsafePointer<Float>,
        ldp: Int, c: UnsafeMutablePointer<Float>, columns: Int, accumulate: Bool
    ) {
        var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>(), c3 = SIMD8<Float>()
        if accumulate {
            if columns == 32 {
                c0 = MatrixKernels.load8(c, 0); c1 = MatrixKernels.load8(c, 8)
                c2 = MatrixKernels.load8(c, 16); c3 = MatrixKernels.load8(c, 24)
            } else {
                for j in 0..<columns {
                    switch j {
                    case 0..<8: c0[j] = c[j]
                    case 8..<16: c1[j - 8] = c[j]
                    case 16..<24: c2[j - 16] = c[j]
                    default: c3[j - 24] = c[j]
                    }
                }
            }
        }
        var p = panel0, q = columns > 16 ? panel1 : panel0
        for k in 0..<n {
            let b = SIMD8<Float>(repeating: x[k])
            c0.addProduct(b, MatrixKernels.load8(p, 0)); c1.addProduct(b, MatrixKernels.load8(p, 8))
            c2.addProduct(b, MatrixKernels.load8(q, 0)); c3.addProduct(b, MatrixKernels.load8(q, 8))
            p += ldp
            q += ldp
        }
        if columns == 32 {
            MatrixKernels.store8(c0, c); MatrixKernels.store8(c1, c + 8); MatrixKernels.store8(c2, c + 16);
            MatrixKernels.store8(c3, c + 24)
        } else {
            for j in 0..<columns {
                let v = j < 16 ? (j < 8 ? c0[j] : c1[j - 8]) : (j < 24 ? c2[j - 16] : c3[j - 24])
                c[j] = v
            }
        }
    }

    /// `c[t·ldc + j] = Σ_k x[t·ldx + k] · P_{j/16}[k·ldp + j%16]` for t < rows, j < columns, where the panel
    /// of columns 16b ..< 16b+16 is `P_b = panels + b·panelStride` (16 floats read per panel row, past
    /// `columns` up to the next multiple of 16).
    @inline(__always)
    static func product(
        _ x: UnsafePointer<Float>, ldx: Int, rows: Int, n: Int, panels: UnsafePointer<Float>,
        panelStride: Int, ldp: Int, c: UnsafeMutablePointer<Float>, ldc: Int, columns: Int,
        accumulate: Bool = false
    ) {
        var j = 0, p = panels
        if rows == 1 {
            while j < columns {
                tile1x32(
                    x, n: n, panel0: p, panel1: p + panelStride, ldp: ldp, c: c + j, columns: min(32, columns - j),
                    accumulate: accumulate)
                j += 32
                p += 2 * panelStride
            }
            return
        }
        while j < columns {
            MatrixKernels.tile6x16(
                x, ldx: ldx, rows: rows, n: n, panel: p, ldp: ldp, c: c + j, ldc: ldc, columns: min(16, columns - j),
                accumulate: accumulate)
            j += 16
            p += panelStride
        }
    }
}
