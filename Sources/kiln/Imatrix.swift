import ArgumentParser
import Conversion
import Foundation
import Inference
import JSON
import Tokenization
import Verification

extension ImportanceStatistics.FileFormat: ExpressibleByArgument {}

struct Imatrix: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute an importance matrix with Kiln's forward pass, as llama-imatrix does.",
        discussion: """
            MODEL is a GGUF file (F32, F16, BF16 or quantized) or a checkpoint folder (evaluated as its F32 \
            weights, with no intermediate file). The text is cut into chunks of --ctx tokens; the sums of squared \
            activations of every block weight go to OUT in llama-imatrix's GGUF format (or the legacy .dat). \
            --in-file adds earlier matrices first. With --show-statistics FILE, prints per-tensor statistics and \
            the layer ranking of an existing matrix instead.
            """)

    @Argument(help: "GGUF file or checkpoint folder.") var model: String?
    @Option(help: "Calibration text (UTF-8).") var text: String?
    @Option(name: [.short, .long], help: "Output file.") var output = "imatrix.gguf"
    @Option(help: "Tokens per chunk.") var ctx = 512
    @Option(help: "Use at most this many chunks.") var chunks: Int?
    @Flag(help: "Collect output.weight too (never a tied output).") var processOutput = false
    @Option(help: "gguf (default) or dat (legacy).") var outputFormat: ImportanceStatistics.FileFormat = .gguf
    @Option(help: "An earlier matrix to add first (GGUF or .dat); repeatable.") var inFile: [String] = []
    @Option(help: "Print the statistics of this matrix and exit.") var showStatistics: String?
    @Flag(help: "Replace OUT if it exists.") var force = false
    @OptionGroup var threads: ThreadsOption
    @Flag(help: "Print JSON lines (chunk events and a summary; or the statistics) instead of text.") var json = false

    func validate() throws {
        guard ctx >= 8, ctx % 2 == 0 else { throw ValidationError("--ctx must be even and at least 8") }
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1") }
        if showStatistics == nil {
            guard model != nil || !inFile.isEmpty else {
                throw ValidationError("give a MODEL and --text, or --in-file matrices to combine")
            }
            guard (model == nil) == (text == nil) else {
                throw ValidationError("a MODEL needs --text, and --text a MODEL")
            }
        }
    }

    func run() throws {
        try reportingErrors {
            if let showStatistics {
                try printStatistics(showStatistics)
                return
            }
            let started = Date()
            let out = URL(fileURLWithPath: output)
            if !force, FileManager.default.fileExists(atPath: out.path) {
                throw ValidationErrorLine("\(output) exists (use --force to replace it)")
            }
            let folder = out.deletingLastPathComponent().path
            guard FileManager.default.isWritableFile(atPath: folder) else {
                throw ValidationErrorLine("\(output): cannot write into \(folder)")
            }
            var statistics = ImportanceStatistics(chunkSize: ctx)
            var result: ImportanceCollection.Result?
            if let model, let text {
                let interactive = isatty(2) != 0 && !json
                result = try ImportanceCollection.collect(
                    model: model, text: text, ctx: ctx, chunks: chunks, processOutput: processOutput,
                    threads: threads.count, inFiles: inFile, into: &statistics
                ) { done, total, ppl in
                    if json {
                        try? JSONOutput.print(
                            ImportanceCollection.ChunkEvent(chunk: done, chunks: total, perplexity: ppl))
                    } else if interactive {
                        let width = 30, filled = done * width / total
                        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
                        FileHandle.standardError.write(
                            Data(String(format: "\r%@ chunk %d/%d  PPL %.4f", bar, done, total, ppl).utf8))
                    }
                }
                if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
            } else {
                for file in inFile { try statistics.merge(contentsOf: URL(fileURLWithPath: file)) }
            }
            try statistics.write(to: out, format: outputFormat, overwrite: force)
            let done = ImportanceCollection.Done(
                output: out.path, format: outputFormat.rawValue, statistics: statistics, result: result,
                seconds: Date().timeIntervalSince(started))
            if json {
                try JSONOutput.print(done)
            } else {
                var line = "wrote \(output): \(done.tensors) tensors, \(done.chunks) chunks of \(ctx) tokens"
                if let r = result { line += String(format: ", PPL = %.4f +/- %.5f", r.perplexity, r.perplexityError) }
                print(line + String(format: " (%.1f s)", done.seconds))
            }
        }
    }

    func printStatistics(_ path: String) throws {
        var statistics = ImportanceStatistics(chunkSize: ctx)
        try statistics.merge(contentsOf: URL(fileURLWithPath: path))
        let tensors = statistics.summaries()
        let layers = statistics.layerSummaries(tensors)
        if json {
            struct Report: Encodable {
                var file: String
                var tensors: [ImportanceStatistics.TensorSummary]
                var layers: [ImportanceStatistics.LayerSummary]
            }
            try JSONOutput.print(Report(file: path, tensors: tensors, layers: layers))
            return
        }
        print("\(path): \(tensors.count) tensors")
        print(
            "layer  tensor                Σ(act²)       min         max          μ       σ     % active   N       entropy  E (norm)  ZD       CosSim"
        )
        for t in tensors {
            print(
                String(
                    format:
                        "%5@  %-20@ %10.2f  %10.4f  %11.4f  %8.2f  %6.2f  %7.2f%%  %6d  %8.4f  %6.2f%%  %6.2f%%  %7.4f",
                    t.layer.map(String.init) ?? "-", t.kind, t.sumOfMeans, t.minimum, t.maximum, t.mean,
                    t.standardDeviation, t.activeFraction * 100, t.elements, t.entropy, t.normalizedEntropy * 100,
                    t.zScoreFraction * 100, t.cosineToPreviousLayer))
        }
        print("\nlayers (weighted by elements; rank 1 = largest mean Σ(act²), the most important)")
        print("layer  rank   μ Σ(act²)        ZD     CosSim")
        for l in layers {
            print(
                String(
                    format: "%5d  %4d  %12.2f  %8.4f%%  %7.4f", l.layer, l.rank, l.weightedSumOfMeans,
                    l.weightedZScoreFraction * 100, l.weightedCosine))
        }
    }
}
