/// Fast K-quant decoders: 16 elements at a time, same float operations per element as the reference (each
/// output is one independent expression, so vectorizing changes nothing in the result).
enum KDequant {
    /// 16 bytes widened to int lanes.
    @inline(__always) static func bytes16(_ p: UnsafeRawPointer, _ offset: Int) -> VI {
        VI(truncatingIfNeeded: p.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt8>.self))
    }
    @inline(__always) static func store(_ v: V, _ x: UnsafeMutablePointer<Float>, _ e: Int) {
        UnsafeMutableRawPointer(x).storeBytes(of: v, toByteOffset: 4 * e, as: V.self)
    }
}

extension Q2_K {
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 256) {
            let yb = y + blockBytes * b
            let out = x + 256 * b
            let d = QuantHelpers.loadHalf(yb, 80)
            let dmin = QuantHelpers.loadHalf(yb, 82)
            for h in 0..<2 {
                for g in 0..<2 {
                    let q = KDequant.bytes16(yb, 16 + 32 * h + 16 * g)
                    for k in 0..<4 {
                        let sc = yb.load(fromByteOffset: 8 * h + 2 * k + g, as: UInt8.self)
                        let dl = d * Float(sc & 0xF)
                        let ml = dmin * Float(sc >> 4)
                        let v = ((q &>> Int32(2 * k)) & 3).float
                        KDequant.store(V(repeating: dl) * v - V(repeating: ml), out, 128 * h + 32 * k + 16 * g)
                    }
                }
            }
        }
    }
}

extension Q3_K {
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 256) {
            let yb = y + blockBytes * b
            let out = x + 256 * b
            let d = QuantHelpers.loadHalf(yb, 108)
            for h in 0..<2 {
                for g in 0..<2 {
                    let q = KDequant.bytes16(yb, 32 + 32 * h + 16 * g)
                    let hm = KDequant.bytes16(yb, 16 * g)
                    for k in 0..<4 {
                        let dl = d * Float(KLayout.scaleQ3(8 * h + 2 * k + g, yb + 96))
                        let high = (hm &>> Int32(4 * h + k)) & 1
                        let v = (((q &>> Int32(2 * k)) & 3) &- ((high ^ 1) &<< 2)).float
                        KDequant.store(V(repeating: dl) * v, out, 128 * h + 32 * k + 16 * g)
                    }
                }
            }
        }
    }
}

extension Q4_K {
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 256) {
            let yb = y + blockBytes * b
            let out = x + 256 * b
            let d = QuantHelpers.loadHalf(yb, 0)
            let dmin = QuantHelpers.loadHalf(yb, 2)
            for j in 0..<8 {
                let (sc, m) = KLayout.scaleMinK4(j, yb + 4)
                let d1 = V(repeating: d * Float(sc))
                let m1 = V(repeating: dmin * Float(m))
                for g in 0..<2 {
                    let q = KDequant.bytes16(yb, 16 + 32 * (j / 2) + 16 * g)
                    let v = (j % 2 == 0 ? q & 0xF : q &>> 4).float
                    KDequant.store(d1 * v - m1, out, 32 * j + 16 * g)
                }
            }
        }
    }
}

extension Q5_K {
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 256) {
            let yb = y + blockBytes * b
            let out = x + 256 * b
            let d = QuantHelpers.loadHalf(yb, 0)
            let dmin = QuantHelpers.loadHalf(yb, 2)
            for j in 0..<8 {
                let (sc, m) = KLayout.scaleMinK4(j, yb + 4)
                let d1 = V(repeating: d * Float(sc))
                let m1 = V(repeating: dmin * Float(m))
                for g in 0..<2 {
                    let q = KDequant.bytes16(yb, 48 + 32 * (j / 2) + 16 * g)
                    let h = (KDequant.bytes16(yb, 16 + 16 * g) &>> Int32(j)) & 1
                    let v = ((j % 2 == 0 ? q & 0xF : q &>> 4) | (h &<< 4)).float
                    KDequant.store(d1 * v - m1, out, 32 * j + 16 * g)
                }
            }
        }
    }
}

extension Q6_K {
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 256) {
            let yb = y + blockBytes * b
            let out = x + 256 * b
            let d = QuantHelpers.loadHalf(yb, 208)
            for h in 0..<2 {
                for g in 0..<2 {
                    let qh = KDequant.bytes16(yb, 128 + 32 * h + 16 * g)
                    let ql0 = KDequant.bytes16(yb, 64 * h + 16 * g)
                    let ql1 = KDequant.bytes16(yb, 64 * h + 32 + 16 * g)
                    for k in 0..<4 {
                        let ql = k & 1 == 0 ? ql0 : ql1
                        let low = k < 2 ? ql & 0xF : ql &>> 4
                        let q = (low | (((qh &>> Int32(2 * k)) & 3) &<< 4)) &- 32
                        let sc = yb.load(fromByteOffset: 192 + 8 * h + 2 * k + g, as: Int8.self)
                        KDequant.store(V(repeating: d * Float(sc)) * q.float, out, 128 * h + 32 * k + 16 * g)
                    }
                }
            }
        }
    }
}
