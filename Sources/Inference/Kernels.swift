import Dispatch
import Foundation

/// A pointer wrapper that may cross into `concurrentPerform` closures (the caller guarantees disjoint writes).
@usableFromInline
package struct SendablePointer<T>: @unchecked Sendable {
    @usableFromInline package let p: UnsafeMutablePointer<T>
    @inlinable package init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}

/// Runs `body(range)` over contiguous ranges covering 0..<count, on up to `threads` threads. The split
/// depends only on `count` and `threads`, so any per-element result is independent of which thread runs it.
@inlinable
package func parallelFor(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    let parts = min(threads, count, WorkerPool.shared.workerCount + 1)
    if parts <= 1 {
        body(0..<count)
        return
    }
    withoutActuallyEscaping(body) { body in
        WorkerPool.shared.run(parts: parts) { k in
            let lo = count * k / parts, hi = count * (k + 1) / parts
            if lo < hi { body(lo..<hi) }
        }
    }
}

@usableFromInline
package struct UncheckedBox<T>: @unchecked Sendable {
    @usableFromInline package let value: T
    @inlinable package init(_ value: T) { self.value = value }
}

/// Dense F32 kernels of the forward pass.
public enum Kernels {
    /// `c[t*ldc + o] = Σ_k x[t*n + k] · w[o*n + k]` for t < tokens, o in `outputs`: activations times the
    /// transpose of a row-major weight matrix (GGML layout: a weight row is one output).
    /// `n` must be a multiple of 8. Register-blocked 3 tokens × 4 outputs with SIMD8 FMA accumulators.
    @inlinable
    public static func matmul(
        x: UnsafePointer<Float>, tokens: Int, w: UnsafePointer<Float>, n: Int, outputs: Range<Int>,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(n % 8 == 0)
        let tokenBlock = 48
        var tb = 0
        while tb < tokens {
            let te = min(tokens, tb + tokenBlock)
            var o = outputs.lowerBound
            while o + 4 <= outputs.upperBound {
                var t = tb
                while t + 3 <= te {
                    tile3x4(x + t * n, w + o * n, n: n, c: c + t * ldc + o, ldc: ldc)
                    t += 3
                }
                while t < te {
                    tile1x4(x + t * n, w + o * n, n: n, c: c + t * ldc + o)
                    t += 1
                }
                o += 4
            }
            while o < outputs.upperBound {
                for t in tb..<te { c[t * ldc + o] = dot(x + t * n, w + o * n, n: n) }
                o += 1
            }
            tb = te
        }
    }

    @inlinable @inline(__always)
    static func load8(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inlinable
    static func tile3x4(
        _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, n: Int, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>(), a03 = SIMD8<Float>()
        var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>(), a13 = SIMD8<Float>()
        var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>(), a23 = SIMD8<Float>()
        let x1 = x + n, x2 = x + 2 * n
        let w1 = w + n, w2 = w + 2 * n, w3 = w + 3 * n
        var k = 0
        while k < n {
            let b0 = load8(w, k), b1 = load8(w1, k), b2 = load8(w2, k), b3 = load8(w3, k)
            let v0 = load8(x, k)
            a00.addProduct(v0, b0); a01.addProduct(v0, b1); a02.addProduct(v0, b2); a03.addProduct(v0, b3)
            let v1 = load8(x1, k)
            a10.addProduct(v1, b0); a11.addProduct(v1, b1); a12.addProduct(v1, b2); a13.addProduct(v1, b3)
            let v2 = load8(x2, k)
            a20.addProduct(v2, b0); a21.addProduct(v2, b1); a22.addProduct(v2, b2); a23.addProduct(v2, b3)
            k += 8
        }
        c[0] = a00.sum(); c[1] = a01.sum(); c[2] = a02.sum(); c[3] = a03.sum()
        let c1 = c + ldc, c2 = c + 2 * ldc
        c1[0] = a10.sum(); c1[1] = a11.sum(); c1[2] = a12.sum(); c1[3] = a13.sum()
        c2[0] = a20.sum(); c2[1] = a21.sum(); c2[2] = a22.sum(); c2[3] = a23.sum()
    }

    @inlinable
    static func tile1x4(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, n: Int, c: UnsafeMutablePointer<Float>) {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var e0 = SIMD8<Float>(), e1 = SIMD8<Float>(), e2 = SIMD8<Float>(), e3 = SIMD8<Float>()
        let w1 = w + n, w2 = w + 2 * n, w3 = w + 3 * n
        var k = 0
        while k + 16 <= n {
            let v = load8(x, k), u = load8(x, k + 8)
            a0.addProduct(v, load8(w, k)); a1.addProduct(v, load8(w1, k))
            a2.addProduct(v, load8(w2, k)); a3.addProduct(v, load8(w3, k))
            e0.addProduct(u, load8(w, k + 8)); e1.addProduct(u, load8(w1, k + 8))
            e2.addProduct(u, load8(w2, k + 8)); e3.addProduct(u, load8(w3, k + 8))
            k += 16
        }
        if k < n {
            let v = load8(x, k)
            a0.addProduct(v, load8(w, k)); a1.addProduct(v, load8(w1, k))
            a2.addProduct(v, load8(w2, k)); a3.addProduct(v, load8(w3, k))
        }
        c[0] = (a0 + e0).sum(); c[1] = (a1 + e1).sum(); c[2] = (a2 + e2).sum(); c[3] = (a3 + e3).sum()
    }

    /// Dot product of two F32 vectors of length `n` (multiple of 8).
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, n: Int) -> Float {
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
        var k = 0
        while k + 16 <= n {
            s0.addProduct(load8(a, k), load8(b, k))
            s1.addProduct(load8(a, k + 8), load8(b, k + 8))
            k += 16
        }
        if k < n { s0.addProduct(load8(a, k), load8(b, k)) }
        return (s0 + s1).sum()
    }

    /// Multi-threaded `matmul` over all `rows` outputs; threads split the outputs in 4-row groups.
    @inlinable
    public static func matmul(
        x: UnsafePointer<Float>, tokens: Int, w: UnsafePointer<Float>, n: Int, rows: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
    ) {
        let groups = (rows + 3) / 4
        let xs = SendablePointer(UnsafeMutablePointer(mutating: x)),
            ws = SendablePointer(UnsafeMutablePointer(mutating: w))
        let cs = SendablePointer(c)
        // Small problems (decode) still split, since the weights dominate the time.
        parallelFor(groups, threads: threads) { r in
            matmul(
                x: xs.p, tokens: tokens, w: ws.p, n: n, outputs: (r.lowerBound * 4)..<min(rows, r.upperBound * 4),
                c: cs.p, ldc: ldc)
        }
    }

    /// llama.cpp's `ggml_rms_norm` (sum of squares in double) followed by the elementwise weight.
    @inlinable
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, n: Int, epsilon: Float,
        into y: UnsafeMutablePointer<Float>
    ) {
        var sum = 0.0
        for i in 0..<n { sum += Double(x[i] * x[i]) }
        let mean = Float(sum / Double(n))
        let scale = 1 / (mean + epsilon).squareRoot()
        for i in 0..<n { y[i] = (x[i] * scale) * weight[i] }
    }
}
