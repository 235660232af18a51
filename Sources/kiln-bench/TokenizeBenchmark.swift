import ArgumentParser
import Foundation
import Tokenization

/// `kiln-bench tokenize CKPT TEXT`: encode throughput of Kiln's tokenizer engine, the text repeated and
/// encoded as one string and line by line, optionally beside the `tokenizers` package
/// (`scripts/bench/bench_tokenizers.py`) run in the same session.
struct TokenizeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Benchmark tokenizer encode throughput against the tokenizers package.")

    @Argument(help: "Checkpoint folder with tokenizer.json or tokenizer.model.") var checkpoint: String
    @Argument(help: "Text file (UTF-8).") var text: String
    @Option var repeatCount: Int = 20
    @Option var runs: Int = 5
    @Option(help: "Python with the tokenizers package, to measure it alongside.") var peerPython: String?

    func run() throws {
        let tokenizer = try Tokenizer(directory: URL(fileURLWithPath: checkpoint))
        let base = try String(contentsOfFile: text, encoding: .utf8)
        print("ids: \(tokenizer.encode(base, addSpecialTokens: false).count)")
        let repeated = String(repeating: base, count: repeatCount)
        let megabytes = Double(repeated.utf8.count) / 1_000_000
        func best(_ body: () -> Int) -> Double {
            var b = Double.infinity
            for _ in 0..<runs {
                let start = DispatchTime.now().uptimeNanoseconds
                precondition(body() > 0)
                b = min(b, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return b
        }
        let whole = best { tokenizer.encode(repeated, addSpecialTokens: false).count }
        print(
            String(
                format: "kiln, one string: %.3f MB in %.4f s = %.2f MB/s (best of runs)", megabytes, whole,
                megabytes / whole))
        let lines = repeated.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let perLine = best { lines.reduce(0) { $0 + tokenizer.encode($1, addSpecialTokens: false).count } }
        print(
            String(
                format: "kiln, per line: %.3f MB in %.4f s = %.2f MB/s (best of runs)", megabytes, perLine,
                megabytes / perLine))
        if let py = peerPython {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
                "../../scripts/bench/bench_tokenizers.py"
            ).standardized.path
            let p = Process()
            p.executableURL = URL(fileURLWithPath: py)
            p.arguments = [script, checkpoint, text, String(repeatCount), String(runs)]
            try p.run()
            p.waitUntilExit()
        }
    }
}
