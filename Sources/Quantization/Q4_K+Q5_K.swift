/// Q4_K: 256-element super-blocks of eight 32-element sub-blocks with 6-bit scales and mins (spec §2, §3.7).
///
/// Layout: fp16 `d`, fp16 `dmin`, `scales[12]` (`get_scale_min_k4` packing), `qs[128]` (nibbles).
/// `x ≈ d·sc·q − dmin·m`.
public enum Q4_K {
    public static let blockBytes = 144

    /// `quantize_row_q4_K_ref` without an importance matrix, `quantize_row_q4_K_impl` with one.
    static func quantizeReference(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?
    ) {
        KAffine.quantizeReference(x, y, count: n, importance: qw, nmax: 15)
    }

    /// `d·sc·f(q) − dmin·m` (`dequantize_row_q4_K`).
    static func dequantizeReference(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 256) {
            let yb = y + b * blockBytes
            let d = QuantHelpers.loadHalf(yb, 0)
            let dmin = QuantHelpers.loadHalf(yb, 2)
            for j in 0..<8 {
                let (sc, m) = KLayout.scaleMinK4(j, yb + 4)
                let d1 = d * Float(sc)
                let m1 = dmin * Float(m)
                for l in 0..<32 {
                    let byte = yb.load(fromByteOffset: 16 + 32 * (j / 2) + l, as: UInt8.self)
                    let q = j % 2 == 0 ? byte & 0xF : byte >> 4
                    x[256 * b + 32 * j + l] = d1 * Float(q) - m1
                }
            }
        }
    }
}

/// Q5_K: as Q4_K with a fifth bit per code in `qh[32]` (spec §3.8).
///
/// Layout: fp16 `d`, fp16 `dmin`, `scales[12]`, `qh[32]` (bit `e/32` of byte `e%32`), `qs[128]`.
public enum Q5_K {
    public static let blockBytes = 176

    /// `quantize_row_q5_K_ref` without an importance matrix, `quantize_row_q5_K_impl` with one.
    static func quantizeReference(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?
    ) {
        KAffine.quantizeReference(x, y, count: n, importance: qw, nmax: 31)
    }

    /// `d·sc·f(q + 16·hbit) − dmin·m` (`dequantize_row_q5_K`).
    static func dequantizeReference(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 256) {
            let yb = y + b * blockBytes
            let d = QuantHelpers.loadHalf(yb, 0)
            let dmin = QuantHelpers.loadHalf(yb, 2)
            for j in 0..<8 {
                let (sc, m) = KLayout.scaleMinK4(j, yb + 4)
                let d1 = d * Float(sc)
                let m1 = dmin * Float(m)
                for l in 0..<32 {
                    let byte = yb.load(fromByteOffset: 48 + 32 * (j / 2) + l, as: UInt8.self)
                    let h = (yb.load(fromByteOffset: 16 + l, as: UInt8.self) >> UInt8(j)) & 1
                    let q = (j % 2 == 0 ? byte & 0xF : byte >> 4) + (h != 0 ? 16 : 0)
                    x[256 * b + 32 * j + l] = d1 * Float(q) - m1
                }
            }
        }
    }
}

/// The shared reference of Q4_K and Q5_K (they differ in `nmax`, the search parameters and the packing).
enum KAffine {
    static func quantizeReference(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?,
        nmax: Int
    ) {
        let is5 = nmax == 31
        let blockBytes = is5 ? Q5_K.blockBytes : Q4_K.blockBytes
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 32 + 16) { lb in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32 + 8 * 3) { fb in
                let L = lb.baseAddress!
                let Laux = L + 256
                let Ls = Laux + 32
                let Lm = Ls + 8
                let weights = fb.baseAddress!
                let scales = weights + 32
                let mins = scales + 8
                let sw = mins + 8
                for b in 0..<(n / 256) {
                    let xb = x + 256 * b
                    let yb = y + blockBytes * b
                    if let qw {
                        let sigma2 = 2 * KLayout.superBlockSumX2(xb) / 256
                        for j in 0..<8 {
                            for l in 0..<32 {
                                let v = xb[32 * j + l]
                                weights[l] = qw[256 * b + 32 * j + l] * (sigma2 + v * v).squareRoot()
                            }
                            var sumw: Float = 0
                            for l in 0..<32 { sumw += weights[l] }
                            sw[j] = sumw
                            scales[j] = QuantHelpers.makeQkxQuants(
                                32, nmax, xb + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin: -0.9, rdelta: 0.05,
                                nstep: 36, useMad: false, qkx3: true)
                        }
                        let dBlock = QuantHelpers.makeQpQuants(8, 63, scales, Ls, sw)
                        let mBlock = QuantHelpers.makeQpQuants(8, 63, mins, Lm, sw)
                        if is5 {
                            for j in 0..<8 {
                                Ls[j] = Swift.min(63, Ls[j])
                                Lm[j] = Swift.min(63, Lm[j])
                            }
                        }
                        KLayout.packScalesK4(Ls, Lm, yb + 4)
                        QuantHelpers.storeHalf(dBlock, yb, 0)
                        QuantHelpers.storeHalf(mBlock, yb, 2)
                    } else {
                        var maxScale: Float = 0
                        var maxMin: Float = 0
                        for j in 0..<8 {
                            var s2: Float = 0
                            for l in 0..<32 { s2 += xb[32 * j + l] * xb[32 * j + l] }
                            let avX = (s2 / 32).squareRoot()
                            for l in 0..<32 { weights[l] = avX + abs(xb[32 * j + l]) }
                            scales[j] = QuantHelpers.makeQkxQuants(
                                32, nmax, xb + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                rmin: is5 ? -0.5 : -1.0, rdelta: 0.1, nstep: is5 ? 15 : 20, useMad: false, qkx3: false)
                            if scales[j] > maxScale { maxScale = scales[j] }
                            if mins[j] > maxMin { maxMin = mins[j] }
                        }
                        let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
                        let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
                        for j in 0..<8 {
                            let ls = UInt8(truncatingIfNeeded: QuantHelpers.nearestInt(invScale * scales[j]))
                            let lm = UInt8(truncatingIfNeeded: QuantHelpers.nearestInt(invMin * mins[j]))
                            Ls[j] = Swift.min(63, ls)
                            Lm[j] = Swift.min(63, lm)
                        }
                        KLayout.packScalesK4(Ls, Lm, yb + 4)
                        QuantHelpers.storeHalf(maxScale / 63, yb, 0)
                        QuantHelpers.storeHalf(maxMin / 63, yb, 2)
                    }
                    requantize(xb, yb, L, nmax: Int32(nmax))
                    if is5 { packQ5(L, yb) } else { packQ4(L, yb) }
                }
            }
        }
    }

    /// Re-quantizes each sub-block with the stored fp16 scales; a zero scale keeps the search's codes.
    @inline(__always)
    static func requantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<UInt8>, nmax: Int32
    ) {
        let d = QuantHelpers.loadHalf(y, 0)
        let dmin = QuantHelpers.loadHalf(y, 2)
        for j in 0..<8 {
            let (sc, m) = KLayout.scaleMinK4(j, y + 4)
            let dl = d * Float(sc)
            if dl == 0 { continue }
            let dm = dmin * Float(m)
            for ii in 0..<32 {
                let l = QuantHelpers.nearestInt((x[32 * j + ii] + dm) / dl)
                L[32 * j + ii] = UInt8(truncatingIfNeeded: QuantHelpers.clamp(l, 0, nmax))
            }
        }
    }

    /// Q4_K codes: `qs[32p + l] = q[64p + l] | q[64p + 32 + l] << 4`.
    @inline(__always)
    static func packQ4(_ L: UnsafePointer<UInt8>, _ y: UnsafeMutableRawPointer) {
        let q = (y + 16).assumingMemoryBound(to: UInt8.self)
        for p in 0..<4 {
            for l in 0..<32 { q[32 * p + l] = L[64 * p + l] | L[64 * p + 32 + l] << 4 }
        }
    }

    /// Q5_K codes: low nibbles as Q4_K at offset 48, bit 4 of element e in `qh[e % 32]` bit `e / 32`.
    @inline(__always)
    static func packQ5(_ L: UnsafePointer<UInt8>, _ y: UnsafeMutableRawPointer) {
        let qh = (y + 16).assumingMemoryBound(to: UInt8.self)
        let ql = (y + 48).assumingMemoryBound(to: UInt8.self)
        for j in 0..<32 { qh[j] = 0 }
        for p in 0..<4 {
            let m1 = UInt8(1) << UInt8(2 * p)
            let m2 = UInt8(2) << UInt8(2 * p)
            for j in 0..<32 {
                var l1 = L[64 * p + j]
                if l1 > 15 { l1 -= 16; qh[j] |= m1 }
                var l2 = L[64 * p + j + 32]
                if l2 > 15 { l2 -= 16; qh[j] |= m2 }
                ql[32 * p + j] = l1 | l2 << 4
            }
        }
    }
}
