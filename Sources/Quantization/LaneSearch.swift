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
    /// IEEE negation (flips the sign bit, so +0 ↦ −0 as C's unary minus).
    @inline(__always) var negated: Self { Self(intBits: intBits ^ Int32.min) }

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
        let above = (hiV &- self) &>> 31  // all ones where v > hi
        let m = self ^ ((self ^ hiV) & above)
        let below = (m &- loV) &>> 31  // all ones where m < lo
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
    /// `nearest_int` then `clamp(·, 0, nmax)`, returned as float, for lanes with |t| < 2²¹: the clamp is done
    /// first on the float bit patterns (non-negative floats order like integers), which gives the same code
    /// because rounding is monotonic, then the 1.5·2²³ trick rounds to nearest-even.
    @inline(__always)
    static func roundClamped(_ t: V, _ nmaxBits: VI) -> V {
        let b = t.intBits
        let nonNegative = b & ~(b &>> 31)  // t < 0 (and −0) → +0
        let above = (nmaxBits &- nonNegative) &>> 31  // all ones where t > nmax
        let c = nonNegative ^ ((nonNegative ^ nmaxBits) & above)
        // Round half to even (`vroundps`); for 0 ≤ c ≤ nmax the same value as the 1.5·2²³ trick.
        return V(intBits: c).rounded(.toNearestOrEven)
    }

    /// `make_qkx2_quants` / `make_qkx3_quants` per lane. `x[i]` holds element i of every lane's block;
    /// `w[i]` the weights (the caller passes `x²` where ggml does). Codes land in `L` (0…nmax), the negated
    /// min in `theMin`.
    ///
    /// The codes are kept as floats and rounded with ``roundClamped(_:_:)`` when every live lane's
    /// `|iscale·(x − min)|` is provably below 2²¹ for the trial (bounded by `|iscale|·max(|max − min|,
    /// |lowest − min|)`); otherwise the trial uses the integer `nearest_int` and clamp literally, so codes
    /// match ggml's even where `nearest_int` would wrap.
    @inline(__always)
    static func makeQkxQuants(
        _ n: Int, _ nmax: Int32, _ x: UnsafePointer<V>, _ w: UnsafePointer<V>,
        _ Lint: UnsafeMutablePointer<VI>, _ LauxInt: UnsafeMutablePointer<VI>, theMin: inout V,
        rmin: Float, rdelta: Float, nstep: Int, useMad: Bool, qkx3: Bool
    ) -> V {
        let Laux = UnsafeMutableRawPointer(LauxInt).assumingMemoryBound(to: V.self)
        let zero = V(repeating: 0)
        let nmaxF = V(repeating: Float(nmax))
        let nmaxBits = nmaxF.intBits
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
        let lowest = min
        min = V.select(min.gt(zero), zero, min)
        let degenerate = qkx3 ? max.le(min) : max.eq(min)
        let live = ~degenerate
        // `min` changes when a trial is accepted, and ggml re-reads it (in `max - min` too) on every trial.
        let limit = V(repeating: 2_097_152)
        // True when every live lane's |iscale·(x − min)| stays below 2²¹ (then ``roundClamped(_:_:)`` is exact).
        // `iscale` overflows to inf for subnormal ranges: the bound is then inf and the literal path is taken.
        @inline(__always) func inRange(_ iscale: V, _ min: V) -> Bool {
            let spanA = (max - min).magnitude, spanB = (lowest - min).magnitude
            let bound = iscale.magnitude * V.select(spanA.gt(spanB), spanA, spanB)
            return !(~bound.lt(limit) & live).anyNonZero
        }
        var iscale = nmaxF / (max - min)
        var scale = 1 / iscale
        var best = zero
        let initialInRange = inRange(iscale, min)
        // The codes of the best trial are recomputed once at the end from that trial's iscale and min
        // (instead of copying Laux on every acceptance).
        var bestIscale = iscale
        var bestMinUsed = min
        for i in 0..<n {
            let t = iscale * (x[i] - min)
            let fl = initialInRange ? roundClamped(t, nmaxBits) : t.nearestInt.clamp(0, nmax).float
            var diff = (scale * fl + min) - x[i]
            diff = useMad ? diff.magnitude : diff * diff
            best += w[i] * diff
        }
        if nstep >= 1 {
            for step in 0...nstep {
                iscale = V(repeating: (rmin + rdelta * Float(step)) + Float(nmax)) / (max - min)
                let inRange = inRange(iscale, min)
                var sumL = zero
                var sumL2 = zero
                var sumXL = zero
                if inRange {
                    for i in 0..<n {
                        let fl = roundClamped(iscale * (x[i] - min), nmaxBits)
                        Laux[i] = fl
                        let wl = w[i] * fl
                        sumL += wl
                        sumL2 += wl * fl
                        sumXL += wl * x[i]
                    }
                } else {
                    for i in 0..<n {
                        let fl = (iscale * (x[i] - min)).nearestInt.clamp(0, nmax).float
                        Laux[i] = fl
                        let wl = w[i] * fl
                        sumL += wl
                        sumL2 += wl * fl
                        sumXL += wl * x[i]
                    }
                }
                let D = sumW * sumL2 - sumL * sumL
                let dPositive = D.gt(zero) & live
                var thisScale = (sumW * sumXL - sumX * sumL) / D
                var thisMin = (sumL2 * sumX - sumL * sumXL) / D
                let minPositive = thisMin.gt(zero)
                thisMin = V.select(minPositive, zero, thisMin)
                thisScale = V.select(minPositive, sumXL / sumL2, thisScale)
                var cur = zero
                for i in 0..<n {
                    var diff = (thisScale * Laux[i] + thisMin) - x[i]
                    diff = useMad ? diff.magnitude : diff * diff
                    cur += w[i] * diff
                }
                let accept = dPositive & cur.lt(best)
                bestIscale = V.select(accept, iscale, bestIscale)
                bestMinUsed = V.select(accept, min, bestMinUsed)
                best = V.select(accept, cur, best)
                scale = V.select(accept, thisScale, scale)
                min = V.select(accept, thisMin, min)
            }
        }
        // Integer codes of the chosen trial (the literal `nearest_int` and clamp, exact in every range);
        // degenerate lanes: L = 0, scale 0, min as clamped.
        for i in 0..<n {
            Lint[i] = (bestIscale * (x[i] - bestMinUsed)).nearestInt.clamp(0, nmax) & live
        }
        theMin = min.negated  // SIMD `prefix -` is `0 − x`, which loses the sign of zero
        return V.select(live, scale, zero)
    }

    /// `make_qx_quants` with `rmse_type = 1` per lane; `w[i]` is the weight of element i (the caller passes
    /// `x²` when ggml uses no `qw`). Codes land in `L` with the `+nmax` bias.
    @inline(__always)
    static func makeQxQuants(
        _ n: Int, _ nmax: Int32, _ x: UnsafePointer<V>, _ w: UnsafePointer<V>, _ Lint: UnsafeMutablePointer<VI>
    ) -> V {
        // Codes are kept as floats. For live lanes |iscale·x| ≤ nmax + 0.9 (|x| ≤ |max|), and
        // `clamp(nearest_int(t), −nmax, nmax−1)` is computed in the rounded-float domain: the bits of
        // t + 1.5·2²³ are 0x4B400000 + round(t), so the clamp is on integers (sign-bit masks, no SIMDMask
        // compares, which LLVM packs to bits here) and one subtraction gives the float code.
        // Dead lanes (amax < 1e-15) compute garbage that is masked at the end.
        let zero = V(repeating: 0)
        let magicBits = V(repeating: 12_582_912.0).intBits
        let loBits = magicBits &- nmax, hiBits = magicBits &+ (nmax - 1)
        @inline(__always) func code(_ t: V) -> V {
            let r = (t + 12_582_912.0).intBits
            let above = (hiBits &- r) &>> 31
            let m = r ^ ((r ^ hiBits) & above)
            let below = (m &- loBits) &>> 31
            return V(intBits: m ^ ((m ^ loBits) & below)) - 12_582_912.0
        }
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
        // `w·x` is the same product in every trial: computed once (ggml recomputes it; same value).
        return withUnsafeTemporaryAllocation(of: V.self, capacity: n) { wxBuffer -> V in
            let wx = wxBuffer.baseAddress!
            // The codes of the best trial depend only on its iscale: recomputed once at the end.
            var bestIscale = iscale
            for i in 0..<n {
                wx[i] = w[i] * x[i]
                let fl = code(iscale * x[i])
                sumlx += wx[i] * fl
                suml2 += (w[i] * fl) * fl
            }
            var scale = V.select(suml2.ne(zero), sumlx / suml2, zero)
            var best = scale * sumlx
            for step in -9...9 where step != 0 {
                iscale = V(repeating: -(Float(nmax) + 0.1 * Float(step))) / max
                sumlx = zero
                suml2 = zero
                for i in 0..<n {
                    let fl = code(iscale * x[i])
                    sumlx += wx[i] * fl
                    suml2 += (w[i] * fl) * fl
                }
                let accept = suml2.gt(zero) & (sumlx * sumlx).gt(best * suml2) & live
                bestIscale = V.select(accept, iscale, bestIscale)
                scale = V.select(accept, sumlx / suml2, scale)
                best = V.select(accept, scale * sumlx, best)
            }
            for i in 0..<n { Lint[i] = (code(bestIscale * x[i]).nearestInt &+ nmax) & live }
            return V.select(live, scale, zero)
        }
    }

    /// `make_q3_quants` with `do_rmse = true` per lane (the Q3_K reference search); codes biased by `+nmax`.
    ///
    /// Two independent groups of 16 lanes (`a` and `b`, e.g. two super-blocks) run interleaved: the
    /// refinement pass is one long dependency chain per lane (a division feeds the next element's sums), so
    /// two chains in flight nearly halve its time. Each group's arithmetic is exactly the single-group one.
    static func makeQ3Quants(
        _ n: Int, _ nmax: Int32, _ xa: UnsafePointer<V>, _ La: UnsafeMutablePointer<VI>,
        _ xb: UnsafePointer<V>, _ Lb: UnsafeMutablePointer<VI>
    ) -> (V, V) {
        let zero = V(repeating: 0)
        struct State { var sumlx: V; var suml2: V; var live: VI }

        @inline(__always) func start(_ x: UnsafePointer<V>, _ L: UnsafeMutablePointer<VI>) -> State {
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
            return State(sumlx: sumlx, suml2: suml2, live: live)
        }

        /// One element of a refinement pass; returns the lanes that changed.
        @inline(__always) func refine(
            _ i: Int, _ x: UnsafePointer<V>, _ L: UnsafeMutablePointer<VI>, _ st: inout State
        ) -> VI {
            let w = x[i] * x[i]
            let li = L[i].float
            var slx = st.sumlx - (w * x[i]) * li
            let slxPositive = slx.gt(zero)
            var sl2 = st.suml2 - (w * li) * li
            let nl = ((x[i] * sl2) / slx).nearestInt.clamp(-nmax, nmax - 1)
            let delta = nl ^ L[i]
            let differs = (delta | (0 &- delta)) &>> 31  // all ones where nl != L[i]
            let fnl = nl.float
            slx += (w * x[i]) * fnl
            sl2 += (w * fnl) * fnl
            let accept =
                slxPositive & differs & sl2.gt(zero)
                & ((slx * slx) * st.suml2).gt((st.sumlx * st.sumlx) * sl2)
            L[i] = VI.select(accept, nl, L[i])
            st.sumlx = V.select(accept, slx, st.sumlx)
            st.suml2 = V.select(accept, sl2, st.suml2)
            return accept & st.live
        }

        @inline(__always) func finish(_ L: UnsafeMutablePointer<VI>, _ st: State) -> V {
            for i in 0..<n { L[i] = (L[i] &+ nmax) & st.live }
            return V.select(st.live, V.select(st.suml2.gt(zero), st.sumlx / st.suml2, zero), zero)
        }

        var a = start(xa, La)
        var b = start(xb, Lb)
        for _ in 0..<5 {
            var changed = VI(repeating: 0)
            for i in 0..<n {
                changed |= refine(i, xa, La, &a)
                changed |= refine(i, xb, Lb, &b)
            }
            // A lane whose pass changed nothing stops in ggml; later passes cannot change it either (its sums
            // and codes are a fixed point of the same deterministic pass), so running on is harmless.
            if !changed.anyNonZero { break }
        }
        return (finish(La, a), finish(Lb, b))
    }
}
