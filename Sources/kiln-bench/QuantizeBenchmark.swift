import ArgumentParser
import Dispatch
import Foundation
import Quantization

/// `kiln-bench quantize`: MB/s of F32 input per type (1 and 2 threads) and dequantize GB/s of F32 output.
struct QuantizeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Measure quantize and dequantize throughput for every encodable GGML type.")

    @Option(help: "Rows of synthetic N(0, 0.02²) data.") var rows = 1024
    @Option(help: "Columns of synthetic data (a multiple of 256).") var columns = 4096
    @Option(help: "Timed runs per measurement; the best is reported.") var runs = 3
    @Option(help: "Comma-separated types (default: every encodable type).") var types: String?
    @Option(help: "Thread counts to measure, comma-separated.") var threads = "1,2"
    @Option(help: "Raw little-endian f32 file to quantize instead of synthetic rows (uses --columns).")
    var raw: String?
    @Option(help: "A safetensors file: quantize its 2-D F32/BF16/F16 tensors whose rows fit the block sizes.")
    var safetensors: String?
    @Option(help: "With --safetensors: at most this many MB of F32 data.") var maxMegabytes = 256
    @Flag(help: "Also time the scalar reference (1 thread).") var reference = false
    @Flag(help: "Quantize with a synthetic importance matrix (llama-quantize --imatrix paths).") var imatrix = false
    @Flag(help: "Skip dequantize timings.") var noDequantize = false

    func validate() throws {
        guard columns > 0, columns % 256 == 0 else { throw ValidationError("--columns must be a multiple of 256") }
        guard rows > 0, runs > 0 else { throw ValidationError("--rows and --runs must be positive") }
    }

    func run() throws {
        let selected: [GGMLType] =
            try types.map { list in
                try list.split(separator: ",").map { name in
                    guard let t = GGMLType(name: String(name)), Quantizer.canEncode(t) else {
                        throw ValidationError("unknown or unencodable type \(name)")
                    }
                    return t
                }
            } ?? Quantizer.encodableTypes.filter { $0 != .f32 }
        let threadCounts = threads.split(separator: ",").compactMap { Int($0) }

        let matrices = try loadInput()
        let totalValues = matrices.reduce(0) { $0 + $1.values.count }
        // One positive weight per column, as llama-imatrix produces (mean of squared activations).
        let maxColumns = matrices.map(\.columns).max()!
        let importance: [Float]? =
            imatrix ? (0..<maxColumns).map { 0.5 + Float(($0 &* 2_654_435_761) % 1000) / 500 } : nil
        print(
            "input: \(matrices.count) matri\(matrices.count == 1 ? "x" : "ces"), \(totalValues) values "
                + "(\(String(format: "%.1f", Double(totalValues * 4) / 1e6)) MB f32); best of \(runs)")
        var header = "type    " + threadCounts.map { pad("q \($0)t MB/s", 14) }.joined()
        if reference { header += pad("ref 1t MB/s", 14) }
        if !noDequantize { header += pad("deq GB/s", 14) }
        print(header)

        for type in selected {
            let usable = matrices.filter { $0.columns % type.blockSize == 0 }
            guard !usable.isEmpty else { print("\(type): no tensor has a compatible row length"); continue }
            let values = usable.reduce(0) { $0 + $1.values.count }
            // Reused output buffers (allocated and touched once, outside the timed region).
            let outputs = usable.map { m -> UnsafeMutableRawBufferPointer in
                let b = UnsafeMutableRawBufferPointer.allocate(
                    byteCount: type.byteCount(elements: m.values.count), alignment: 64)
                b.initializeMemory(as: UInt8.self, repeating: 0)
                return b
            }
            defer { outputs.forEach { $0.deallocate() } }
            var line = type.description.padding(toLength: 8, withPad: " ", startingAt: 0)
            for t in threadCounts {
                let seconds = try best {
                    for (m, out) in zip(usable, outputs) {
                        try quantize(type, m, out, threads: t, reference: false, importance: importance)
                    }
                }
                line += String(format: "%14.0f", Double(values * 4) / seconds / 1e6)
            }
            if reference {
                let seconds = try best {
                    for (m, out) in zip(usable, outputs) {
                        try quantize(type, m, out, threads: 1, reference: true, importance: importance)
                    }
                }
                line += String(format: "%14.0f", Double(values * 4) / seconds / 1e6)
            }
            if !noDequantize {
                var decoded = [Float](repeating: 0, count: usable.map(\.values.count).max()!)
                let seconds = try best {
                    for (m, out) in zip(usable, outputs) {
                        try decoded.withUnsafeMutableBufferPointer {
                            try Quantizer.dequantize(
                                type, source: UnsafeRawPointer(out.baseAddress!),
                                count: m.values.count, destination: $0.baseAddress!)
                        }
                    }
                }
                line += String(format: "%14.2f", Double(values * 4) / seconds / 1e9)
            }
            print(line)
        }
    }

    private func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }

    /// Best wall time of `runs` calls.
    private func best(_ body: () throws -> Void) throws -> Double {
        var best = Double.infinity
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }

    private func quantize(
        _ type: GGMLType, _ m: Matrix, _ y: UnsafeMutableRawBufferPointer, threads: Int, reference: Bool,
        importance: [Float]?
    ) throws {
        try m.values.withUnsafeBufferPointer { x in
            let rows = m.values.count / m.columns
            func encode(_ qw: UnsafePointer<Float>?) throws {
                if reference {
                    try Quantizer.quantizeReference(
                        type, rows: rows, columns: m.columns, source: x.baseAddress!,
                        destination: y.baseAddress!, destinationCount: y.count, importance: qw)
                } else {
                    try Quantizer.quantize(
                        type, rows: rows, columns: m.columns, source: x.baseAddress!,
                        destination: y.baseAddress!, destinationCount: y.count, importance: qw,
                        threads: threads)
                }
            }
            if let importance {
                try importance.withUnsafeBufferPointer { try encode($0.baseAddress) }
            } else {
                try encode(nil)
            }
        }
    }

    struct Matrix {
        var columns: Int
        var values: [Float]
    }

    private func loadInput() throws -> [Matrix] {
        if let raw {
            let data = try Data(contentsOf: URL(fileURLWithPath: raw), options: .alwaysMapped)
            let count = data.count / 4 / columns * columns
            guard count > 0 else { throw ValidationError("\(raw) holds fewer than \(columns) floats") }
            let values = data.withUnsafeBytes { p in
                (0..<count).map {
                    Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
                }
            }
            return [Matrix(columns: columns, values: values)]
        }
        if let safetensors {
            return try QuantizeBenchSafetensors.matrices(path: safetensors, maxBytes: maxMegabytes << 20)
        }
        var state: UInt64 = 0x1234_5678
        func unit() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        var values = [Float](repeating: 0, count: rows * columns)
        var i = 0
        while i < values.count {
            let r = (-2 * log(unit())).squareRoot(), a = 2 * Double.pi * unit()
            values[i] = Float(r * cos(a) * 0.02)
            if i + 1 < values.count { values[i + 1] = Float(r * sin(a) * 0.02) }
            i += 2
        }
        return [Matrix(columns: columns, values: values)]
    }
}

/// A minimal safetensors reader for the benchmark: an 8-byte little-endian header length, a JSON header of
/// `{name: {dtype, shape, data_offsets}}`, then the data. Only 2-D F32, BF16 and F16 tensors are read.
enum QuantizeBenchSafetensors {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func matrices(path: String, maxBytes: Int) throws -> [QuantizeBenchmark.Matrix] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        guard data.count >= 8 else { throw Failure(description: "\(path): too short for a safetensors header") }
        let headerLength = data.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        guard headerLength > 0, 8 + headerLength <= data.count else {
            throw Failure(description: "\(path): header length \(headerLength) exceeds the file")
        }
        guard
            let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength)))
                as? [String: Any]
        else { throw Failure(description: "\(path): header is not a JSON object") }
        var result: [QuantizeBenchmark.Matrix] = []
        var total = 0
        for name in header.keys.sorted() where name != "__metadata__" {
            guard let info = header[name] as? [String: Any], let dtype = info["dtype"] as? String,
                let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int],
                shape.count == 2, offsets.count == 2, ["F32", "BF16", "F16"].contains(dtype)
            else { continue }
            let count = shape[0] * shape[1]
            let width = dtype == "F32" ? 4 : 2
            let start = 8 + headerLength + offsets[0]
            guard offsets[1] - offsets[0] == count * width, start + count * width <= data.count else {
                throw Failure(description: "\(path): tensor \(name) has inconsistent offsets")
            }
            if total + count * 4 > maxBytes { continue }  // skip what does not fit the budget
            let values: [Float] = data.withUnsafeBytes { p in
                (0..<count).map { i in
                    switch dtype {
                    case "F32":
                        Float(
                            bitPattern: UInt32(
                                littleEndian: p.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self)))
                    case "BF16":
                        Float(
                            bitPattern: UInt32(
                                UInt16(littleEndian: p.loadUnaligned(fromByteOffset: start + 2 * i, as: UInt16.self)))
                                << 16)
                    default:
                        Float(
                            Float16(
                                bitPattern: UInt16(
                                    littleEndian: p.loadUnaligned(fromByteOffset: start + 2 * i, as: UInt16.self))))
                    }
                }
            }
            result.append(.init(columns: shape[1], values: values))
            total += count * 4
        }
        guard !result.isEmpty else {
            throw Failure(description: "\(path): no 2-D F32/BF16/F16 tensor within the size budget")
        }
        return result
    }
}
