/// Bit layouts shared by the K-quants (256-element super-blocks; spec §2.1).
enum KLayout {
    /// `sigma2 = factor·Σx²/256` over one super-block (spec §10.8).
    @inline(__always)
    static func superBlockSumX2(_ x: UnsafePointer<Float>) -> Float {
        var s: Float = 0
        for l in 0..<256 { s += x[l] * x[l] }
        return s
    }

    /// Q2_K and the low bits of Q3_K: element `128h + 32k + l` sits in byte `32h + l`, bits `2k…2k+1`.
    @inline(__always)
    static func pack2Bit(_ L: UnsafePointer<UInt8>, _ qs: UnsafeMutableRawPointer) {
        for h in 0..<2 {
            for l in 0..<32 {
                let e = 128 * h + l
                let byte = L[e] | L[e + 32] << 2 | L[e + 64] << 4 | L[e + 96] << 6
                qs.storeBytes(of: byte, toByteOffset: 32 * h + l, as: UInt8.self)
            }
        }
    }

    /// `get_scale_min_k4`: the 6-bit scale and min of sub-block `j` of a Q4_K/Q5_K super-block.
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
        @inline(__always) func s(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (s(j) & 63, s(j + 4) & 63) }
        return ((s(j + 4) & 0xF) | ((s(j - 4) >> 6) << 4), (s(j + 4) >> 4) | ((s(j) >> 6) << 4))
    }

    /// The Q4_K/Q5_K scale writer (12 bytes), fed in increasing `j`.
    @inline(__always)
    static func packScalesK4(_ ls: UnsafePointer<UInt8>, _ lm: UnsafePointer<UInt8>, _ q: UnsafeMutableRawPointer) {
        let s = q.assumingMemoryBound(to: UInt8.self)
        for j in 0..<8 {
            if j < 4 {
                s[j] = ls[j]
                s[j + 4] = lm[j]
            } else {
                s[j + 4] = (ls[j] & 0xF) | ((lm[j] & 0xF) << 4)
                s[j - 4] |= (ls[j] >> 4) << 6
                s[j] |= (lm[j] >> 4) << 6
            }
        }
    }

    /// The Q3_K 6-bit scale writer: `l` in 0…63 (biased by +32) for sub-block `j`. `scales` must start zeroed.
    @inline(__always)
    static func packScaleQ3(_ j: Int, _ l: UInt8, _ s: UnsafeMutablePointer<UInt8>) {
        if j < 8 { s[j] = l & 0xF } else { s[j - 8] |= (l & 0xF) << 4 }
        s[j % 4 + 8] |= (l >> 4) << (2 * (j / 4))
    }

    /// The Q3_K 6-bit scale of sub-block `j`, unbiased (−32…31).
    @inline(__always)
    static func scaleQ3(_ j: Int, _ s: UnsafeRawPointer) -> Int32 {
        @inline(__always) func b(_ i: Int) -> UInt8 { s.load(fromByteOffset: i, as: UInt8.self) }
        let low = j < 8 ? b(j) & 0xF : b(j - 8) >> 4
        let high = (b(8 + j % 4) >> (2 * (j / 4))) & 3
        return Int32(low | high << 4) - 32
    }
}
