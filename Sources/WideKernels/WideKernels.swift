import Foundation

/// Matrix tiles for CPUs with AVX-512, compiled for `skylake-avx512` in this module only and called after a
/// run-time check (``available``), so the rest of Kiln still runs on any x86-64 with AVX2 and FMA.
///
/// Each output is the same sequential chain of FMAs over k as the AVX2 tiles compute, lane for lane, so
/// which tile ran does not change a single bit of the result.
public enum WideKernels {
    /// Whether this CPU and OS run AVX-512 Foundation instructions (the `avx512f` flag in /proc/cpuinfo,
    /// which the kernel shows only when it also saves the AVX-512 register state).
    public static let available: Bool = {
        #if os(Linux) && arch(x86_64)
        if ProcessInfo.processInfo.environment["KILN_NO_AVX512"] != nil { return false }
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        return flags.split(separator: " ").contains("avx512f")
        #else
        return false
        #endif
    }()

    @inline(__always)
    static func load16(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// `c[t·ldc + j] = Σ_k x[t·ldx + k] · a[k·16 + j]` and `c[t·ldc + 16 + j] = Σ_k x[t·ldx + k] · b[k·16 + j]`
    /// for `rows` ≤ 6 tokens (spare rows repeat the last token and are not stored), storing the first
    /// `columnsA` outputs of panel `a` and `columnsB` of panel `b`.
    public static func tile6x32(
        _ x: UnsafePointer<Float>, ldx: Int, rows: Int, n: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, columnsA: Int, columnsB: Int
    ) {
        var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
        var c20 = SIMD16<Float>(), c21 = SIMD16<Float>(), c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
        var c40 = SIMD16<Float>(), c41 = SIMD16<Float>(), c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
        let last = rows - 1
        let x0 = x, x1 = x + min(1, last) * ldx, x2 = x + min(2, last) * ldx
        let x3 = x + min(3, last) * ldx, x4 = x + min(4, last) * ldx, x5 = x + min(5, last) * ldx
        for k in 0..<n {
            let w0 = load16(a, k &* 16), w1 = load16(b, k &* 16)
            var v = SIMD16<Float>(repeating: x0[k])
            c00.addProduct(v, w0); c01.addProduct(v, w1)
            v = SIMD16(repeating: x1[k])
            c10.addProduct(v, w0); c11.addProduct(v, w1)
            v = SIMD16(repeating: x2[k])
            c20.addProduct(v, w0); c21.addProduct(v, w1)
            v = SIMD16(repeating: x3[k])
            c30.addProduct(v, w0); c31.addProduct(v, w1)
            v = SIMD16(repeating: x4[k])
            c40.addProduct(v, w0); c41.addProduct(v, w1)
            v = SIMD16(repeating: x5[k])
            c50.addProduct(v, w0); c51.addProduct(v, w1)
        }
        @inline(__always) func put(_ t: Int, _ lo: SIMD16<Float>, _ hi: SIMD16<Float>) {
            guard t < rows else { return }
            let row = c + t * ldc
            if columnsA == 16 {
                UnsafeMutableRawPointer(row).storeBytes(of: lo, as: SIMD16<Float>.self)
            } else {
                for j in 0..<columnsA { row[j] = lo[j] }
            }
            if columnsB == 16 {
                UnsafeMutableRawPointer(row + 16).storeBytes(of: hi, as: SIMD16<Float>.self)
            } else {
                for j in 0..<columnsB { row[16 + j] = hi[j] }
            }
        }
        put(0, c00, c01); put(1, c10, c11); put(2, c20, c21)
        put(3, c30, c31); put(4, c40, c41); put(5, c50, c51)
    }
}
