import ArgumentParser
import Foundation
import Inference

/// `kiln-bench infer MODEL.gguf`: prompt evaluation and generation throughput measured the way
/// `llama-bench -p N -n M` does (pp: N tokens in one batch from an empty cache; tg: M tokens decoded one at a
/// time from an empty cache), optionally with llama-bench run on the same file and threads right after.
struct InferenceBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer", abstract: "Benchmark prompt evaluation and generation (llama-bench pp/tg).")

    @Argument(help: "GGUF file.") var model: String
    @Option var promptTokens: Int = 512
    @Option var generateTokens: Int = 128
    @Option var threads: Int = 2
    @Option var repetitions: Int = 3
    @Option(help: "llama-bench binary to run on the same file and threads afterwards.") var llamaBench: String?

    func run() throws {
        let m = try TransformerModel(url: URL(fileURLWithPath: model), threads: threads)
        let vocab = Int32(m.configuration.vocabularySize)
        // Pseudo-random tokens, as llama-bench uses random ids.
        var state: UInt64 = 42
        func token() -> Int32 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int32(truncatingIfNeeded: state >> 33) % vocab
        }
        let prompt = (0..<promptTokens).map { _ in token() }
        let session = InferenceSession(model: m, contextLength: max(promptTokens, generateTokens), threads: threads)
        func seconds(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        // Warm-up, as llama-bench does.
        session.reset()
        _ = try session.evaluate(Array(prompt.prefix(16)))
        var pp: [Double] = [], tg: [Double] = []
        for _ in 0..<repetitions {
            session.reset()
            pp.append(Double(promptTokens) / (try seconds { _ = try session.evaluate(prompt) }))
            session.reset()
            var next = token()
            tg.append(
                Double(generateTokens)
                    / (try seconds {
                        for _ in 0..<generateTokens {
                            let logits = try session.evaluate([next])
                            next = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
                        }
                    }))
        }
        func report(_ name: String, _ v: [Double]) {
            let mean = v.reduce(0, +) / Double(v.count)
            let sd = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(1, v.count - 1))).squareRoot()
            print(
                String(
                    format: "kiln  %@  %@: %.2f ± %.2f tokens/s (%d threads, %d runs)",
                    URL(fileURLWithPath: model).lastPathComponent, name, mean, sd, threads, v.count))
        }
        report("pp\(promptTokens)", pp)
        report("tg\(generateTokens)", tg)
        if let llamaBench {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: llamaBench)
            p.arguments = [
                "-m", model, "-t", String(threads), "-p", String(promptTokens), "-n", String(generateTokens), "-r",
                String(repetitions)
            ]
            try p.run()
            p.waitUntilExit()
        }
    }
}
