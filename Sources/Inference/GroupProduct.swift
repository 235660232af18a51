import AVX2Kernels

/// One token times ``GroupedRows``: the decode step's matrix-vector product, in integers.
///
/// The token is rounded to its grid (``ActivationGrid``: Q8_0 or Q8_K) as integer codes with a scale per
/// block, as llama.cpp's CPU backend quantizes it before a dot product. For each row and weight group the
/// code products are summed exactly; over groups in order, `acc = fma(scale·dx, Float(Σ code·x), acc)` and,
/// for types with offsets, `acc = fma(offset·dx, Float(Σ x), acc)`. Integers are exact on every route and the
/// float steps are the same, so the AVX2 kernel (`vpmaddubsw`, ``AVX2Kernels``) and the portable one give the
/// same bits. The weights stream at one byte per weight plus the group scales.
enum GroupProduct {
    /// The token's codes (`columns` bytes), then per weight group the codes' sum (Int32) and scale (Float).
    static func activationBytes(columns: Int, groups: Int) -> Int { columns + groups * 8 }

    /// Rounds `x` (`columns` values) to `grid` as codes within ±127, with each weight group's code sum and
    /// activation scale (`groupLength` divides the grid's block, or the block divides it).
    static func prepare(
        _ x: UnsafePointer<Float>, columns: Int, grid: ActivationGrid, groupLength: Int,
        into buffer: UnsafeMutableRawPointer
    ) {
        let codes = buffer.assumingMemoryBound(to: Int8.self)
        let groups = columns / groupLength
        let sums = (buffer + columns).bindMemory(to: Int32.self, capacity: groups)
        let scales = (buffer + columns + groups * 4).bindMemory(to: Float.self, capacity: groups)
        let block = grid.blockLength
        if grid == .q8_0 {
            // Groups of 32, one per Q8_0 block: the block scales are the groups' scales.
            GGMLOrder.quantizeQ8_0(x, count: columns, bytes: codes, scales: scales)
        } else {
            var b = 0
            while b < columns {
                var amax = SIMD8<Float>()
                for i in stride(from: b, to: b + block, by: 8) {
                    amax = ActivationGrid.max8(amax, ActivationGrid.abs8(ActivationGrid.load8(x, i)))
                }
                let m = ActivationGrid.horizontalMax(amax)
                // quantize_row_q8_K: the first value of largest magnitude gives the sign; `code · d` is the
                // value ActivationGrid.round gives.
                var vmax: Float = 0
                for i in b..<(b + block) where abs(x[i]) == m {
                    vmax = x[i]
                    break
                }
                let factor: Float = m == 0 ? 0 : -127 / vmax
                let d: Float = m == 0 ? 0 : 1 / factor
                let f = SIMD8<Float>(repeating: factor)
                for i in stride(from: b, to: b + block, by: 8) {
                    let r = ActivationGrid.roundHalfEven(ActivationGrid.load8(x, i) * f)
                    UnsafeMutableRawPointer(codes + i).storeBytes(of: GGMLOrder.codeBytes(r), as: SIMD8<Int8>.self)
                }
                for g in (b / groupLength)..<((b + block) / groupLength) { scales[g] = d }
                b += block
            }
        }
        for g in 0..<groups {
            var sum: Int32 = 0
            for k in (g * groupLength)..<((g + 1) * groupLength) { sum &+= Int32(codes[k]) }
            sums[g] = sum
        }
    }

    /// ``AVX2Kernels/groupPanel(codes:scales:offsets:groups:groupLength:wide:x:xsum:dx:out:rows:)`` in portable
    /// SIMD: the same integers (exact) and the same float steps, lane for lane.
    static func panelPortable(
        codes: UnsafeRawPointer, scales: UnsafePointer<Float>, offsets: UnsafePointer<Float>?, groups: Int,
        groupLength: Int, x: UnsafePointer<Int8>, xsum: UnsafePointer<Int32>, dx: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, rows: Int
    ) {
        @inline(__always) func exact(_ v: SIMD16<Int32>) -> SIMD16<Float> {
            unsafeBitCast(v &+ 0x4B40_0000, to: SIMD16<Float>.self) - 12_582_912.0
        }
        var acc = SIMD16<Float>()
        var w = codes
        var k = 0
        for g in 0..<groups {
            var sum = SIMD16<Int32>()
            for _ in 0..<(groupLength / 4) {
                let v = w.loadUnaligned(as: SIMD16<Int32>.self)
                sum &+= ((v &<< 24) &>> 24) &* Int32(x[k])
                sum &+= ((v &<< 16) &>> 24) &* Int32(x[k &+ 1])
                sum &+= ((v &<< 8) &>> 24) &* Int32(x[k &+ 2])
                sum &+= (v &>> 24) &* Int32(x[k &+ 3])
                w += 64
                k &+= 4
            }
            let d = SIMD16<Float>(repeating: dx[g])
            let scale = UnsafeRawPointer(scales + g &* 16).loadUnaligned(as: SIMD16<Float>.self)
            acc.addProduct(scale * d, exact(sum))
            if let offsets {
                let offset = UnsafeRawPointer(offsets + g &* 16).loadUnaligned(as: SIMD16<Float>.self)
                acc.addProduct(offset * d, SIMD16(repeating: Float(xsum[g])))
            }
        }
        if rows == 16 {
            UnsafeMutableRawPointer(out).storeBytes(of: acc, as: SIMD16<Float>.self)
        } else {
            for r in 0..<rows { out[r] = acc[r] }
        }
    }

    /// `out[r] = round_grid(x) · row(r)` for one token, panels split among `threads`.
    static func apply(
        _ g: GroupedRows, grid: ActivationGrid, _ x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        threads: Int, route: KernelRoute
    ) {
        let n = g.columns, gpr = g.groupsPerRow, glen = g.groupLength
        withUnsafeTemporaryAllocation(byteCount: activationBytes(columns: n, groups: gpr), alignment: 64) { buffer in
            let a = buffer.baseAddress!
            prepare(x, columns: n, grid: grid, groupLength: glen, into: a)
            let act = UncheckedBox(UnsafeRawPointer(a)), os = SendablePointer(out)
            let integers = route.usesAVX2Integers
            parallelFor(g.panels, threads: threads) { range in
                let x = act.value
                let sums = (x + n).assumingMemoryBound(to: Int32.self)
                let dx = (x + n + gpr * 4).assumingMemoryBound(to: Float.self)
                for p in range {
                    let codes = UnsafeRawPointer(g.codes.pointer + p * n * 16)
                    let scales = UnsafePointer(g.scales.pointer + p * gpr * 16)
                    let offsets = g.offsets.map { UnsafePointer($0.pointer + p * gpr * 16) }
                    let rows = min(16, g.rows - p * 16)
                    if integers {
                        AVX2Kernels.groupPanel(
                            codes: codes, scales: scales, offsets: offsets, groups: gpr, groupLength: glen,
                            wide: g.wideCodes, x: x, xsum: sums, dx: dx, out: os.p + p * 16, rows: rows)
                    } else {
                        panelPortable(
                            codes: codes, scales: scales, offsets: offsets, groups: gpr, groupLength: glen,
                            x: x.assumingMemoryBound(to: Int8.self), xsum: sums, dx: dx, out: os.p + p * 16, rows: rows)
                    }
                }
            }
        }
    }
}
