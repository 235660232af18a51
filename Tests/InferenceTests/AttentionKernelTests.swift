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
            var v = SIMD8<Float>(repeating: 0)
            for l in 0..<8 where i + l < xs.count { v[l] = xs[i + l] }
            let e = AttentionKernels.exp(v)
            for l in 0..<8 where i + l < xs.count {
                let u = ulps(e[l], expf(xs[i + l]))
                if u > worst { worst = u; at = xs[i + l] }
            }
            i += 8
        }
        return (worst, at)
    }

    @Test("The vector exp is within 2 ulp of expf for softmax arguments (0 down to -100)")
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
        #expect(AttentionKernels.exp(SIMD8(repeating: 0)) == SIMD8(repeating: 1))
    }

    @Test("The vector exp underflows gradually as expf does, and to 0 below")
    func expUnderflow() {
        // Subnormal results: every float in [-104, -87] at a fine step, compared to the subnormal ulp.
        let count = 1_000_000
        let xs = (0...count).map { -87 - 17 * Float($0) / Float(count) }
        let (worst, at) = Self.maxUlps(xs)
        print("vector exp over [-104, -87]: max \(worst) ulp from expf at \(at)")
        #expect(worst <= 2, "max \(worst) ulp at \(at)")
        for x: Float in [-104, -104.5, -110, -200, -1e4, -Float.greatestFiniteMagnitude] {
            #expect(AttentionKernels.exp(SIMD8(repeating: x)) == SIMD8(repeating: 0), "\(x)")
        }
        #expect(AttentionKernels.exp(SIMD8(repeating: -103.2))[0] == expf(-103.2))
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
                        AttentionKernels.product(xb.baseAddress!, ldx: ldx, rows: rows, n: n, panels: pb.baseAddress!, panelStride: 16, ldp: ldp,
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

    @Test("Softmax weights sum to the returned total, and the chunk tail is written as +0")
    func softmax() {
        for count in [1, 5, 8, 13, 64] {
            var s = (0..<(count + 8)).map { Float(sin(Double($0) * 1.3)) * 10 }
            let raw = s
            let sum = s.withUnsafeMutableBufferPointer {
                AttentionKernels.softmax($0.baseAddress!, count: count, scale: 0.5, softcap: nil)
            }
            let m = raw[0..<count].map { $0 * 0.5 }.max()!
            var total: Float = 0
            for i in 0..<count {
                #expect(abs(s[i] - expf(raw[i] * 0.5 - m)) <= 2e-7)
                total += s[i]
            }
            #expect(abs(total - sum) <= 1e-5 * sum)
            for i in count..<((count + 7) / 8 * 8) { #expect(s[i] == 0 && s[i].sign == .plus) }
        }
    }
}
