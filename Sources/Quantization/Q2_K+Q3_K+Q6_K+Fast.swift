/// Fast encoders of the K-quants built from sixteen 16-element sub-blocks (Q2_K, Q3_K, Q6_K).
///
/// The sixteen sub-block searches of a super-block run as the 16 lanes of a `SIMD16<Float>` (``LaneSearch``),
/// each lane keeping ggml's sequential sums and operations, so each lane's scale and codes equal the scalar
/// search's. The super-block scale quantization is the scalar reference code; re-quantization and packing
/// are elementwise and vectorized directly. Hence the bytes equal the reference's.
enum K16 {
    /// `xt[i]` lane j = `src[stride·j + i]`, for i < n.
    @inline(__always)
    static func transpose(_ src: UnsafePointer<Float>, stride: Int, _ n: Int, _ xt: UnsafeMutablePointer<V>) {
        xt.withMemoryRebound(to: Float.self, capacity: 16 * n) { t in
            for j in 0..<16 { for i in 0..<n { t[16 * i + j] = src[stride * j + i] } }
        }
    }

    /// Lane-major codes back to element order: `L[16·j + i] = Lt[i][j]`.
    @inline(__always)
    static func untranspose(_ Lt: UnsafePointer<VI>, _ L: UnsafeMutablePointer<UInt8>) {
        for i in 0..<16 {
            let l = Lt[i]
            for j in 0..<16 { L[16 * j + i] = UInt8(truncatingIfNeeded: l[j]) }
        }
    }

    /// Stores the low bytes of 16 int lanes.
    @inline(__always)
    static func storeBytes(_ l: VI, _ L: UnsafeMutablePointer<UInt8>, _ offset: Int) {
        UnsafeMutableRawPointer(L).storeBytes(
            of: SIMD16<UInt8>(truncatingIfNeeded: l), toByteOffset: offset, as: SIMD16<UInt8>.self)
    }

    @inline(__always)
    static func load(_ x: UnsafePointer<Float>, _ offset: Int) -> V {
        UnsafeRawPointer(x).loadUnaligned(fromByteOffset: 4 * offset, as: V.self)
    }

    /// 32 bytes as eight 32-bit words. Byte-wise work is done on words with masks: x86 has no byte shifts
    /// and Swift's `SIMD32<UInt8>` shifts compile element by element.
    typealias Bytes32 = SIMD8<UInt32>

    @inline(__always)
    static func bytes(_ p: UnsafeRawPointer, _ offset: Int) -> Bytes32 {
        p.loadUnaligned(fromByteOffset: offset, as: Bytes32.self)
    }

    /// The 2-bit packing of Q2_K and Q3_K (codes 0…3), 32 bytes at a time.
    @inline(__always)
    static func pack2Bit(_ L: UnsafePointer<UInt8>, _ qs: UnsafeMutableRawPointer) {
        let raw = UnsafeRawPointer(L)
        for h in 0..<2 {
            let a = bytes(raw, 128 * h), b = bytes(raw, 128 * h + 32)
            let c = bytes(raw, 128 * h + 64), d = bytes(raw, 128 * h + 96)
            qs.storeBytes(of: a | (b &<< 2) | (c &<< 4) | (d &<< 6), toByteOffset: 32 * h, as: Bytes32.self)
        }
    }
}

extension Q2_K {
    /// The sixteen `make_qkx2/3_quants` searches of a super-block as 16 lanes (see ``K16``); scale
    /// quantization as the reference; re-quantization `(x + m)/d` and 2-bit packing vectorized elementwise.
    static func quantizeFast(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?
    ) {
        withUnsafeTemporaryAllocation(of: V.self, capacity: 32) { vb in
            withUnsafeTemporaryAllocation(of: VI.self, capacity: 32) { ib in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 32) { lb in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 48) { fb in
                        let xt = vb.baseAddress!, wt = xt + 16
                        let Lt = ib.baseAddress!, Laux = Lt + 16
                        let L = lb.baseAddress!, Ls = L + 256, Lm = Ls + 16
                        let scales = fb.baseAddress!, mins = scales + 16, sw = mins + 16
                        for b in 0..<(n / 256) {
                            let xb = x + 256 * b
                            let yb = y + blockBytes * b
                            let ys = yb.assumingMemoryBound(to: UInt8.self)
                            K16.transpose(xb, stride: 16, 16, xt)
                            var theMin = V(repeating: 0)
                            let scaleV: V
                            if let qw {
                                let sigma2 = KLayout.superBlockSumX2(xb) / 256
                                K16.transpose(qw + 256 * b, stride: 16, 16, wt)
                                var sumw = V(repeating: 0)
                                for i in 0..<16 {
                                    wt[i] = wt[i] * (V(repeating: sigma2) + xt[i] * xt[i]).squareRoot()
                                    sumw += wt[i]
                                }
                                scaleV = LaneSearch.makeQkxQuants(
                                    16, 3, xt, wt, Lt, Laux, theMin: &theMin, rmin: -0.9, rdelta: 0.05, nstep: 36,
                                    useMad: false, qkx3: true)
                                for j in 0..<16 { scales[j] = scaleV[j]; mins[j] = theMin[j]; sw[j] = sumw[j] }
                                let dm = QuantHelpers.makeQpQuants(16, 15, scales, Ls, sw)
                                let mm = QuantHelpers.makeQpQuants(16, 15, mins, Lm, sw)
                                QuantHelpers.storeHalf(dm, yb, 80)
                                QuantHelpers.storeHalf(mm, yb, 82)
                                for j in 0..<16 { ys[j] = Ls[j] | Lm[j] << 4 }
                            } else {
                                for i in 0..<16 { wt[i] = xt[i].magnitude }
                                scaleV = LaneSearch.makeQkxQuants(
                                    16, 3, xt, wt, Lt, Laux, theMin: &theMin, rmin: -0.5, rdelta: 0.1, nstep: 15,
                                    useMad: true, qkx3: false)
                                var maxScale: Float = 0
                                var maxMin: Float = 0
                                for j in 0..<16 {
                                    scales[j] = scaleV[j]
                                    mins[j] = theMin[j]
                                    if scales[j] > maxScale { maxScale = scales[j] }
                                    if mins[j] > maxMin { maxMin = mins[j] }
                                }
                                if maxScale > 0 {
                                    let iscale = 15 / maxScale
                                    for j in 0..<16 {
                                        ys[j] = UInt8(truncatingIfNeeded: QuantHelpers.nearestInt(iscale * scales[j]))
                                    }
                                    QuantHelpers.storeHalf(maxScale / 15, yb, 80)
                                } else {
                                    for j in 0..<16 { ys[j] = 0 }
                                    QuantHelpers.storeHalf(0, yb, 80)
                                }
                                if maxMin > 0 {
                                    let iscale = 15 / maxMin
                                    for j in 0..<16 {
                                        ys[j] |= UInt8(
                                            truncatingIfNeeded: QuantHelpers.nearestInt(iscale * mins[j]) << 4)
                                    }
                                    QuantHelpers.storeHalf(maxMin / 15, yb, 82)
                                } else {
                                    QuantHelpers.storeHalf(0, yb, 82)
                                }
                            }
                            K16.untranspose(Lt, L)
                            let d = QuantHelpers.loadHalf(yb, 80)
                            let dmin = QuantHelpers.loadHalf(yb, 82)
                            for j in 0..<16 {
                                let dl = d * Float(ys[j] & 0xF)
                                if dl == 0 { continue }
                                let ml = V(repeating: dmin * Float(ys[j] >> 4))
                                let l = ((K16.load(xb, 16 * j) + ml) / V(repeating: dl)).nearestInt.clamp(0, 3)
                                K16.storeBytes(l, L, 16 * j)
                            }
                            K16.pack2Bit(L, yb + 16)
                        }
                    }
                }
            }
        }
    }
}

extension Q3_K {
    /// Without an importance matrix, super-blocks go through the `make_q3_quants` search two at a time
    /// (32 interleaved lanes; a final odd super-block is searched twice and its copy discarded).
    static func quantizeFast(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?
    ) {
        let nb = n / 256
        withUnsafeTemporaryAllocation(of: V.self, capacity: 48) { vb in
            withUnsafeTemporaryAllocation(of: VI.self, capacity: 32) { ib in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { lb in
                    withUnsafeTemporaryAllocation(of: Int8.self, capacity: 16) { lsb in
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { fb in
                            let xt = vb.baseAddress!, xt2 = xt + 16, wt = xt + 32
                            let Lt = ib.baseAddress!, Lt2 = Lt + 16
                            let L = lb.baseAddress!
                            let Ls = lsb.baseAddress!
                            let scales = fb.baseAddress!, sw = scales + 16
                            var b = 0
                            while b < nb {
                                let group = qw == nil && b + 1 < nb ? 2 : 1
                                var scaleV = (V(repeating: 0), V(repeating: 0))
                                if let qw {
                                    let xb = x + 256 * b
                                    K16.transpose(xb, stride: 16, 16, xt)
                                    let sigma2 = 2 * KLayout.superBlockSumX2(xb) / 256
                                    K16.transpose(qw + 256 * b, stride: 16, 16, wt)
                                    var sumw = V(repeating: 0)
                                    for i in 0..<16 {
                                        wt[i] = wt[i] * (V(repeating: sigma2) + xt[i] * xt[i]).squareRoot()
                                        sumw += wt[i]
                                    }
                                    scaleV.0 = LaneSearch.makeQxQuants(16, 4, xt, wt, Lt)
                                    for j in 0..<16 { sw[j] = sumw[j] }
                                } else {
                                    K16.transpose(x + 256 * b, stride: 16, 16, xt)
                                    K16.transpose(x + 256 * (b + group - 1), stride: 16, 16, xt2)
                                    scaleV = LaneSearch.makeQ3Quants(16, 4, xt, Lt, xt2, Lt2)
                                }
                                for h in 0..<group {
                                    let xb = x + 256 * (b + h)
                                    let yb = y + blockBytes * (b + h)
                                    let sv = h == 0 ? scaleV.0 : scaleV.1
                                    let ys = (yb + 96).assumingMemoryBound(to: UInt8.self)
                                    for j in 0..<12 { ys[j] = 0 }
                                    if qw != nil {
                                        for j in 0..<16 { scales[j] = sv[j] }
                                        let dBlock = QuantHelpers.makeQxQuants(16, 32, scales, Ls, rmseType: 1, sw)
                                        for j in 0..<16 { KLayout.packScaleQ3(j, UInt8(bitPattern: Ls[j]), ys) }
                                        QuantHelpers.storeHalf(dBlock, yb, 108)
                                    } else {
                                        var maxScale: Float = 0
                                        var amax: Float = 0
                                        for j in 0..<16 {
                                            scales[j] = sv[j]
                                            let a = abs(scales[j])
                                            if a > amax { amax = a; maxScale = scales[j] }
                                        }
                                        if maxScale != 0 {
                                            let iscale = -32 / maxScale
                                            for j in 0..<16 {
                                                let l8 = Int8(
                                                    truncatingIfNeeded: QuantHelpers.nearestInt(iscale * scales[j]))
                                                let l = QuantHelpers.clamp(Int32(l8), -32, 31) + 32
                                                KLayout.packScaleQ3(j, UInt8(truncatingIfNeeded: l), ys)
                                            }
                                            QuantHelpers.storeHalf(1 / iscale, yb, 108)
                                        } else {
                                            QuantHelpers.storeHalf(0, yb, 108)
                                        }
                                    }
                                    K16.untranspose(h == 0 ? Lt : Lt2, L)
                                    let d = QuantHelpers.loadHalf(yb, 108)
                                    for j in 0..<16 {
                                        let dl = d * Float(KLayout.scaleQ3(j, yb + 96))
                                        if dl == 0 { continue }
                                        let l = (K16.load(xb, 16 * j) / V(repeating: dl)).nearestInt.clamp(-4, 3) &+ 4
                                        K16.storeBytes(l, L, 16 * j)
                                    }
                                    packCodesFast(L, yb)
                                }
                                b += group
                            }
                        }
                    }
                }
            }
        }
    }

    /// `hmask` bit `e / 32` of byte `e % 32` set when the code is ≥ 4; then the low 2 bits as Q2_K.
    @inline(__always)
    static func packCodesFast(_ L: UnsafeMutablePointer<UInt8>, _ y: UnsafeMutableRawPointer) {
        let raw = UnsafeMutableRawPointer(L)
        var hmask = K16.Bytes32(repeating: 0)
        for k in 0..<8 {
            let v = K16.bytes(raw, 32 * k)
            hmask |= ((v &>> 2) & 0x0101_0101) &<< UInt32(k)
            raw.storeBytes(of: v & 0x0303_0303, toByteOffset: 32 * k, as: K16.Bytes32.self)
        }
        y.storeBytes(of: hmask, as: K16.Bytes32.self)
        K16.pack2Bit(L, y + 32)
    }
}

extension Q6_K {
    /// The sixteen `make_qx_quants` searches of a super-block as 16 lanes (see ``K16``); scale quantization
    /// as the reference; re-quantization `x/d` and the ql/qh packing vectorized elementwise.
    static func quantizeFast(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?
    ) {
        withUnsafeTemporaryAllocation(of: V.self, capacity: 32) { vb in
            withUnsafeTemporaryAllocation(of: VI.self, capacity: 16) { ib in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { lb in
                    let xt = vb.baseAddress!, wt = xt + 16
                    let Lt = ib.baseAddress!
                    let L = lb.baseAddress!
                    for b in 0..<(n / 256) {
                        let xb = x + 256 * b
                        let yb = y + blockBytes * b
                        K16.transpose(xb, stride: 16, 16, xt)
                        if let qw {
                            K16.transpose(qw + 256 * b, stride: 16, 16, wt)
                        } else {
                            for i in 0..<16 { wt[i] = xt[i] * xt[i] }
                        }
                        let scaleV = LaneSearch.makeQxQuants(16, 32, xt, wt, Lt)
                        var maxScale: Float = 0
                        var maxAbsScale: Float = 0
                        for j in 0..<16 where abs(scaleV[j]) > maxAbsScale {
                            maxAbsScale = abs(scaleV[j])
                            maxScale = scaleV[j]
                        }
                        if maxAbsScale < QuantHelpers.groupMaxEps {
                            yb.initializeMemory(as: UInt8.self, repeating: 0, count: blockBytes)
                            QuantHelpers.storeHalf(0, yb, 208)
                            continue
                        }
                        let iscale = -128 / maxScale
                        QuantHelpers.storeHalf(1 / iscale, yb, 208)
                        for j in 0..<16 {
                            let s = Swift.min(127, QuantHelpers.nearestInt(iscale * scaleV[j]))
                            yb.storeBytes(of: Int8(truncatingIfNeeded: s), toByteOffset: 192 + j, as: Int8.self)
                        }
                        K16.untranspose(Lt, L)
                        let d = QuantHelpers.loadHalf(yb, 208)
                        for j in 0..<16 {
                            let dl = d * Float(yb.load(fromByteOffset: 192 + j, as: Int8.self))
                            if dl == 0 { continue }
                            let l = (K16.load(xb, 16 * j) / V(repeating: dl)).nearestInt.clamp(-32, 31) &+ 32
                            K16.storeBytes(l, L, 16 * j)
                        }
                        packFast(L, yb)
                    }
                }
            }
        }
    }

    /// The Q6_K ql/qh packing of ``pack(_:_:)``, 32 bytes at a time.
    @inline(__always)
    static func packFast(_ L: UnsafePointer<UInt8>, _ y: UnsafeMutableRawPointer) {
        let raw = UnsafeRawPointer(L)
        let low: UInt32 = 0x0F0F_0F0F, two: UInt32 = 0x0303_0303
        for h in 0..<2 {
            let a = K16.bytes(raw, 128 * h), b = K16.bytes(raw, 128 * h + 32)
            let c = K16.bytes(raw, 128 * h + 64), d = K16.bytes(raw, 128 * h + 96)
            y.storeBytes(of: (a & low) | ((c & low) &<< 4), toByteOffset: 64 * h, as: K16.Bytes32.self)
            y.storeBytes(of: (b & low) | ((d & low) &<< 4), toByteOffset: 64 * h + 32, as: K16.Bytes32.self)
            let qh =
                ((a &>> 4) & two) | (((b &>> 4) & two) &<< 2) | (((c &>> 4) & two) &<< 4)
                | (((d &>> 4) & two) &<< 6)
            y.storeBytes(of: qh, toByteOffset: 128 + 32 * h, as: K16.Bytes32.self)
        }
    }
}
