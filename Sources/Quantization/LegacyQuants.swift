/// Shared pieces of the legacy 32-element blocks (Q4_0, Q4_1, Q5_0, Q5_1; spec §2.1, §3.3, §3.4).
enum Legacy {
    /// `sigma2 = Σx² / n_per_row` over the whole row, as the imatrix paths compute it (spec §3.4).
    static func rowSigma2(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var sumX2: Float = 0
        for j in 0..<n { sumX2 += x[j] * x[j] }
        return sumX2 / Float(n)
    }

    /// `weight[j] = qw[j] * sqrtf(sigma2 + x[j]²)` for one block of 32.
    static func blockWeights(
        _ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, _ sigma2: Float, _ weight: UnsafeMutablePointer<Float>
    ) {
        for j in 0..<32 { weight[j] = qw[j] * (sigma2 + x[j] * x[j]).squareRoot() }
    }

    /// Packs 32 four-bit codes: element j in the low nibble of byte j, element j+16 in its high nibble.
    @inline(__always)
    static func packNibbles(_ L: UnsafePointer<UInt8>, _ qs: UnsafeMutableRawPointer) {
        for j in 0..<16 {
            qs.storeBytes(of: (L[j] & 0x0F) | (L[j + 16] & 0x0F) << 4, toByteOffset: j, as: UInt8.self)
        }
    }

    /// The Q4_0/Q4_1 reference packing: `qs[j] = xi0; qs[j] |= xi1 << 4` with no mask on the low code
    /// (it is always 0...15 for finite input, but ggml does not mask it).
    @inline(__always)
    static func packNibblesUnmasked(_ L: UnsafePointer<UInt8>, _ qs: UnsafeMutableRawPointer) {
        for j in 0..<16 { qs.storeBytes(of: L[j] | L[j + 16] << 4, toByteOffset: j, as: UInt8.self) }
    }

    /// Packs bit 4 of 32 five-bit codes into the little-endian `qh` word: bit j holds element j.
    @inline(__always)
    static func packHighBits(_ L: UnsafePointer<UInt8>, _ qh: UnsafeMutableRawPointer) {
        var h: UInt32 = 0
        for j in 0..<32 { h |= UInt32((L[j] & 0x10) >> 4) << UInt32(j) }
        qh.storeBytes(of: h.littleEndian, as: UInt32.self)
    }
}

/// Q4_0: fp16 `d`, then 16 bytes of nibbles; `x ≈ (q − 8)·d`.
public enum Q4_0 {
    public static let blockBytes = 18

    /// `quantize_row_q4_0_ref` without an importance matrix, `quantize_row_q4_0_impl` with one.
    static func quantizeReference(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?
    ) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { Lb in
            let L = Lb.baseAddress!
            if let qw {
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { wb in
                    withUnsafeTemporaryAllocation(of: Int8.self, capacity: 32) { Lsb in
                        let sigma2 = Legacy.rowSigma2(x, n)
                        for b in 0..<(n / 32) {
                            let xb = x + 32 * b
                            let yb = y + blockBytes * b
                            Legacy.blockWeights(xb, qw + 32 * b, sigma2, wb.baseAddress!)
                            let d = QuantHelpers.makeQxQuants(32, 8, xb, Lsb.baseAddress!, rmseType: 1, wb.baseAddress!)
                            QuantHelpers.storeHalf(d, yb, 0)
                            for j in 0..<32 { L[j] = UInt8(bitPattern: Lsb[j]) }
                            Legacy.packNibbles(L, yb + 2)
                        }
                    }
                }
                return
            }
            for b in 0..<(n / 32) {
                let xb = x + 32 * b
                let yb = y + blockBytes * b
                var amax: Float = 0
                var max: Float = 0
                for j in 0..<32 where amax < abs(xb[j]) {
                    amax = abs(xb[j])
                    max = xb[j]
                }
                let d = max / -8
                let id: Float = d != 0 ? 1 / d : 0
                QuantHelpers.storeHalf(d, yb, 0)
                for j in 0..<32 {
                    let q = QuantHelpers.truncateToInt32(xb[j] * id + 8.5)
                    let q8 = Int8(truncatingIfNeeded: q)
                    L[j] = UInt8(bitPattern: q8 < 15 ? q8 : 15)
                }
                Legacy.packNibblesUnmasked(L, yb + 2)
            }
        }
    }

    /// `f(q − 8) · d` (`dequantize_row_q4_0`).
    static func dequantizeReference(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 32) {
            let yb = y + b * blockBytes
            let d = QuantHelpers.loadHalf(yb, 0)
            for j in 0..<16 {
                let q = yb.load(fromByteOffset: 2 + j, as: UInt8.self)
                x[32 * b + j] = Float(Int32(q & 0xF) - 8) * d
                x[32 * b + j + 16] = Float(Int32(q >> 4) - 8) * d
            }
        }
    }
}

/// Q4_1: fp16 `d`, fp16 `m`, then 16 bytes of nibbles; `x ≈ q·d + m`.
public enum Q4_1 {
    public static let blockBytes = 20

    /// `quantize_row_q4_1_ref` without an importance matrix, `quantize_row_q4_1_impl` with one.
    static func quantizeReference(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?
    ) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { Lb in
            let L = Lb.baseAddress!
            if let qw {
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { wb in
                    let sigma2 = Legacy.rowSigma2(x, n)
                    for b in 0..<(n / 32) {
                        let xb = x + 32 * b
                        let yb = y + blockBytes * b
                        Legacy.blockWeights(xb, qw + 32 * b, sigma2, wb.baseAddress!)
                        var min: Float = 0
                        let d = QuantHelpers.makeQkxQuants(
                            32, 15, xb, wb.baseAddress!, L, &min, L + 32, rmin: -0.9, rdelta: 0.05, nstep: 36,
                            useMad: false, qkx3: true)
                        QuantHelpers.storeHalf(d, yb, 0)
                        QuantHelpers.storeHalf(-min, yb, 2)
                        Legacy.packNibbles(L, yb + 4)
                    }
                }
                return
            }
            for b in 0..<(n / 32) {
                let xb = x + 32 * b
                let yb = y + blockBytes * b
                var min = Float.greatestFiniteMagnitude
                var max = -Float.greatestFiniteMagnitude
                for j in 0..<32 {
                    if xb[j] < min { min = xb[j] }
                    if xb[j] > max { max = xb[j] }
                }
                let d = (max - min) / 15
                let id: Float = d != 0 ? 1 / d : 0
                QuantHelpers.storeHalf(d, yb, 0)
                QuantHelpers.storeHalf(min, yb, 2)
                for j in 0..<32 {
                    let q8 = Int8(truncatingIfNeeded: QuantHelpers.truncateToInt32((xb[j] - min) * id + 0.5))
                    L[j] = UInt8(bitPattern: q8 < 15 ? q8 : 15)
                }
                Legacy.packNibblesUnmasked(L, yb + 4)
            }
        }
    }

    /// `f(q)·d + m` (`dequantize_row_q4_1`).
    static func dequantizeReference(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 32) {
            let yb = y + b * blockBytes
            let d = QuantHelpers.loadHalf(yb, 0)
            let m = QuantHelpers.loadHalf(yb, 2)
            for j in 0..<16 {
                let q = yb.load(fromByteOffset: 4 + j, as: UInt8.self)
                x[32 * b + j] = Float(q & 0xF) * d + m
                x[32 * b + j + 16] = Float(q >> 4) * d + m
            }
        }
    }
}

/// Q5_0: fp16 `d`, 32-bit `qh` (bit 4 of each code), 16 bytes of nibbles; `x ≈ (q − 16)·d`.
public enum Q5_0 {
    public static let blockBytes = 22

    /// `quantize_row_q5_0_ref` without an importance matrix, `quantize_row_q5_0_impl` with one.
    static func quantizeReference(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?
    ) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { Lb in
            let L = Lb.baseAddress!
            if let qw {
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { wb in
                    withUnsafeTemporaryAllocation(of: Int8.self, capacity: 32) { Lsb in
                        let sigma2 = Legacy.rowSigma2(x, n)
                        for b in 0..<(n / 32) {
                            let xb = x + 32 * b
                            let yb = y + blockBytes * b
                            Legacy.blockWeights(xb, qw + 32 * b, sigma2, wb.baseAddress!)
                            let d = QuantHelpers.makeQxQuants(
                                32, 16, xb, Lsb.baseAddress!, rmseType: 1, wb.baseAddress!)
                            QuantHelpers.storeHalf(d, yb, 0)
                            for j in 0..<32 { L[j] = UInt8(bitPattern: Lsb[j]) }
                            Legacy.packHighBits(L, yb + 2)
                            Legacy.packNibbles(L, yb + 6)
                        }
                    }
                }
                return
            }
            for b in 0..<(n / 32) {
                let xb = x + 32 * b
                let yb = y + blockBytes * b
                var amax: Float = 0
                var max: Float = 0
                for j in 0..<32 where amax < abs(xb[j]) {
                    amax = abs(xb[j])
                    max = xb[j]
                }
                let d = max / -16
                let id: Float = d != 0 ? 1 / d : 0
                QuantHelpers.storeHalf(d, yb, 0)
                for j in 0..<32 {
                    let q8 = Int8(truncatingIfNeeded: QuantHelpers.truncateToInt32(xb[j] * id + 16.5))
                    L[j] = UInt8(bitPattern: q8 < 31 ? q8 : 31)
                }
                Legacy.packHighBits(L, yb + 2)
                Legacy.packNibbles(L, yb + 6)
            }
        }
    }

    /// `f(q5 − 16)·d` (`dequantize_row_q5_0`).
    static func dequantizeReference(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 32) {
            let yb = y + b * blockBytes
            let d = QuantHelpers.loadHalf(yb, 0)
            let qh = UInt32(littleEndian: yb.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            for j in 0..<16 {
                let q = yb.load(fromByteOffset: 6 + j, as: UInt8.self)
                let h0 = Int32((qh >> UInt32(j)) & 1) << 4
                let h1 = Int32((qh >> UInt32(j + 16)) & 1) << 4
                x[32 * b + j] = Float((Int32(q & 0xF) | h0) - 16) * d
                x[32 * b + j + 16] = Float((Int32(q >> 4) | h1) - 16) * d
            }
        }
    }
}

/// Q5_1: fp16 `d`, fp16 `m`, 32-bit `qh`, 16 bytes of nibbles; `x ≈ q·d + m`.
public enum Q5_1 {
    public static let blockBytes = 24

    /// `quantize_row_q5_1_ref` without an importance matrix, `quantize_row_q5_1_impl` with one.
    static func quantizeReference(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?
    ) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { Lb in
            let L = Lb.baseAddress!
            if let qw {
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { wb in
                    let sigma2 = Legacy.rowSigma2(x, n)
                    for b in 0..<(n / 32) {
                        let xb = x + 32 * b
                        let yb = y + blockBytes * b
                        Legacy.blockWeights(xb, qw + 32 * b, sigma2, wb.baseAddress!)
                        var min: Float = 0
                        let d = QuantHelpers.makeQkxQuants(
                            32, 31, xb, wb.baseAddress!, L, &min, L + 32, rmin: -0.9, rdelta: 0.05, nstep: 36,
                            useMad: false, qkx3: true)
                        QuantHelpers.storeHalf(d, yb, 0)
                        QuantHelpers.storeHalf(-min, yb, 2)
                        Legacy.packHighBits(L, yb + 4)
                        Legacy.packNibbles(L, yb + 8)
                    }
                }
                return
            }
            for b in 0..<(n / 32) {
                let xb = x + 32 * b
                let yb = y + blockBytes * b
                var min = Float.greatestFiniteMagnitude
                var max = -Float.greatestFiniteMagnitude
                for j in 0..<32 {
                    if xb[j] < min { min = xb[j] }
                    if xb[j] > max { max = xb[j] }
                }
                let d = (max - min) / 31
                let id: Float = d != 0 ? 1 / d : 0
                QuantHelpers.storeHalf(d, yb, 0)
                QuantHelpers.storeHalf(min, yb, 2)
                for j in 0..<32 {
                    // (uint8_t)(…): no clamp.
                    L[j] = UInt8(truncatingIfNeeded: QuantHelpers.truncateToInt32((xb[j] - min) * id + 0.5))
                }
                Legacy.packHighBits(L, yb + 4)
                Legacy.packNibbles(L, yb + 8)
            }
        }
    }

    /// `f(q5)·d + m` (`dequantize_row_q5_1`).
    static func dequantizeReference(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 32) {
            let yb = y + b * blockBytes
            let d = QuantHelpers.loadHalf(yb, 0)
            let m = QuantHelpers.loadHalf(yb, 2)
            let qh = UInt32(littleEndian: yb.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            for j in 0..<16 {
                let q = yb.load(fromByteOffset: 8 + j, as: UInt8.self)
                let h0 = UInt8((qh >> UInt32(j)) & 1) << 4
                let h1 = UInt8((qh >> UInt32(j + 16)) & 1) << 4
                x[32 * b + j] = Float((q & 0xF) | h0) * d + m
                x[32 * b + j + 16] = Float((q >> 4) | h1) * d + m
            }
        }
    }
}
