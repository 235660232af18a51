extension IQ4_NL {
    /// Fast IQ4_NL encoder: 16 blocks run as the 16 lanes of a `SIMD16<Float>`, each lane doing
    /// `quantize_row_iq4_nl_impl`'s sequential sums in element order with the same float operations.
    ///
    /// `best_index_int8` becomes a branch-free count: for a sorted codebook, the binary search's answer equals
    /// the number of k in 1…15 with `!((x − v[k−1]) < (v[k] − x))` (every k below the bracketing interval
    /// satisfies it, every k above fails it, and at the bracket it is ggml's exact tie rule; NaN gives 15 in
    /// both). The chosen codebook value is accumulated alongside as `v[0] + Σ (v[k] − v[k−1])`, exact in
    /// float. Spare lanes of a final partial group repeat the last block and are discarded.
    ///
    /// Blocks are independent (sigma2 is per block), so several rows can be passed as one stream of `count`
    /// values; `rowLength` then locates each block's importance weights (column `32·(block mod blocksPerRow)`).
    /// This keeps all 16 lanes busy on short rows (576 columns are 18 blocks).
    static func quantizeFast(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?,
        rowLength: Int? = nil
    ) {
        let blocksPerRow = (rowLength ?? n) / 32
        let nb = n / 32
        withUnsafeTemporaryAllocation(of: V.self, capacity: 64) { vb in
            withUnsafeTemporaryAllocation(of: VI.self, capacity: 32) { ib in
                let xt = vb.baseAddress!, wt = xt + 32
                let Lt = ib.baseAddress!
                var base = 0
                while base < nb {
                    let lanes = Swift.min(16, nb - base)
                    xt.withMemoryRebound(to: Float.self, capacity: 512) { t in
                        for k in 0..<16 {
                            let src = x + 32 * (base + Swift.min(k, lanes - 1))
                            for i in 0..<32 { t[16 * i + k] = src[i] }
                        }
                    }
                    var sumX2 = V(repeating: 0)
                    for i in 0..<32 { sumX2 += xt[i] * xt[i] }
                    let sigma2 = sumX2 * (2 / 32 as Float)
                    if let qw {
                        wt.withMemoryRebound(to: Float.self, capacity: 512) { t in
                            for k in 0..<16 {
                                let src = qw + 32 * ((base + Swift.min(k, lanes - 1)) % blocksPerRow)
                                for i in 0..<32 { t[16 * i + k] = src[i] }
                            }
                        }
                        for i in 0..<32 { wt[i] = wt[i] * (sigma2 + xt[i] * xt[i]).squareRoot() }
                    } else {
                        for i in 0..<32 { wt[i] = xt[i] * xt[i] }
                    }
                    let scale = searchScale(xt, wt)
                    let nonZero = scale.ne(V(repeating: 0))
                    let id = V.select(nonZero, 1 / scale, V(repeating: 0))
                    for i in 0..<32 { Lt[i] = bestIndex(id * xt[i]).index }
                    for k in 0..<lanes {
                        let yb = y + blockBytes * (base + k)
                        QuantHelpers.storeHalf(scale[k], yb, 0)
                        for j in 0..<16 {
                            let byte = UInt8(truncatingIfNeeded: Lt[j][k] | (Lt[j + 16][k] &<< 4))
                            yb.storeBytes(of: byte, toByteOffset: 2 + j, as: UInt8.self)
                        }
                    }
                    base += lanes
                }
            }
        }
    }

    /// `best_index_int8` per lane, and the codebook value it selects (see ``quantizeFast(_:_:count:importance:)``).
    @inline(__always)
    static func bestIndex(_ v: V) -> (index: VI, value: V) {
        var index = VI(repeating: 15)
        var value = V(repeating: 113)
        // Walk k = 15…1, subtracting where the element is strictly closer to v[k−1].
        @inline(__always) func step(_ lo: Float, _ hi: Float) {
            let closerBelow = (v - V(repeating: lo)).lt(V(repeating: hi) - v)
            index &+= closerBelow
            value -= V(intBits: V(repeating: hi - lo).intBits & closerBelow)
        }
        step(89, 113); step(69, 89); step(53, 69); step(38, 53); step(25, 38); step(13, 25); step(1, 13)
        step(-10, 1); step(-22, -10); step(-35, -22); step(-49, -35); step(-65, -49); step(-83, -65)
        step(-104, -83); step(-127, -104)
        return (index, value)
    }

    /// The scale search of `quantize_row_iq4_nl_impl` with `ntry = 7`, one block per lane.
    @inline(__always)
    static func searchScale(_ x: UnsafePointer<V>, _ w: UnsafePointer<V>) -> V {
        let zero = V(repeating: 0)
        var amax = zero
        var max = zero
        for i in 0..<32 {
            let ax = x[i].magnitude
            let m = ax.gt(amax)
            amax = V.select(m, ax, amax)
            max = V.select(m, x[i], max)
        }
        let live = ~amax.lt(V(repeating: QuantHelpers.groupMaxEps))
        var id = 1 / (max.negated / V(repeating: -127))
        var sumqx = zero
        var sumq2 = zero
        for i in 0..<32 {
            let q = bestIndex(id * x[i]).value
            sumqx += (w[i] * q) * x[i]
            sumq2 += (w[i] * q) * q
        }
        var d = V.select(sumq2.gt(zero), sumqx / sumq2, zero)
        var best = d * sumqx
        for itry in -ntry...ntry {
            id = V(repeating: Float(itry - 127)) / max
            sumqx = zero
            sumq2 = zero
            for i in 0..<32 {
                let q = bestIndex(id * x[i]).value
                sumqx += (w[i] * q) * x[i]
                sumq2 += (w[i] * q) * q
            }
            let accept = sumq2.gt(zero) & (sumqx * sumqx).gt(best * sumq2)
            d = V.select(accept, sumqx / sumq2, d)
            best = V.select(accept, d * sumqx, best)
        }
        return V.select(live, d, zero)
    }
}
