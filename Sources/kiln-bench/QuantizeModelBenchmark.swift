import Architectures
import ArgumentParser
import Conversion
import Foundation

/// `kiln-bench quantize-model INPUT TYPE`: Kiln's one-step (checkpoint) or GGUF quantization, measured as
/// a child process (wall time and its own peak RSS), optionally beside llama.cpp's two steps.
struct QuantizeModelBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize-model",
        abstract: "Benchmark kiln quantize on a model, optionally against convert_hf_to_gguf.py + llama-quantize.")

    @Argument(help: "Checkpoint folder or GGUF file.") var input: String
    @Argument(help: "File type, e.g. Q4_K_M.") var type: String
    @Option var runs: Int = 3
    @Option var threads: Int = 1
    @Option(help: "Python that can run convert_hf_to_gguf.py.") var peerPython: String?
    @Option(help: "convert_hf_to_gguf.py path.") var peerConvert: String?
    @Option(help: "llama-quantize binary.") var peerQuantize: String?
    @Option var scratch: String = NSTemporaryDirectory()

    func run() throws {
        let out = URL(fileURLWithPath: scratch).appendingPathComponent("kiln-bench-q-\(getpid())")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        var kiln: [ChildMeasurement] = [], convert: [ChildMeasurement] = [], quantize: [ChildMeasurement] = []
        for _ in 0..<runs {
            let k = try measure([
                selfExecutable, "once", "quantize", input, out.appendingPathComponent("kiln.gguf").path, type,
                String(threads)
            ])
            guard k.status == 0 else { throw ValidationErrorText("kiln quantize failed (\(k.status))") }
            kiln.append(k)
            if let py = peerPython, let conv = peerConvert, let q = peerQuantize {
                let f32 = out.appendingPathComponent("peer-f32.gguf").path
                let c = try measure(
                    [py, conv, input, "--outfile", f32, "--outtype", "f32"],
                    environment: ["HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"])
                let p = try measure([q, f32, out.appendingPathComponent("peer.gguf").path, type, String(threads)])
                guard c.status == 0, p.status == 0 else {
                    throw ValidationErrorText("peer failed (\(c.status), \(p.status))")
                }
                convert.append(c)
                quantize.append(p)
            }
        }
        print("\(input) → \(type), \(threads) thread(s), best of \(runs)")
        print("step                              wall s    peak RSS MB")
        func row(_ name: String, _ ms: [ChildMeasurement]) {
            guard let best = ms.map(\.seconds).min() else { return }
            print(
                "\(name.padding(toLength: 32, withPad: " ", startingAt: 0)) \(String(format: "%7.2f", best))   \(String(format: "%8.1f", Double(ms.map(\.peakRSSBytes).max()!) / 1e6))"
            )
        }
        row("kiln quantize (one step)", kiln)
        row("convert_hf_to_gguf.py --outtype f32", convert)
        row("llama-quantize", quantize)
        if let k = kiln.map(\.seconds).min(), let c = convert.map(\.seconds).min(),
            let q = quantize.map(\.seconds).min()
        {
            print(String(format: "kiln takes %.3f of the peer's total time (%.1f× faster)", k / (c + q), (c + q) / k))
        }
    }
}
