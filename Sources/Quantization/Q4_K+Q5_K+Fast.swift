extension KAffine {
    /// Fast Q4_K / Q5_K encoder. The 32-element sub-block searches (`make_qkx2/3_quants`) of two super-blocks
    /// run as the 16 lanes of a `SIMD16<Float>` (``LaneSearch/makeQkxQuants(_:_:_:_:_:_:theMin:rmin:rdelta:nstep:useMad:qkx3:)``),
    /// each lane keeping ggml's sequential sums and float operations, so its result equals the scalar search.
    /// Elementwise steps (weights, re-quantization, packing) are vectorized directly; the per-super-block scale
    /// quantization (max tracking, `make_qp_quants`) is the scalar reference code. Hence the bytes equal the
    /// reference's. With an odd number of super-blocks the spare lanes repeat the last one and are discarded.
    static func quantizeFast(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?,
        nmax: Int
    ) {
        let is5 = nmax == 31
        let blockBytes = is5 ? Q5_K.blockBytes : Q4_K.blockBytes
        let nb = n / 256
        withUnsafeTemporaryAllocation(of: V.self, capacity: 64) { vb in
            withUnsafeTemporaryAllocation(of: VI.self, capacity: 64) { ib in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 16) { lb in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 24) { fb in
                        let xt = vb.baseAddress!
                        let wt = xt + 32
                        let Lt = ib.baseAddress!
                        let Laux = Lt + 32
                        let L = lb.baseAddress!
                        let Ls = L + 256
                        let Lm = Ls + 8
                        let scales = fb.baseAddress!
                        let mins = scales + 8
                        let sw = mins + 8
                        var b = 0
                        while b < nb {
                            let pair = b + 1 < nb ? 2 : 1
                            // Transpose: xt[i] lane 8h + j = element i of sub-block j of super-block b + h.
                            xt.withMemoryRebound(to: Float.self, capacity: 512) { t in
                                for lane in 0..<16 {
                                    let src = x + 256 * (b + Swift.min(lane / 8, pair - 1)) + 32 * (lane % 8)
                                    for i in 0..<32 { t[16 * i + lane] = src[i] }
                                }
                            }
                            var theMin = V(repeating: 0)
                            var sumw = V(repeating: 0)
                            var sigma2 = (Float(0), Float(0))
                            if let qw {
                                sigma2.0 = 2 * KLayout.superBlockSumX2(x + 256 * b) / 256
                                sigma2.1 = pair == 2 ? 2 * KLayout.superBlockSumX2(x + 256 * (b + 1)) / 256 : sigma2.0
                                wt.withMemoryRebound(to: Float.self, capacity: 512) { t in
                                    for lane in 0..<16 {
                                        let src = qw + 256 * (b + Swift.min(lane / 8, pair - 1)) + 32 * (lane % 8)
                                        for i in 0..<32 { t[16 * i + lane] = src[i] }
                                    }
                                }
                                var s2 = V(repeating: sigma2.0)
                                s2.highHalf = SIMD8(repeating: sigma2.1)
                                for i in 0..<32 {
                                    wt[i] = wt[i] * (s2 + xt[i] * xt[i]).squareRoot()
                                    sumw += wt[i]
                                }
                            } else {
                                var s2 = V(repeating: 0)
                                for i in 0..<32 { s2 += xt[i] * xt[i] }
                                let avX = (s2 / 32).squareRoot()
                                for i in 0..<32 { wt[i] = avX + xt[i].magnitude }
                            }
                            let scaleV = LaneSearch.makeQkxQuants(
                                32, Int32(nmax), xt, wt, Lt, Laux, theMin: &theMin,
                                rmin: qw != nil ? -0.9 : (is5 ? -0.5 : -1.0), rdelta: qw != nil ? 0.05 : 0.1,
                                nstep: qw != nil ? 36 : (is5 ? 15 : 20), useMad: false, qkx3: qw != nil)

                            for h in 0..<pair {
                                let xb = x + 256 * (b + h)
                                let yb = y + blockBytes * (b + h)
                                for j in 0..<8 {
                                    scales[j] = scaleV[8 * h + j]
                                    mins[j] = theMin[8 * h + j]
                                    sw[j] = sumw[8 * h + j]
                                }
                                if qw != nil {
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
                                        if scales[j] > maxScale { maxScale = scales[j] }
                                        if mins[j] > maxMin { maxMin = mins[j] }
                                    }
                                    let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
                                    let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
                                    for j in 0..<8 {
                                        let ls = QuantHelpers.nearestInt(invScale * scales[j])
                                        let lm = QuantHelpers.nearestInt(invMin * mins[j])
                                        Ls[j] = Swift.min(63, UInt8(truncatingIfNeeded: ls))
                                        Lm[j] = Swift.min(63, UInt8(truncatingIfNeeded: lm))
                                    }
                                    KLayout.packScalesK4(Ls, Lm, yb + 4)
                                    QuantHelpers.storeHalf(maxScale / 63, yb, 0)
                                    QuantHelpers.storeHalf(maxMin / 63, yb, 2)
                                }
                                // Codes from the search, back to element order.
                                for i in 0..<32 {
                                    let l = Lt[i]
                                    for j in 0..<8 { L[32 * j + i] = UInt8(truncatingIfNeeded: l[8 * h + j]) }
                                }
                                requantizeFast(xb, yb, L, nmax: Int32(nmax))
                                if is5 { packQ5Fast(L, yb) } else { packQ4Fast(L, yb) }
                            }
                            b += pair
                        }
                    }
                }
            }
        }
    }

    /// `L = clamp(nearest_int((x + dm)/d), 0, nmax)` 16 lanes at a time (elementwise; same operations).
    @inline(__always)
    static func requantizeFast(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<UInt8>, nmax: Int32
    ) {
        let d = QuantHelpers.loadHalf(y, 0)
        let dmin = QuantHelpers.loadHalf(y, 2)
        let raw = UnsafeRawPointer(x)
        for j in 0..<8 {
            let (sc, m) = KLayout.scaleMinK4(j, y + 4)
            let dl = d * Float(sc)
            if dl == 0 { continue }
            let dm = V(repeating: dmin * Float(m))
            let dv = V(repeating: dl)
            for h in 0..<2 {
                let v = raw.loadUnaligned(fromByteOffset: 4 * (32 * j + 16 * h), as: V.self)
                let l = ((v + dm) / dv).nearestInt.clamp(0, nmax)
                UnsafeMutableRawPointer(L).storeBytes(
                    of: SIMD16<UInt8>(truncatingIfNeeded: l), toByteOffset: 32 * j + 16 * h, as: SIMD16<UInt8>.self)
            }
        }
    }

    @inline(__always)
    static func packQ4Fast(_ L: UnsafePointer<UInt8>, _ y: UnsafeMutableRawPointer) {
        let raw = UnsafeRawPointer(L)
        for p in 0..<4 {
            let lo = K16.bytes(raw, 64 * p), hi = K16.bytes(raw, 64 * p + 32)
            y.storeBytes(of: lo | (hi &<< 4), toByteOffset: 16 + 32 * p, as: K16.Bytes32.self)
        }
    }
}

extension KAffine {
    /// ``packQ5(_:_:)`` on 32-bit words: bit 4 of each code goes to `qh`, the low nibbles pair up as in Q4_K.
    @inline(__always)
    static func packQ5Fast(_ L: UnsafePointer<UInt8>, _ y: UnsafeMutableRawPointer) {
        let raw = UnsafeRawPointer(L)
        let low: UInt32 = 0x0F0F_0F0F, bit: UInt32 = 0x0101_0101
        var qh = K16.Bytes32(repeating: 0)
        for p in 0..<4 {
            let lo = K16.bytes(raw, 64 * p), hi = K16.bytes(raw, 64 * p + 32)
            qh |= ((lo &>> 4) & bit) &<< UInt32(2 * p)
            qh |= ((hi &>> 4) & bit) &<< UInt32(2 * p + 1)
            y.storeBytes(of: (lo & low) | ((hi & low) &<< 4), toByteOffset: 48 + 32 * p, as: K16.Bytes32.self)
        }
        y.storeBytes(of: qh, toByteOffset: 16, as: K16.Bytes32.self)
    }
}
