import ArgumentParser
import Foundation

/// `kiln-bench imatrix MODEL TEXT`: `kiln imatrix` against `llama-imatrix`, same model, text and context,
/// run alternately as child processes; best wall time and peak RSS of each, and whether the files agree.
struct ImatrixBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imatrix", abstract: "Benchmark kiln imatrix against llama-imatrix.")

    @Argument(help: "GGUF model (or checkpoint folder, for Kiln only).") var model: String
    @Argument(help: "Calibration text.") var text: String
    @Option(help: "Tokens per chunk.") var ctx = 512
    @Option(help: "Runs of each tool; the best is reported.") var runs = 3
    @Option(help: "Threads for both tools.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Path to llama-imatrix, to measure it alongside.") var llamaImatrix: String?

    func run() throws {
        let out = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("kiln-bench-\(getpid())")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        let kilnPath = URL(fileURLWithPath: selfExecutable).deletingLastPathComponent().appendingPathComponent("kiln")
        var kiln: [ChildMeasurement] = [], peer: [ChildMeasurement] = []
        for _ in 0..<runs {
            let k = try measure([
                kilnPath.path, "imatrix", model, "--text", text, "--ctx", String(ctx), "--threads", String(threads),
                "-o", out.appendingPathComponent("kiln.gguf").path, "--force"
            ])
            guard k.status == 0 else { throw ValidationErrorText("kiln imatrix failed with status \(k.status)") }
            kiln.append(k)
            if let llamaImatrix {
                let p = try measure([
                    llamaImatrix, "-m", model, "-f", text, "-c", String(ctx), "-t", String(threads), "-o",
                    out.appendingPathComponent("llama.gguf").path
                ])
                guard p.status == 0 else { throw ValidationErrorText("llama-imatrix failed with status \(p.status)") }
                peer.append(p)
            }
        }
        print("imatrix \(model) over \(text), ctx \(ctx), \(threads) threads, best of \(runs)")
        print("tool              wall s    peak RSS MB")
        for (name, ms) in [("kiln imatrix", kiln), ("llama-imatrix", peer)] {
            guard let best = ms.map(\.seconds).min(), let rss = ms.map(\.peakRSSBytes).max() else { continue }
            print(
                name.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + String(format: " %7.2f   %8.1f", best, Double(rss) / 1e6))
        }
        if let k = kiln.map(\.seconds).min(), let p = peer.map(\.seconds).min() {
            let same =
                FileManager.default.contentsEqual(
                    atPath: out.appendingPathComponent("kiln.gguf").path,
                    andPath: out.appendingPathComponent("llama.gguf").path)
            print(String(format: "kiln takes %.3f of llama-imatrix's time; same file: %@", k / p, same ? "yes" : "no"))
        }
    }
}
