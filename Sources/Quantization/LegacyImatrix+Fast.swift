/// Fast legacy encoders with an importance matrix: 16 blocks of 32 run as the 16 lanes of the lane-parallel
/// searches (`make_qx_quants` for Q4_0/Q5_0, `make_qkx3_quants` for Q4_1/Q5_1), each lane doing ggml's
/// sequential sums in element order. `sigma2` is the row's sequential Σx²/n as in ggml; the weights
/// `qw·sqrtf(sigma2 + x²)` are elementwise. Spare lanes of a final partial group repeat the last block and
/// are discarded. Hence the bytes equal the reference's.
enum LegacyImatrixFast {
    enum Kind { case q4_0, q4_1, q5_0, q5_1 }

    static func quantize(
        _ kind: Kind, _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int,
        importance qw: UnsafePointer<Float>
    ) {
        let blockBytes: Int
        switch kind {
        case .q4_0: blockBytes = Q4_0.blockBytes
        case .q4_1: blockBytes = Q4_1.blockBytes
        case .q5_0: blockBytes = Q5_0.blockBytes
        case .q5_1: blockBytes = Q5_1.blockBytes
        }
        let sigma2 = V(repeating: Legacy.rowSigma2(x, n))
        let nb = n / 32
        withUnsafeTemporaryAllocation(of: V.self, capacity: 64) { vb in
            withUnsafeTemporaryAllocation(of: VI.self, capacity: 64) { ib in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { lb in
                    let xt = vb.baseAddress!, wt = xt + 32
                    let Lt = ib.baseAddress!, Laux = Lt + 32
                    let L = lb.baseAddress!
                    var base = 0
                    while base < nb {
                        let lanes = Swift.min(16, nb - base)
                        xt.withMemoryRebound(to: Float.self, capacity: 512) { t in
                            wt.withMemoryRebound(to: Float.self, capacity: 512) { u in
                                for k in 0..<16 {
                                    let blk = base + Swift.min(k, lanes - 1)
                                    for i in 0..<32 {
                                        t[16 * i + k] = x[32 * blk + i]
                                        u[16 * i + k] = qw[32 * blk + i]
                                    }
                                }
                            }
                        }
                        for i in 0..<32 { wt[i] = wt[i] * (sigma2 + xt[i] * xt[i]).squareRoot() }
                        var d: V
                        var theMin = V(repeating: 0)
                        switch kind {
                        case .q4_0: d = LaneSearch.makeQxQuants(32, 8, xt, wt, Lt)
                        case .q5_0: d = LaneSearch.makeQxQuants(32, 16, xt, wt, Lt)
                        case .q4_1:
                            d = LaneSearch.makeQkxQuants(
                                32, 15, xt, wt, Lt, Laux, theMin: &theMin, rmin: -0.9,
                                rdelta: 0.05, nstep: 36, useMad: false, qkx3: true)
                        case .q5_1:
                            d = LaneSearch.makeQkxQuants(
                                32, 31, xt, wt, Lt, Laux, theMin: &theMin, rmin: -0.9,
                                rdelta: 0.05, nstep: 36, useMad: false, qkx3: true)
                        }
                        for k in 0..<lanes {
                            let yb = y + blockBytes * (base + k)
                            for i in 0..<32 { L[i] = UInt8(truncatingIfNeeded: Lt[i][k]) }
                            QuantHelpers.storeHalf(d[k], yb, 0)
                            switch kind {
                            case .q4_0: Legacy.packNibbles(L, yb + 2)
                            case .q5_0: Legacy.packHighBits(L, yb + 2); Legacy.packNibbles(L, yb + 6)
                            case .q4_1: QuantHelpers.storeHalf(-theMin[k], yb, 2); Legacy.packNibbles(L, yb + 4)
                            case .q5_1:
                                QuantHelpers.storeHalf(-theMin[k], yb, 2)
                                Legacy.packHighBits(L, yb + 4)
                                Legacy.packNibbles(L, yb + 8)
                            }
                        }
                        base += lanes
                    }
                }
            }
        }
    }
}
