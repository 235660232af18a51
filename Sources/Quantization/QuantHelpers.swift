/// The shared numeric helpers of `ggml-quants.c` (spec §1.3, §1.4, §3.2), ported as plain scalar code.
///
/// Every reduction is a sequential float32 loop in index order and no multiply-add is fused, because the
/// golden bytes come from an x86-64 build of ggml that does neither (spec §1.6).
enum QuantHelpers {
    /// `GROUP_MAX_EPS`: the "all zero" threshold.
    static let groupMaxEps: Float = 1e-15

    /// ggml's `nearest_int`: round half to even through the 1.5·2²³ bit trick. Outside ±2²² it wraps the
    /// same way ggml's does.
    @inline(__always)
    static func nearestInt(_ value: Float) -> Int32 {
        let v = value + 12_582_912.0
        return Int32(bitPattern: v.bitPattern & 0x007F_FFFF) &- 0x0040_0000
    }

    /// C's `(int)f` as x86-64 compiles it (`cvttss2si`): truncation toward zero, and `INT_MIN` for NaN or
    /// values outside the int32 range (which C leaves undefined).
    @inline(__always)
    static func truncateToInt32(_ value: Float) -> Int32 {
        if value.isNaN || value >= 2_147_483_648.0 || value < -2_147_483_648.0 { return Int32.min }
        return Int32(value.rounded(.towardZero))
    }

    /// C's `MAX(lo, MIN(hi, v))` on ints.
    @inline(__always)
    static func clamp(_ v: Int32, _ lo: Int32, _ hi: Int32) -> Int32 {
        let m = hi < v ? hi : v
        return lo > m ? lo : m
    }

    /// Stores an fp16 (little-endian) at `offset`.
    @inline(__always)
    static func storeHalf(_ value: Float, _ y: UnsafeMutableRawPointer, _ offset: Int) {
        y.storeBytes(of: HalfPrecision.fp16Bits(value).littleEndian, toByteOffset: offset, as: UInt16.self)
    }

    /// Loads an fp16 (little-endian) from `offset` as fp32.
    @inline(__always)
    static func loadHalf(_ y: UnsafeRawPointer, _ offset: Int) -> Float {
        HalfPrecision.float(fp16: UInt16(littleEndian: y.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// The round trip through fp16 that the re-quantization steps use (spec §10.2).
    @inline(__always)
    static func roundTripHalf(_ value: Float) -> Float {
        HalfPrecision.float(fp16: HalfPrecision.fp16Bits(value))
    }

    // MARK: - make_qx_quants

    /// `make_qx_quants` (symmetric, `L` stored with a `+nmax` bias). Only `rmseType` 0 and 1 are used by the
    /// quantizers Kiln writes; the weight of element i is `qw[i]` or, without `qw`, `x[i]²`.
    static func makeQxQuants(
        _ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>, rmseType: Int,
        _ qw: UnsafePointer<Float>?
    ) -> Float {
        var amax: Float = 0
        var max: Float = 0
        for i in 0..<n {
            let ax = abs(x[i])
            if ax > amax { amax = ax; max = x[i] }
        }
        if amax < groupMaxEps {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        let nm = Int32(nmax)
        var iscale = Float(-nmax) / max
        if rmseType == 0 {
            for i in 0..<n {
                let l = clamp(nearestInt(iscale * x[i]), -nm, nm - 1)
                L[i] = Int8(truncatingIfNeeded: nm + l)
            }
            return 1 / iscale
        }
        precondition(rmseType == 1, "only rmse_type 0 and 1 are ported")
        @inline(__always) func weight(_ i: Int) -> Float { qw.map { $0[i] } ?? x[i] * x[i] }
        var sumlx: Float = 0
        var suml2: Float = 0
        for i in 0..<n {
            let l = clamp(nearestInt(iscale * x[i]), -nm, nm - 1)
            L[i] = Int8(truncatingIfNeeded: l + nm)
            let w = weight(i)
            let fl = Float(l)
            sumlx += (w * x[i]) * fl
            suml2 += (w * fl) * fl
        }
        var scale: Float = suml2 != 0 ? sumlx / suml2 : 0
        var best = scale * sumlx
        for step in -9...9 where step != 0 {
            iscale = -(Float(nmax) + 0.1 * Float(step)) / max
            sumlx = 0
            suml2 = 0
            for i in 0..<n {
                let l = clamp(nearestInt(iscale * x[i]), -nm, nm - 1)
                let w = weight(i)
                let fl = Float(l)
                sumlx += (w * x[i]) * fl
                suml2 += (w * fl) * fl
            }
            if suml2 > 0 && sumlx * sumlx > best * suml2 {
                for i in 0..<n {
                    L[i] = Int8(truncatingIfNeeded: nm + clamp(nearestInt(iscale * x[i]), -nm, nm - 1))
                }
                scale = sumlx / suml2
                best = scale * sumlx
            }
        }
        return scale
    }

    // MARK: - make_q3_quants

    /// `make_q3_quants` (the Q3_K reference search; `L` returned with a `+nmax` bias).
    static func makeQ3Quants(
        _ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>, doRmse: Bool
    ) -> Float {
        var amax: Float = 0
        var max: Float = 0
        for i in 0..<n {
            let ax = abs(x[i])
            if ax > amax { amax = ax; max = x[i] }
        }
        if amax < groupMaxEps {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        let nm = Int32(nmax)
        let iscale = Float(-nmax) / max
        if doRmse {
            var sumlx: Float = 0
            var suml2: Float = 0
            for i in 0..<n {
                let l = clamp(nearestInt(iscale * x[i]), -nm, nm - 1)
                L[i] = Int8(truncatingIfNeeded: l)
                let w = x[i] * x[i]
                let fl = Float(l)
                sumlx += (w * x[i]) * fl
                suml2 += (w * fl) * fl
            }
            for _ in 0..<5 {
                var changed = 0
                for i in 0..<n {
                    let w = x[i] * x[i]
                    let li = Float(L[i])
                    var slx = sumlx - (w * x[i]) * li
                    if slx > 0 {
                        var sl2 = suml2 - (w * li) * li
                        let nl = clamp(nearestInt((x[i] * sl2) / slx), -nm, nm - 1)
                        if nl != Int32(L[i]) {
                            let fnl = Float(nl)
                            slx += (w * x[i]) * fnl
                            sl2 += (w * fnl) * fnl
                            if sl2 > 0 && (slx * slx) * suml2 > (sumlx * sumlx) * sl2 {
                                L[i] = Int8(truncatingIfNeeded: nl)
                                sumlx = slx
                                suml2 = sl2
                                changed += 1
                            }
                        }
                    }
                }
                if changed == 0 { break }
            }
            for i in 0..<n { L[i] = L[i] &+ Int8(truncatingIfNeeded: nm) }
            return suml2 > 0 ? sumlx / suml2 : 0
        }
        for i in 0..<n {
            L[i] = Int8(truncatingIfNeeded: clamp(nearestInt(iscale * x[i]), -nm, nm - 1) + nm)
        }
        return 1 / iscale
    }

    // MARK: - make_qkx2_quants / make_qkx3_quants

    /// `make_qkx2_quants` (`qkx3 == false`) and `make_qkx3_quants` (`qkx3 == true`): the affine search of the
    /// K-quants. Returns the scale; `theMin` receives the negated offset (≥ 0). With `qkx3` and no weights the
    /// weight of element i is `x[i]²`, and the degenerate test is `max <= min` rather than `max == min`.
    static func makeQkxQuants(
        _ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>?,
        _ L: UnsafeMutablePointer<UInt8>, _ theMin: inout Float, _ Laux: UnsafeMutablePointer<UInt8>,
        rmin: Float, rdelta: Float, nstep: Int, useMad: Bool, qkx3: Bool
    ) -> Float {
        @inline(__always) func weight(_ i: Int) -> Float { weights.map { $0[i] } ?? x[i] * x[i] }
        var min = x[0]
        var max = x[0]
        var sumW = weight(0)
        var sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < min { min = x[i] }
            if x[i] > max { max = x[i] }
            let w = weight(i)
            sumW += w
            sumX += w * x[i]
        }
        if min > 0 { min = 0 }
        if qkx3 ? max <= min : max == min {
            for i in 0..<n { L[i] = 0 }
            theMin = -min
            return 0
        }
        let nm = Int32(nmax)
        var iscale = Float(nmax) / (max - min)
        var scale = 1 / iscale
        var best: Float = 0
        for i in 0..<n {
            let l = nearestInt(iscale * (x[i] - min))
            L[i] = UInt8(truncatingIfNeeded: clamp(l, 0, nm))
            var diff = (scale * Float(L[i]) + min) - x[i]
            diff = useMad ? abs(diff) : diff * diff
            best += weight(i) * diff
        }
        if nstep < 1 {
            theMin = -min
            return scale
        }
        for step in 0...nstep {
            iscale = ((rmin + rdelta * Float(step)) + Float(nmax)) / (max - min)
            var sumL: Float = 0
            var sumL2: Float = 0
            var sumXL: Float = 0
            for i in 0..<n {
                let l = clamp(nearestInt(iscale * (x[i] - min)), 0, nm)
                Laux[i] = UInt8(truncatingIfNeeded: l)
                let w = weight(i)
                let fl = Float(l)
                sumL += w * fl
                sumL2 += (w * fl) * fl
                sumXL += (w * fl) * x[i]
            }
            let D = sumW * sumL2 - sumL * sumL
            if D > 0 {
                var thisScale = (sumW * sumXL - sumX * sumL) / D
                var thisMin = (sumL2 * sumX - sumL * sumXL) / D
                if thisMin > 0 {
                    thisMin = 0
                    thisScale = sumXL / sumL2
                }
                var cur: Float = 0
                for i in 0..<n {
                    var diff = (thisScale * Float(Laux[i]) + thisMin) - x[i]
                    diff = useMad ? abs(diff) : diff * diff
                    cur += weight(i) * diff
                }
                if cur < best {
                    for i in 0..<n { L[i] = Laux[i] }
                    best = cur
                    scale = thisScale
                    min = thisMin
                }
            }
        }
        theMin = -min
        return scale
    }

    // MARK: - make_qp_quants

    /// `make_qp_quants`: quantizes non-negative values (the super-block scales and mins) to `0...nmax`.
    static func makeQpQuants(
        _ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<UInt8>,
        _ w: UnsafePointer<Float>
    ) -> Float {
        var max: Float = 0
        for i in 0..<n { max = max > x[i] ? max : x[i] }
        if max < groupMaxEps {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        let nm = Int32(nmax)
        var iscale = Float(nmax) / max
        for i in 0..<n { L[i] = UInt8(truncatingIfNeeded: nearestInt(iscale * x[i])) }
        let scale = 1 / iscale
        var best: Float = 0
        for i in 0..<n {
            let diff = x[i] - scale * Float(L[i])
            best += (w[i] * diff) * diff
        }
        for step in -4...4 where step != 0 {
            let isc = (0.1 * Float(step) + Float(nmax)) / max
            let sc = 1 / isc
            var mse: Float = 0
            for i in 0..<n {
                let l = Swift.min(nm, nearestInt(isc * x[i]))
                let diff = x[i] - sc * Float(l)
                mse += (w[i] * diff) * diff
            }
            if mse < best {
                best = mse
                iscale = isc
            }
        }
        var sumlx: Float = 0
        var suml2: Float = 0
        for i in 0..<n {
            let l = Swift.min(nm, nearestInt(iscale * x[i]))
            L[i] = UInt8(truncatingIfNeeded: l)
            let fl = Float(l)
            sumlx += (w[i] * x[i]) * fl
            suml2 += (w[i] * fl) * fl
        }
        for _ in 0..<5 {
            var changed = 0
            for i in 0..<n {
                let li = Float(L[i])
                var slx = sumlx - (w[i] * x[i]) * li
                var sl2 = suml2 - (w[i] * li) * li
                if slx > 0 && sl2 > 0 {
                    let nl = Swift.min(nm, nearestInt((x[i] * sl2) / slx))
                    if nl != Int32(L[i]) {
                        let fnl = Float(nl)
                        slx += (w[i] * x[i]) * fnl
                        sl2 += (w[i] * fnl) * fnl
                        if (slx * slx) * suml2 > (sumlx * sumlx) * sl2 {
                            L[i] = UInt8(truncatingIfNeeded: nl)
                            sumlx = slx
                            suml2 = sl2
                            changed += 1
                        }
                    }
                }
            }
            if changed == 0 { break }
        }
        return suml2 > 0 ? sumlx / suml2 : 0
    }

    // MARK: - best_index_int8

    /// `best_index_int8` over a sorted 16-entry codebook; an exact tie goes to the upper entry.
    @inline(__always)
    static func bestIndexInt8(_ values: UnsafePointer<Int8>, _ x: Float) -> Int {
        if x <= Float(values[0]) { return 0 }
        if x >= Float(values[15]) { return 15 }
        var ml = 0
        var mu = 15
        while mu - ml > 1 {
            let mav = (ml + mu) / 2
            if x < Float(values[mav]) { mu = mav } else { ml = mav }
        }
        return (x - Float(values[mu - 1])) < (Float(values[mu]) - x) ? mu - 1 : mu
    }
}
