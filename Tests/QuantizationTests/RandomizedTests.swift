import Foundation
import Testing

@testable import Quantization

/// SplitMix64: a tiny seeded generator so every failure can be replayed.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    /// Approximately N(0, 1) (Box–Muller).
    mutating func gauss() -> Float {
        let u = max(unit(), 1e-7), v = unit()
        return (-2 * logf(u)).squareRoot() * cosf(2 * .pi * v)
    }
}

/// Random rows with the edge cases the quantizers branch on.
enum RandomRows {
    static func make(rows: Int, columns: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(state: seed)
        let scales: [Float] = [0.02, 1, 1e-3, 300, 1e-6, 7.5]
        let scale = scales[rng.below(scales.count)]
        var x = (0..<(rows * columns)).map { _ in rng.gauss() * scale }
        // Per 32-element block, maybe an edge case.
        for b in 0..<(x.count / 32) {
            let base = 32 * b
            switch rng.below(18) {
            case 0: for j in 0..<32 { x[base + j] = 0 }
            case 1: for j in 0..<32 { x[base + j] = rng.below(2) == 0 ? -0.0 : 0 }
            case 2: let c = rng.gauss() * scale; for j in 0..<32 { x[base + j] = c }
            case 3: for j in 0..<32 { x[base + j] = rng.gauss() * 1e-30 }
            case 4:
                for j in 0..<32 {
                    x[base + j] = Float(bitPattern: UInt32(rng.below(1 << 20))) * (rng.below(2) == 0 ? 1 : -1)
                }
            case 5:  // ±max tie
                let m = abs(rng.gauss() * scale) + 1e-3
                x[base + rng.below(32)] = m
                x[base + rng.below(32)] = -m
            case 6:  // small integers times a power of two: exact ties for the rounding steps
                let step = Float(sign: .plus, exponent: rng.below(10) - 8, significand: 1)
                for j in 0..<32 { x[base + j] = Float(rng.below(33) - 16) * step * 0.5 }
            case 7:  // one spike
                x[base + rng.below(32)] = rng.gauss() * scale * 100
            case 8:  // all positive
                for j in 0..<32 { x[base + j] = abs(x[base + j]) }
            case 9:  // all negative
                for j in 0..<32 { x[base + j] = -abs(x[base + j]) }
            case 10:  // near-equal tiny values: max − min is a few ulps (1/d can overflow)
                let c = Float(sign: rng.below(2) == 0 ? .plus : .minus, exponent: -100 - rng.below(26), significand: 1)
                for j in 0..<32 { x[base + j] = Float(bitPattern: c.bitPattern &+ UInt32(rng.below(3))) }
            case 11:  // huge values whose scales overflow fp16
                for j in 0..<32 { x[base + j] = rng.gauss() * 1e20 }
            case 12:  // values near the fp16 maximum
                for j in 0..<32 { x[base + j] = (rng.unit() * 2 - 1) * 65504 }
            default: break
            }
        }
        return x
    }

    static func importance(columns: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(state: seed ^ 0xABCD)
        return (0..<columns).map { i in
            switch rng.below(20) {
            case 0: 0
            case 1: 1
            default: rng.unit() * Float(1 + i % 7) * (rng.below(2) == 0 ? 1e-3 : 10)
            }
        }
    }
}

@Suite("Fast paths equal the scalar reference")
struct RandomizedTests {
    static let types: [GGMLType] = Quantizer.encodableTypes

    @Test("fast == reference, byte for byte; 1 thread == 2 threads", arguments: types, [false, true])
    func fastEqualsReference(_ type: GGMLType, imatrix: Bool) throws {
        let shapes: [(Int, Int)] =
            type.blockSize == 256
            ? [(1, 256), (3, 512), (2, 768), (5, 256)]
            : [(1, 32), (3, 96), (2, 256), (4, 512), (7, 64)]
        let seeds = type.blockSize == 256 ? 0..<64 : 0..<128
        for seed in seeds {
            let (rows, columns) = shapes[Int(seed) % shapes.count]
            let x = RandomRows.make(rows: rows, columns: columns, seed: UInt64(seed) &* 7919 &+ UInt64(type.rawValue))
            let qw = imatrix ? RandomRows.importance(columns: columns, seed: UInt64(seed)) : nil
            let bytes = type.byteCount(elements: columns) * rows
            var reference = [UInt8](repeating: 0x5A, count: bytes)
            var fast1 = [UInt8](repeating: 0xA5, count: bytes)
            var fast2 = [UInt8](repeating: 0x3C, count: bytes)
            try x.withUnsafeBufferPointer { xp in
                try withOptionalPointer(qw) { w in
                    try reference.withUnsafeMutableBytes {
                        try Quantizer.quantizeReference(
                            type, rows: rows, columns: columns, source: xp.baseAddress!,
                            destination: $0.baseAddress!, destinationCount: bytes, importance: w)
                    }
                    try fast1.withUnsafeMutableBytes {
                        try Quantizer.quantize(
                            type, rows: rows, columns: columns, source: xp.baseAddress!,
                            destination: $0.baseAddress!, destinationCount: bytes, importance: w, threads: 1)
                    }
                    try fast2.withUnsafeMutableBytes {
                        try Quantizer.quantize(
                            type, rows: rows, columns: columns, source: xp.baseAddress!,
                            destination: $0.baseAddress!, destinationCount: bytes, importance: w, threads: 2)
                    }
                }
            }
            let diff = Golden.difference(fast1, reference, blockBytes: type.typeSize)
            #expect(diff.isEmpty, "\(type) imatrix=\(imatrix) seed=\(seed) \(rows)x\(columns): \(diff)")
            #expect(fast1 == fast2, "\(type) seed=\(seed): 1 thread != 2 threads")
            if !diff.isEmpty { return }

            // Dequantize: fast == reference, bit for bit.
            var a = [Float](repeating: 1, count: rows * columns)
            var b = [Float](repeating: 2, count: rows * columns)
            try reference.withUnsafeBytes { q in
                try a.withUnsafeMutableBufferPointer {
                    try Quantizer.dequantize(
                        type, source: q.baseAddress!, count: rows * columns, destination: $0.baseAddress!)
                }
                try b.withUnsafeMutableBufferPointer {
                    try Quantizer.dequantizeReference(
                        type, source: q.baseAddress!, count: rows * columns, destination: $0.baseAddress!)
                }
            }
            #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "\(type) seed=\(seed): dequantize fast != reference")
        }
    }

    @Test("dequantize of arbitrary bytes: fast == reference", arguments: types)
    func dequantizeRandomBytes(_ type: GGMLType) throws {
        var rng = SplitMix64(state: UInt64(type.rawValue) &+ 99)
        for blocks in [1, 2, 5, 16] {
            let count = blocks * type.blockSize * (type.blockSize == 1 ? 64 : 1)
            let q = (0..<type.byteCount(elements: count)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var a = [Float](repeating: 1, count: count)
            var b = [Float](repeating: 2, count: count)
            try q.withUnsafeBytes { qp in
                try a.withUnsafeMutableBufferPointer {
                    try Quantizer.dequantize(type, source: qp.baseAddress!, count: count, destination: $0.baseAddress!)
                }
                try b.withUnsafeMutableBufferPointer {
                    try Quantizer.dequantizeReference(
                        type, source: qp.baseAddress!, count: count, destination: $0.baseAddress!)
                }
            }
            #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "\(type) blocks=\(blocks)")
        }
    }

    @Test("a NaN or ±Inf row is refused, named, and nothing is written", arguments: types)
    func nonFiniteRefused(_ type: GGMLType) throws {
        let rows = 4, columns = 512
        for (k, bad) in [Float.nan, .infinity, -.infinity].enumerated() {
            var x = RandomRows.make(rows: rows, columns: columns, seed: UInt64(k))
            let row = 1 + k % 3, column = (37 * (k + 1)) % columns
            x[row * columns + column] = bad
            let bytes = type.byteCount(elements: columns) * rows
            var out = [UInt8](repeating: 0xEE, count: bytes)
            for threads in [1, 2] {
                let error = #expect(throws: QuantizationError.self) {
                    try x.withUnsafeBufferPointer { xp in
                        try out.withUnsafeMutableBytes {
                            try Quantizer.quantize(
                                type, rows: rows, columns: columns, source: xp.baseAddress!,
                                destination: $0.baseAddress!, destinationCount: bytes, threads: threads)
                        }
                    }
                }
                guard case let .nonFiniteValue(r, c, v)? = error else {
                    Issue.record("expected nonFiniteValue, got \(String(describing: error))")
                    continue
                }
                #expect(r == row && c == column)
                #expect(v.bitPattern == bad.bitPattern || (v.isNaN && bad.isNaN))
                #expect(out.allSatisfy { $0 == 0xEE }, "\(type): bytes written before refusing")
            }
        }
    }
}
