import ArgumentParser
import Conversion
import Foundation
import GGUF
import Inference
import JSON
import Tokenization
import Verification

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure quantized files against a reference, as llama-perplexity --kl-divergence does.",
        discussion: "Exit status: 0 every model passed its gates, 3 a gate failed, 1 an error.")

    @Argument(help: "GGUF files to verify.") var models: [String]
    @Option(help: "Reference: a Hugging Face checkpoint folder, or a GGUF (for example the F32 conversion).")
    var reference: String
    @Option(help: "Evaluation text (UTF-8).") var text: String
    @Option(help: "Context length of each chunk.") var ctx: Int = 512
    @Option(help: "Evaluate at most this many chunks (llama-perplexity's --chunks).") var chunks: Int?
    @Option(help: "Reference logits cache file (reused while the reference file and tokens are unchanged).") var cache:
        String?
    @Option(help: "Gate: exit 3 when a model's mean KLD exceeds this.") var maxKld: Double?
    @Option(help: "Gate: exit 3 when a model's same-top-p (percent) is below this.") var minSameTopP: Double?
    @OptionGroup var threads: ThreadsOption
    @Flag(help: "Print one JSON object per model.") var json = false

    func validate() throws {
        guard ctx >= 2 else { throw ValidationError("--ctx must be at least 2") }
    }

    func run() throws {
        var failed = false
        try reportingErrors {
            let tokenizer = try Tokenizer(model: URL(fileURLWithPath: reference))
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: text)) else {
                throw ValidationErrorLine("\(text): cannot read")
            }
            let ids = tokenizer.encode(String(decoding: data, as: UTF8.self), addSpecialTokens: true).map(Int32.init)
            var verifier = Verifier(
                reference: .at(reference), contextLength: ctx, threads: threads.count,
                cacheURL: cache.map { URL(fileURLWithPath: $0) })
            verifier.maxChunks = chunks
            let gates = QualityGates(maxMeanKLD: maxKld, minSameTopPercent: minSameTopP)
            let results = try verifier.run(models: models.map { URL(fileURLWithPath: $0) }, tokens: { ids })
            if !json {
                print(
                    "model                                    PPL        ln(PPL/ref)  mean KLD   median KLD  99% KLD    max KLD    RMS Δp %  same top %"
                )
            }
            for (model, s) in zip(models, results) {
                let report = VerificationReport(
                    model: model, reference: reference, text: text, ctx: ctx,
                    chunks: min(ids.count / ctx, chunks ?? .max),
                    tokens: ids.count, statistics: s, gates: gates)
                failed = failed || !report.passed
                if json {
                    try JSONOutput.print(report)
                } else {
                    let name = URL(fileURLWithPath: model).lastPathComponent.padding(
                        toLength: 38, withPad: " ", startingAt: 0)
                    print(
                        String(
                            format: "%@ %9.4f  %10.6f  %9.6f  %9.6f  %9.6f  %9.6f  %7.3f  %8.3f%@", name, s.perplexity,
                            s.logPerplexityRatio, s.meanKLD, s.medianKLD, s.kld99, s.maximumKLD, s.rmsPDiff * 100,
                            s.sameTop * 100,
                            report.passed ? "" : "  FAILED"))
                }
            }
        }
        if failed { throw ExitCode(KilnExit.gateFailed) }
    }
}
