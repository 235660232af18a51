import Quantization
import Testing

@Suite("Group codes")
struct GroupCodeTests {
    static let types: [GGMLType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .iq4_nl, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    @Test("scale · code + offset equals dequantize, bit for bit", arguments: types)
    func groupsEqualDequantize(type: GGMLType) throws {
        let columns = 512, rows = 3
        let x = RandomRows.make(rows: rows, columns: columns, seed: UInt64(type.rawValue) * 7919)
        let rowBytes = type.byteCount(elements: columns)
        var q = [UInt8](repeating: 0, count: rows * rowBytes)
        try q.withUnsafeMutableBytes { d in
            try Quantizer.quantize(
                type, rows: rows, columns: columns, source: x, destination: d.baseAddress!, destinationCount: d.count)
        }
        let layout = try #require(GroupCodeLayout(type))
        let groups = columns / layout.groupLength
        for r in 0..<rows {
            var expected = [Float](repeating: 0, count: columns)
            var codes = [Int8](repeating: 0, count: columns)
            var scales = [Float](repeating: 0, count: groups)
            var offsets = [Float](repeating: 0, count: groups)
            try q.withUnsafeBytes { b in
                let row = b.baseAddress! + r * rowBytes
                try Quantizer.dequantize(type, source: row, count: columns, destination: &expected)
                try offsets.withUnsafeMutableBufferPointer { o in
                    try Quantizer.decodeGroups(
                        type, source: row, count: columns, codes: &codes, scales: &scales,
                        offsets: layout.hasOffset ? o.baseAddress! : nil)
                }
            }
            for i in 0..<columns {
                let g = i / layout.groupLength
                let v = layout.hasOffset ? scales[g] * Float(codes[i]) + offsets[g] : scales[g] * Float(codes[i])
                #expect(v.bitPattern == expected[i].bitPattern, "\(type) row \(r) element \(i): \(v) vs \(expected[i])")
                if v.bitPattern != expected[i].bitPattern { return }
            }
        }
    }

    @Test("Types without a group form are refused")
    func refused() {
        #expect(GroupCodeLayout(.f16) == nil)
        #expect(GroupCodeLayout(.tq2_0) == nil)
        var c = [Int8](repeating: 0, count: 256), s = [Float](repeating: 0, count: 8)
        let block = [UInt8](repeating: 0, count: 66)
        #expect(throws: QuantizationError.unsupportedType(.tq2_0)) {
            try block.withUnsafeBytes { b in
                try Quantizer.decodeGroups(
                    .tq2_0, source: b.baseAddress!, count: 256, codes: &c, scales: &s, offsets: nil)
            }
        }
    }
}
