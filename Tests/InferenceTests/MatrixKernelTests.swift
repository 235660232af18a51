import Foundation
import GGUF
import Quantization
import Testing
import VNNIKernels
import WideKernels

@testable import Inference

/// The matrix products over every weight storage, against a double-precision product of the dequantized
/// weights and the grid-rounded activations.
@Suite("Matrix kernels")
struct MatrixKernelTests {
    static let types: [GGMLType] = [
        .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .iq4_nl,
        .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .tq2_0
    ]

    /// A `rows × columns` matrix of `type` with pseudo-random weights.
    static func matrix(_ type: GGMLType, rows: Int, columns: Int) throws -> (WeightMatrix, [Float]) {
        var state: UInt64 = 0x5EED &+ UInt64(type.rawValue)
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
        let x = (0..<(rows * columns)).map { _ in next() }
        let weights = InMemoryWeights(name: "test", metadata: GGUFMetadata())
        try weights.add(name: "w", type: type, dimensions: [columns, rows]) { buf in
            try Quantizer.quantize(
                type, rows: rows, columns: columns, source: x, destination: buf.baseAddress!,
                destinationCount: buf.count)
        }
        let w = try WeightMatrix(file: weights, name: "w", columns: columns, rows: rows, threads: 2)
        let info = try #require(weights.tensor(named: "w"))
        var dequantized = [Float](repeating: 0, count: rows * columns)
        try Quantizer.dequantize(
            type, source: weights.data(for: info).baseAddress!, count: rows * columns, destination: &dequantized)
        return (w, dequantized)
    }

    @Test("Rows decode to the dequantized values", arguments: types)
    func rows(type: GGMLType) throws {
        let (w, expected) = try Self.matrix(type, rows: 5, columns: 256)
        var row = [Float](repeating: 0, count: 256)
        for r in 0..<5 {
            w.row(r, into: &row)
            #expect(row == Array(expected[(r * 256)..<((r + 1) * 256)]), "\(type) row \(r)")
        }
    }

    @Test("One token and a batch give the exact product to float rounding", arguments: types)
    func products(type: GGMLType) throws {
        let rows = 37, columns = 512
        let (w, deq) = try Self.matrix(type, rows: rows, columns: columns)
        for tokens in [1, 3, 6, 13] {
            let x = (0..<(tokens * columns)).map { i in Float(sin(Double(i) * 0.37)) * 2 }
            var rounded = x
            var out = [Float](repeating: .nan, count: tokens * rows)
            var scratch = [Float](repeating: 0, count: tokens * columns)
            x.withUnsafeBufferPointer { xb in
                w.apply(xb.baseAddress!, tokens: tokens, into: &out, scratch: &scratch, threads: 2)
                for t in 0..<tokens {
                    w.grid.round(xb.baseAddress! + t * columns, into: &rounded[t * columns], count: columns)
                }
            }
            for t in 0..<tokens {
                for r in 0..<rows {
                    var exact = 0.0, magnitude = 0.0
                    for k in 0..<columns {
                        let p = Double(deq[r * columns + k]) * Double(rounded[t * columns + k])
                        exact += p
                        magnitude += abs(p)
                    }
                    let got = Double(out[t * rows + r])
                    #expect(
                        abs(got - exact) <= 1e-6 * magnitude + 1e-30,
                        "\(type) tokens \(tokens) [\(t), \(r)]: \(got) vs \(exact)")
                    if abs(got - exact) > 1e-6 * magnitude + 1e-30 { return }
                }
            }
        }
    }

    @Test("The thread count does not change a product")
    func threads() throws {
        for type in [GGMLType.q4_K, .q5_0, .f16, .f32] {
            let (w, _) = try Self.matrix(type, rows: 50, columns: 256)
            for tokens in [1, 9] {
                let x = (0..<(tokens * 256)).map { Float(($0 * 7919) % 23) - 11 }
                var a = [Float](repeating: 0, count: tokens * 50), b = a
                var scratch = [Float](repeating: 0, count: tokens * 256)
                w.apply(x, tokens: tokens, into: &a, scratch: &scratch, threads: 1)
                w.apply(x, tokens: tokens, into: &b, scratch: &scratch, threads: 2)
                #expect(a == b, "\(type) tokens \(tokens)")
            }
        }
    }

    @Test("A batch's rows do not depend on how it is split, and one token at a time agrees with them")
    func tokenEqualsBatch() throws {
        for type in [GGMLType.q4_K, .q5_0, .q6_K, .q4_1, .q8_0, .q4_0, .q3_K, .f16] {
            let (w, _) = try Self.matrix(type, rows: 40, columns: 256)
            let tokens = 10
            let x = (0..<(tokens * 256)).map { Float(cos(Double($0) * 0.11)) }
            var batch = [Float](repeating: 0, count: tokens * 40), part = batch, one = [Float](repeating: 0, count: 40)
            var scratch = [Float](repeating: 0, count: tokens * 256)
            w.apply(x, tokens: tokens, into: &batch, scratch: &scratch, threads: 2)
            // The same micro-batch in two calls (rows 0..<6, then 6..<10, the last two in Q4_K's leftover order).
            for (lo, hi) in [(0, 6), (6, 10)] {
                Array(x[(lo * 256)..<(hi * 256)]).withUnsafeBufferPointer { xb in
                    part.withUnsafeMutableBufferPointer { pb in
                        w.apply(
                            xb.baseAddress!, tokens: hi - lo, into: pb.baseAddress! + lo * 40, scratch: &scratch,
                            threads: 2,
                            placement: GGMLOrder.Placement(tokens: tokens, first: lo))
                    }
                }
            }
            #expect(part == batch, "\(type)")
            for t in 0..<tokens {
                Array(x[(t * 256)..<((t + 1) * 256)]).withUnsafeBufferPointer { xb in
                    w.apply(xb.baseAddress!, tokens: 1, into: &one, scratch: &scratch, threads: 2)
                }
                let row = batch[(t * 40)..<((t + 1) * 40)]
                let worst = zip(one, row).map { abs($0 - $1) / max(1, abs($1)) }.max()!
                #expect(worst < 1e-4, "\(type) token \(t): \(worst)")
            }
        }
    }

    /// The scalar definitions of the activation grids (quantize_row_q8_0's AVX2 rounding, quantize_row_q8_K).
    static func referenceRound(_ grid: ActivationGrid, _ x: [Float]) -> [Float] {
        var y = x
        switch grid {
        case .q8_0:
            for b in stride(from: 0, to: x.count, by: 32) {
                var amax: Float = 0
                for i in b..<(b + 32) { amax = max(amax, abs(x[i])) }
                let d = Float(Float16(amax / 127)), id: Float = amax != 0 ? 127 / amax : 0
                for i in b..<(b + 32) { y[i] = (x[i] * id).rounded(.toNearestOrEven) * d }
            }
        case .q8_K:
            for b in stride(from: 0, to: x.count, by: 256) {
                var amax: Float = 0, vmax: Float = 0
                for i in b..<(b + 256) where abs(x[i]) > amax { amax = abs(x[i]); vmax = x[i] }
                if amax == 0 { for i in b..<(b + 256) { y[i] = 0 }; continue }
                let iscale = -127 / vmax, d = 1 / iscale
                for i in b..<(b + 256) { y[i] = min(127, (iscale * x[i]).rounded(.toNearestOrEven)) * d }
            }
        default: break
        }
        return y
    }

    @Test("The vectorized activation grids equal their scalar definitions", arguments: [ActivationGrid.q8_0, .q8_K])
    func grids(grid: ActivationGrid) {
        var x = (0..<4096).map { Float(sin(Double($0) * 1.7)) * Float(1 + $0 % 13) }
        for i in 0..<256 { x[i] = 0 }  // an all-zero block
        x[300] = -40; x[301] = 40  // equal magnitudes: the first sets the sign
        for i in 512..<768 { x[i] = Float(i % 7 - 3) * 0.5 }  // exact ties at .5 steps
        var y = [Float](repeating: .nan, count: x.count)
        grid.round(x, into: &y, count: x.count)
        let expected = Self.referenceRound(grid, x)
        #expect(zip(y, expected).allSatisfy { $0.bitPattern == $1.bitPattern })
    }

    @Test("The AVX-512 tile equals two AVX2 tiles bit for bit", .enabled(if: WideKernels.available))
    func wideTile() {
        let n = 200, ldc = 40
        let x = (0..<(6 * n)).map { Float(sin(Double($0) * 0.013)) * 3 }
        let a = (0..<(16 * n)).map { Float(cos(Double($0) * 0.7)) },
            b = (0..<(16 * n)).map { Float(sin(Double($0) * 0.3)) }
        for rows in [6, 4, 1] {
            var narrow = [Float](repeating: 0, count: 6 * ldc), wide = narrow
            MatrixKernels.tile6x16(x, ldx: n, rows: rows, n: n, panel: a, ldp: 16, c: &narrow, ldc: ldc, columns: 16)
            narrow.withUnsafeMutableBufferPointer { c in
                MatrixKernels.tile6x16(
                    x, ldx: n, rows: rows, n: n, panel: b, ldp: 16, c: c.baseAddress! + 16, ldc: ldc, columns: 13)
            }
            WideKernels.tile6x32(
                x, ldx: n, rows: rows, n: n, a: a, b: b, c: &wide, ldc: ldc, columnsA: 16, columnsB: 13)
            #expect(narrow == wide, "rows \(rows)")
        }
    }

    @Test(
        "The Q8_0/Q5_0 products are the same bits on every route: portable, AVX-512 float tiles, VNNI",
        arguments: [GGMLType.q8_0, .q5_0])
    func q0Routes(type: GGMLType) throws {
        let rows = 37, columns = 512, blocks = columns / 32
        let (w, _) = try Self.matrix(type, rows: rows, columns: columns)
        guard case let .groups(g) = w.storage else { Issue.record("\(type) is not stored as groups"); return }
        for tokens in [1, 3, 4, 9] {
            let x = (0..<(tokens * columns)).map { i in Float(sin(Double(i) * 0.37)) * 2 }
            var codes = [Float](repeating: 0, count: tokens * columns),
                scales = [Float](repeating: 0, count: tokens * blocks)
            for t in 0..<tokens {
                GGMLOrder.quantizeQ8_0(
                    x.withUnsafeBufferPointer { $0.baseAddress! } + t * columns, count: columns,
                    codes: &codes[t * columns], scales: &scales[t * blocks])
            }
            var portable = [Float](repeating: .nan, count: tokens * rows)
            GGMLOrder.productQ0(
                g, panels: 0..<g.panels, codes: codes, scales: scales, tokens: tokens, out: &portable, ldo: rows)
            if WideKernels.available {
                var wide = [Float](repeating: .nan, count: tokens * rows)
                GGMLOrder.productQ0Wide(
                    g, pairs: 0..<((g.panels + 1) / 2), codes: codes, scales: scales, tokens: tokens,
                    out: &wide, ldo: rows)
                #expect(wide.map(\.bitPattern) == portable.map(\.bitPattern), "\(type) AVX-512, \(tokens) tokens")
            }
            if VNNIKernels.available {
                var packed = [Int32](repeating: 0, count: tokens * columns / 2)
                for t in 0..<tokens {
                    GGMLOrder.packQ0Activations(
                        codes.withUnsafeBufferPointer { $0.baseAddress! } + t * columns, columns: columns,
                        into: &packed[t * columns / 2])
                }
                var integer = [Float](repeating: .nan, count: tokens * rows)
                GGMLOrder.productQ0Integer(
                    g, pairs: 0..<((g.panels + 1) / 2), activations: packed, scales: scales,
                    tokens: tokens, out: &integer, ldo: rows)
                #expect(integer.map(\.bitPattern) == portable.map(\.bitPattern), "\(type) VNNI, \(tokens) tokens")
            }
        }
    }

    @Test(
        "Q4_K products are the same bits with VNNI as with the portable kernel, GEMM and GEMV rows",
        .enabled(if: VNNIKernels.available))
    func q4KRoutes() throws {
        let rows = 24, columns = 512
        let (w, _) = try Self.matrix(.q4_K, rows: rows, columns: columns)
        let weights = try #require(w.blocks)
        for (tokens, leftover) in [(1, 0), (3, 0), (4, 4), (9, 8), (9, 2)] {
            let x = (0..<(tokens * columns)).map { i in Float(sin(Double(i) * 0.37)) * 2 }
            let padded = (tokens + 3) / 4 * 4
            var prepared = [UInt8](repeating: 0, count: Q4_KProduct.activationBytes(tokens: padded, columns: columns))
            var packed = [UInt8](repeating: 0, count: tokens * VNNIKernels.q4KTokenBytes(columns: columns))
            var panel = [UInt8](repeating: 0, count: columns / 256 * VNNIKernels.q4KBlockBytes)
            var portable = [Float](repeating: .nan, count: tokens * rows), integer = portable
            prepared.withUnsafeMutableBytes { act in
                Q4_KProduct.prepare(
                    x, columns: columns, tokens: 0..<tokens, totalTokens: tokens, into: act.baseAddress!)
                Q4_KProduct.multiply(
                    weights: weights, rows: 0..<rows, columns: columns, activations: act.baseAddress!,
                    tokens: tokens, out: &portable, ldo: rows, leftoverFrom: leftover)
                for t in 0..<tokens { Q4_KProduct.pack(act.baseAddress!, columns: columns, token: t, into: &packed) }
            }
            for p in 0..<((rows + 15) / 16) {
                Q4_KProduct.repack16(weights, firstRow: p * 16, rows: rows, columns: columns, into: &panel)
                integer.withUnsafeMutableBufferPointer { out in
                    VNNIKernels.q4KProduct(
                        panel: panel, rows: min(16, rows - p * 16), columns: columns, activations: packed,
                        tokens: tokens, leftoverFrom: leftover, out: out.baseAddress! + p * 16, ldo: rows)
                }
            }
            #expect(integer.map(\.bitPattern) == portable.map(\.bitPattern), "\(tokens) tokens, GEMV from \(leftover)")
        }
    }

    @Test(
        "Q6_K and Q3_K tiled products are the same bits with VNNI as with the portable kernel",
        .enabled(if: VNNIKernels.available), arguments: [GGMLType.q6_K, .q3_K])
    func kTiledRoutes(type: GGMLType) throws {
        let rows = 24, columns = 512
        let (w, _) = try Self.matrix(type, rows: rows, columns: columns)
        let weights = try #require(w.blocks)
        for tokens in [1, 5, 8, 9] {
            let x = (0..<(tokens * columns)).map { i in Float(sin(Double(i) * 0.37)) * 2 }
            var act = [UInt8](repeating: 0, count: Q8KActivations.bytes(tokens: tokens, columns: columns))
            var packed = [UInt8](repeating: 0, count: tokens * columns / 256 * VNNIKernels.kTiledActivationBytes)
            var panel = [UInt8](repeating: 0, count: columns / 256 * VNNIKernels.kTiledBlockBytes)
            var portable = [Float](repeating: .nan, count: tokens * rows), integer = portable
            act.withUnsafeMutableBytes { a in
                Q8KActivations.prepare(x, columns: columns, tokens: 0..<tokens, into: a.baseAddress!)
                for t in 0..<tokens { KQuantProduct.pack(a.baseAddress!, columns: columns, token: t, into: &packed) }
            }
            if type == .q6_K {
                KQuantProduct.multiply(
                    Q6KFormat.self, weights: weights, rows: 0..<rows, columns: columns, activations: act,
                    tokens: tokens, out: &portable, ldo: rows, arithmetic: .tiled)
            } else {
                KQuantProduct.multiply(
                    Q3KFormat.self, weights: weights, rows: 0..<rows, columns: columns, activations: act,
                    tokens: tokens, out: &portable, ldo: rows, arithmetic: .tiled)
            }
            for p in 0..<((rows + 15) / 16) {
                if type == .q6_K {
                    KQuantProduct.repack16(
                        Q6KFormat.self, weights: weights, firstRow: p * 16, rows: rows, columns: columns, into: &panel)
                } else {
                    KQuantProduct.repack16(
                        Q3KFormat.self, weights: weights, firstRow: p * 16, rows: rows, columns: columns, into: &panel)
                }
                integer.withUnsafeMutableBufferPointer { out in
                    VNNIKernels.kTiledProduct(
                        panel: panel, rows: min(16, rows - p * 16), columns: columns, activations: packed,
                        tokens: tokens, out: out.baseAddress! + p * 16, ldo: rows)
                }
            }
            #expect(integer.map(\.bitPattern) == portable.map(\.bitPattern), "\(type), \(tokens) tokens")
        }
    }
}
