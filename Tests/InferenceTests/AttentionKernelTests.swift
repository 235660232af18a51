import Foundation
import Testing

@testable import Inference

@Suite("Attention kernels")
struct AttentionKernelTests {
    /// Distance in units in the last place between two non-negative floats.
    static func ulps(_ a: Float, _ b: Float) -> Int {
        abs(Int(a.bitPattern) - Int(b.bitPattern))
    }

    static func maxUlps(_ xs: [Float]) -> (Int, Float) {
        var worst = 0, at: Float = 0
        var i = 0
        while i < xs.count {
            var v = SIMD16<Float>(repeating: 0)
            for l in 0..<16 where i + l < xs.count { v[l] = xs[i + l] }
            let e = GGMLOrder.exp(v)
            for l in 0..<16 where i + l < xs.count {
                let u = ulps(e[l], expf(xs[i + l]))
                if u > worst { worst = u; at = xs[i + l] }
            }
            i += 16
        }
        return (worst, at)
    }

    @Test("ggml's vector exp is within 2 ulp of expf for softmax arguments (0 down to -100)")
    func expSweep() {
        // A dense sweep: 2 million points over [-100, 0].
        let count = 2_000_000
        let xs = (0...count).map { -100 * Float($0) / Float(count) }
        let (worst, at) = Self.maxUlps(xs)
        print("vector exp over [-100, 0]: max \(worst) ulp from expf at \(at)")
        #expect(worst <= 2, "max \(worst) ulp at \(at)")
        // Small arguments, where the result is close to 1.
        let small = (0...100_000).map { -Float($0) * 1e-6 }
        #expect(Self.maxUlps(small).0 <= 2)
        #expect(GGMLOrder.exp(SIMD16(repeating: 0)) == SIMD16(repeating: 1))
        // Masked scores (−∞) give +0 and overflow gives +∞, as the AVX-512 form's |n| > 192 lanes do.
        let special = GGMLOrder.exp(SIMD16(repeating: -.infinity))
        #expect(special == SIMD16(repeating: 0) && special[0].sign == .plus)
        #expect(GGMLOrder.exp(SIMD16(repeating: 200)) == SIMD16(repeating: .infinity))
    }

    @Test("ggml's vector exp underflows gradually as expf does, and to 0 below")
    func expUnderflow() {
        // Subnormal results: every float in [-104, -87] at a fine step, compared to the subnormal ulp.
        let count = 1_000_000
        let xs = (0...count).map { -87 - 17 * Float($0) / Float(count) }
        let (worst, at) = Self.maxUlps(xs)
        print("vector exp over [-104, -87]: max \(worst) ulp from expf at \(at)")
        #expect(worst <= 2, "max \(worst) ulp at \(at)")
        for x: Float in [-104, -104.5, -110, -200, -1e4, -Float.greatestFiniteMagnitude] {
            #expect(GGMLOrder.exp(SIMD16(repeating: x)) == SIMD16(repeating: 0), "\(x)")
        }
        #expect(GGMLOrder.exp(SIMD16(repeating: -103.2))[0] == expf(-103.2))
    }

    @Test("Tiles equal the plain FMA chains, for any number of rows and columns")
    func tiles() {
        let n = 37, ldx = 41, ldp = 70, ldc = 66
        let x = (0..<(6 * ldx)).map { Float(sin(Double($0) * 0.37)) }
        let panel = (0..<(n * ldp + 32)).map { Float(cos(Double($0) * 0.11)) }
        for rows in 1...6 {
            for columns in [1, 7, 16, 23, 32, 40] {
                var c = [Float](repeating: .nan, count: 6 * ldc)
                x.withUnsafeBufferPointer { xb in
                    panel.withUnsafeBufferPointer { pb in
                        AttentionKernels.product(
                            xb.baseAddress!, ldx: ldx, rows: rows, n: n, panels: pb.baseAddress!, panelStride: 16,
                            ldp: ldp,
                            c: &c, ldc: ldc, columns: columns)
                    }
                }
                for t in 0..<6 {
                    for j in 0..<ldc {
                        if t < rows, j < columns {
                            var acc: Float = 0
                            for k in 0..<n { acc = acc.addingProduct(x[t * ldx + k], panel[k * ldp + j]) }
                            #expect(c[t * ldc + j] == acc, "rows \(rows) columns \(columns) [\(t)][\(j)]")
                        } else {
                            #expect(c[t * ldc + j].isNaN, "rows \(rows) columns \(columns) [\(t)][\(j)] written")
                        }
                    }
                }
            }
        }
    }

    @Test("A softmax tile sums 16-key groups as _mm512_reduce_add_ps and the groups in double; masked keys give +0")
    func softmaxTile() {
        var s = (0..<64).map { Float(sin(Double($0) * 1.3)) * 10 }
        for i in [3, 17, 40, 41, 63] { s[i] = -.infinity }
        let raw = s
        let m = raw.max()!
        let sum = s.withUnsafeMutableBufferPointer { GGMLOrder.softmaxTile($0.baseAddress!, count: 64, max: m) }
        var expected = 0.0
        for g in 0..<4 {
            var v = SIMD16<Float>()
            for l in 0..<16 { v[l] = raw[16 * g + l] - m }
            let e = GGMLOrder.exp(v)
            for l in 0..<16 { #expect(s[16 * g + l] == e[l]) }
            // The reduction tree, written out: halves, quarters, then (0 + 2) + (1 + 3).
            let a = (0..<8).map { e[$0] + e[$0 + 8] }, b = (0..<4).map { a[$0] + a[$0 + 4] }
            expected += Double((b[0] + b[2]) + (b[1] + b[3]))
        }
        #expect(sum == expected)
        for i in [3, 17, 40, 41, 63] { #expect(s[i] == 0 && s[i].sign == .plus) }
        // The tree, not a sequential sum: values where the order shows.
        var v = SIMD16<Float>(repeating: 1)
        v[0] = 1e8; v[8] = -1e8
        #expect(GGMLOrder.sum16(v) == 14)
    }
}
