import Architectures
import ArgumentParser
import Conversion
import Foundation

/// `kiln-bench convert CKPT`: Kiln's converter against llama.cpp's `convert_hf_to_gguf.py`, same input,
/// same output type, run alternately; best wall time and peak RSS of each.
struct ConvertBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert", abstract: "Benchmark kiln convert against convert_hf_to_gguf.py.")

    @Argument(help: "Checkpoint folder.") var checkpoint: String
    @Option(help: "Output type for both tools.") var outtype: String = "f16"
    @Option(help: "Runs of each tool; the best is reported.") var runs: Int = 3
    @Option(help: "Python interpreter that can run llama.cpp's converter (torch, transformers, gguf).") var peerPython:
        String?
    @Option(help: "Path to llama.cpp's convert_hf_to_gguf.py.") var peerScript: String?
    @Option(help: "Scratch folder for outputs.") var scratch: String = NSTemporaryDirectory()
    @Option(help: "Threads for Kiln.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        let out = URL(fileURLWithPath: scratch).appendingPathComponent("kiln-bench-\(getpid())")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        var kiln: [ChildMeasurement] = []
        var peer: [ChildMeasurement] = []
        for _ in 0..<runs {
            let k = try measure([
                selfExecutable, "once", "convert", checkpoint, out.appendingPathComponent("kiln.gguf").path, outtype,
                String(threads)
            ])
            guard k.status == 0 else { throw ValidationErrorText("kiln convert failed with status \(k.status)") }
            kiln.append(k)
            if let py = peerPython, let script = peerScript {
                let p = try measure(
                    [
                        py, script, checkpoint, "--outfile", out.appendingPathComponent("peer.gguf").path, "--outtype",
                        outtype
                    ],
                    environment: ["HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"])
                guard p.status == 0 else {
                    throw ValidationErrorText("convert_hf_to_gguf.py failed with status \(p.status)")
                }
                peer.append(p)
            }
        }
        print("convert \(checkpoint) → \(outtype), best of \(runs)")
        print("tool                    wall s    peak RSS MB")
        func row(_ name: String, _ ms: [ChildMeasurement]) {
            guard let best = ms.min(by: { $0.seconds < $1.seconds }) else { return }
            let rss = ms.map(\.peakRSSBytes).max()!
            print(
                "\(name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(String(format: "%7.2f", best.seconds))   \(String(format: "%8.1f", Double(rss) / 1e6))"
            )
        }
        row("kiln convert", kiln)
        row("convert_hf_to_gguf.py", peer)
        if let k = kiln.map(\.seconds).min(), let p = peer.map(\.seconds).min() {
            print(String(format: "kiln takes %.3f of the peer's time (%.1f× faster)", k / p, p / k))
        }
    }
}

/// One in-process job, run as a child by `convert` and `quantize-model` so its time and memory are measured
/// alone: `once convert CHECKPOINT OUT OUTTYPE THREADS` or `once quantize INPUT OUT TYPE THREADS`.
struct Once: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "once", shouldDisplay: false)
    @Argument var job: String
    @Argument var input: String
    @Argument var output: String
    @Argument var type: String
    @Argument var threads: Int = 1

    func run() throws {
        let (inputURL, outputURL) = (URL(fileURLWithPath: input), URL(fileURLWithPath: output))
        if job == "convert", let outtype = OutputType(rawValue: type) {
            _ = try Converter.convert(
                ConversionOptions(
                    checkpoint: inputURL, output: outputURL, outputType: outtype, overwrite: true, threads: threads))
        } else if job == "quantize", let fileType = LlamaFileType(parsing: type) {
            var o = QuantizeOptions(input: inputURL, output: outputURL, fileType: fileType, threads: threads)
            o.overwrite = true
            _ = try Quantize.run(o)
        } else {
            throw ValidationErrorText("unknown job or type: \(job) \(type)")
        }
    }
}
