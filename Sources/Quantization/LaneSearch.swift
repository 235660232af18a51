/// 16 float lanes for the lane-parallel searches: one lane per block or sub-block, so every per-block reduction
/// keeps ggml's sequential index order and rounding (PERFORMANCE.md, "Bit-exactness and SIMD").
///
/// The helpers are written on the concrete `SIMD16<Float>` on purpose: in a generic `SIMD` context Swift picks
/// the protocol's element-by-element operators, which LLVM re-vectorizes badly (measured 3× slower).
typealias V = SIMD16<Float>
typealias VI = SIMD16<Int32>

extension SIMD16 where Scalar == Float {
    @inline(__always) var intBits: SIMD16<Int32> { unsafeBitCast(self, to: SIMD16<Int32>.self) }
    @inline(__always) init(intBits: SIMD16<Int32>) { self = unsafeBitCast(intBits, to: Self.self) }

    /// ggml's `nearest_int` per lane.
    @inline(__always) var nearestInt: SIMD16<Int32> {
        ((self + 12_582_912.0).intBits & 0x007F_FFFF) &- 0x0040_0000
    }
    @inline(__always) var magnitude: Self { Self(intBits: intBits & 0x7FFF_FFFF) }

    /// All-ones lanes where the comparison holds (IEEE: false with NaN).
    @inline(__always) func lt(_ other: Self) -> SIMD16<Int32> { unsafeBitCast(self .< other, to: SIMD16<Int32>.self) }
    @inline(__always) func gt(_ other: Self) -> SIMD16<Int32> { unsafeBitCast(self .> other, to: SIMD16<Int32>.self) }
    @inline(__always) func le(_ other: Self) -> SIMD16<Int32> { unsafeBitCast(self .<= other, to: SIMD16<Int32>.self) }
    @inline(__always) func eq(_ other: Self) -> SIMD16<Int32> { unsafeBitCast(self .== other, to: SIMD16<Int32>.self) }
    @inline(__always) func ne(_ other: Self) -> SIMD16<Int32> { unsafeBitCast(self .!= other, to: SIMD16<Int32>.self) }

    /// `mask ? a : b` per lane.
    @inline(__always) static func select(_ mask: SIMD16<Int32>, _ a: Self, _ b: Self) -> Self {
        Self(intBits: (a.intBits & mask) | (b.intBits & ~mask))
    }
}

extension SIMD16 where Scalar == Int32 {
    @inline(__always) static func select(_ mask: Self, _ a: Self, _ b: Self) -> Self { (a & mask) | (b & ~mask) }
    /// `MAX(lo, MIN(hi, v))` per lane for |v|, |lo|, |hi| < 2³⁰, by sign-bit masks: `clamped` and
    /// `pointwiseMin` are not inlined, and integer `SIMDMask` comparisons are packed to bits and back.
    @inline(__always) func clamp(_ lo: Int32, _ hi: Int32) -> Self {
        let hiV = Self(repeating: hi), loV = Self(repeating: lo)
        let above = (hiV &- self) &>> 31          // all ones where v > hi
        let m = self ^ ((self ^ hiV) & above)
        let below = (m &- loV) &>> 31             // all ones where m < lo
        return m ^ ((m ^ loV) & below)
    }
    /// Exact int → float for |v| < 2²² (`bits(v + 0x4B400000) − 1.5·2²³`); the generic `SIMD16<Float>(_:)`
    /// initializer is not inlined and converts lane by lane.
    @inline(__always) var float: SIMD16<Float> {
        SIMD16<Float>(intBits: self &+ 0x4B40_0000) - 12_582_912.0
    }
    /// True when any lane is non-zero.
    @inline(__always) var anyNonZero: Bool { self != Self(repeating: 0) }
}

/// Lane-parallel ports of the `ggml-quants.c` searches. Lane k runs the scalar algorithm on its own block,
/// element by element in index order, with the same float operations; data-dependent branches become masks
/// evaluated in the same order, so every lane's result equals the scalar reference's bit for bit.
enum LaneSearch {
    /// `make_qkx2_quants` / `make_qkx3_quants` per lane. `x[i]` holds element i of every lane's block;
    /// `w == nil` means weights `x²` (qkx3 only). Codes land in `L` (0…nmax), the negated min in `theMin`.
    @inline(__always)
    static func makeQkxQuants(
        _ n: Int, _ nmax: Int32, _ x: UnsafePointer<V>, _ w: UnsafePointer<V>,
        _ L: UnsafeMutablePointer<VI>, _ Laux: UnsafeMutablePointer<VI>, theMin: inout V,
        rmin: Float, rdelta: Float, nstep: Int, useMad: Bool, qkx3: Bool
    ) -> V {
        let zero = V(repeating: 0)
        var min = x[0]
        var max = x[0]
        var sumW = w[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            let xi = x[i]
            min = V.select(xi.lt(min), xi, min)
            max = V.select(xi.gt(max), xi, max)
            sumW += w[i]
            sumX += w[i] * xi
        }
        min = V.select(min.gt(zero), zero, min)
        let degenerate = qkx3 ? max.le(min) : max.eq(min)
        let live = ~degenerate
        // `min` changes when a trial is accepted, and ggml re-reads it (in `max - min` too) on every trial.
        var iscale = V(repeating: Float(nmax)) / (max - min)
        var scale = 1 / iscale
        var best = zero
        for i in 0..<n {
            let l = (iscale * (x[i] - min)).nearestInt.clamp(0, nmax)
            L[i] = l
            var diff = (scale * l.float + min) - x[i]
            diff = useMad ? diff.magnitude : diff * diff
            best += w[i] * diff
        }
        if nstep >= 1 {
            for step in 0...nstep {
                iscale = V(repeating: (rmin + rdelta * Float(step)) + Float(nmax)) / (max - min)
                var sumL = zero
                var sumL2 = zero
                var sumXL = zero
                for i in 0..<n {
                    let l = (iscale * (x[i] - min)).nearestInt.clamp(0, nmax)
                    Laux[i] = l
                    let fl = l.float
                    let wl = w[i] * fl
                    sumL += wl
                    sumL2 += wl * fl
                    sumXL += wl * x[i]
                }
                let D = sumW * sumL2 - sumL * sumL
                let dPositive = D.gt(zero) & live
                if !dPositive.anyNonZero { continue }
                var thisScale = (sumW * sumXL - sumX * sumL) / D
                var thisMin = (sumL2 * sumX - sumL * sumXL) / D
                let minPositive = thisMin.gt(zero)
                thisMin = V.select(minPositive, zero, thisMin)
                thisScale = V.select(minPositive, sumXL / sumL2, thisScale)
                var cur = zero
                for i in 0..<n {
                    var diff = (thisScale * Laux[i].float + thisMin) - x[i]
                    diff = useMad ? diff.magnitude : diff * diff
                    cur += w[i] * diff
                }
                let accept = dPositive & cur.lt(best)
                if !accept.anyNonZero { continue }
                for i in 0..<n { L[i] = VI.select(accept, Laux[i], L[i]) }
                best = V.select(accept, cur, best)
                scale = V.select(accept, thisScale, scale)
                min = V.select(accept, thisMin, min)
            }
        }
        // Degenerate lanes: L = 0, scale 0, min as clamped.
        for i in 0..<n { L[i] = L[i] & live }
        theMin = -min
        return V.select(live, scale, zero)
    }

    /// `make_qx_quants` with `rmse_type = 1` per lane; `w[i]` is the weight of element i (the caller passes
    /// `x²` when ggml uses no `qw`). Codes land in `L` with the `+nmax` bias.
    @inline(__always)
    static func makeQxQuants(
        _ n: Int, _ nmax: Int32, _ x: UnsafePointer<V>, _ w: UnsafePointer<V>, _ L: UnsafeMutablePointer<VI>
    ) -> V {
        let zero = V(repeating: 0)
        var amax = zero
        var max = zero
        for i in 0..<n {
            let ax = x[i].magnitude
            let m = ax.gt(amax)
            amax = V.select(m, ax, amax)
            max = V.select(m, x[i], max)
        }
        let live = ~amax.lt(V(repeating: QuantHelpers.groupMaxEps))
        var iscale = V(repeating: Float(-nmax)) / max
        var sumlx = zero
        var suml2 = zero
        for i in 0..<n {
            let l = (iscale * x[i]).nearestInt.clamp(-nmax, nmax - 1)
            L[i] = l &+ nmax
            let fl = l.float
            sumlx += (w[i] * x[i]) * fl
            suml2 += (w[i] * fl) * fl
        }
        var scale = V.select(suml2.ne(zero), sumlx / suml2, zero)
        var best = scale * sumlx
        for step in -9...9 where step != 0 {
            iscale = V(repeating: -(Float(nmax) + 0.1 * Float(step))) / max
            sumlx = zero
            suml2 = zero
            for i in 0..<n {
                let fl = (iscale * x[i]).nearestInt.clamp(-nmax, nmax - 1).float
                sumlx += (w[i] * x[i]) * fl
                suml2 += (w[i] * fl) * fl
            }
            let accept = suml2.gt(zero) & (sumlx * sumlx).gt(best * suml2) & live
            if !accept.anyNonZero { continue }
            for i in 0..<n {
                L[i] = VI.select(accept, (iscale * x[i]).nearestInt.clamp(-nmax, nmax - 1) &+ nmax, L[i])
            }
            scale = V.select(accept, sumlx / suml2, scale)
            best = V.select(accept, scale * sumlx, best)
        }
        for i in 0..<n { L[i] = L[i] & live }
        return V.select(live, scale, zero)
    }

    /// `make_q3_quants` with `do_rmse = true` per lane (the Q3_K reference search); codes biased by `+nmax`.
    @inline(__always)
    static func makeQ3Quants(
        _ n: Int, _ nmax: Int32, _ x: UnsafePointer<V>, _ L: UnsafeMutablePointer<VI>
    ) -> V {
        let zero = V(repeating: 0)
        var amax = zero
        var max = zero
        for i in 0..<n {
            let ax = x[i].magnitude
            let m = ax.gt(amax)
            amax = V.select(m, ax, amax)
            max = V.select(m, x[i], max)
        }
        let live = ~amax.lt(V(repeating: QuantHelpers.groupMaxEps))
        let iscale = V(repeating: Float(-nmax)) / max
        var sumlx = zero
        var suml2 = zero
        for i in 0..<n {
            let l = (iscale * x[i]).nearestInt.clamp(-nmax, nmax - 1)
            L[i] = l
            let w = x[i] * x[i]
            let fl = l.float
            sumlx += (w * x[i]) * fl
            suml2 += (w * fl) * fl
        }
        for _ in 0..<5 {
            var changed = VI(repeating: 0)
            for i in 0..<n {
                let w = x[i] * x[i]
                let li = L[i].float
                var slx = sumlx - (w * x[i]) * li
                let slxPositive = slx.gt(zero)
                var sl2 = suml2 - (w * li) * li
                let nl = ((x[i] * sl2) / slx).nearestInt.clamp(-nmax, nmax - 1)
                let delta = nl ^ L[i]
                let differs = (delta | (0 &- delta)) &>> 31       // all ones where nl != L[i]
                let fnl = nl.float
                slx += (w * x[i]) * fnl
                sl2 += (w * fnl) * fnl
                let accept = slxPositive & differs & sl2.gt(zero) & ((slx * slx) * suml2).gt((sumlx * sumlx) * sl2)
                L[i] = VI.select(accept, nl, L[i])
                sumlx = V.select(accept, slx, sumlx)
                suml2 = V.select(accept, sl2, suml2)
                changed |= accept
            }
            // A lane whose pass changed nothing stops in ggml; later passes cannot change it either (its sums
            // and codes are a fixed point of the same deterministic pass), so running on is harmless.
            if !(changed & live).anyNonZero { break }
        }
        for i in 0..<n { L[i] = (L[i] &+ nmax) & live }
        return V.select(live, V.select(suml2.gt(zero), sumlx / suml2, zero), zero)
    }
}
