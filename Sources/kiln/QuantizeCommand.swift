import Architectures
import ArgumentParser
import Conversion
import Foundation
import Inference
import JSON
import Quantization
import Verification

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a GGUF file or a checkpoint folder with llama-quantize's file types and mixtures.",
        discussion:
            "TYPE is one of \(LlamaFileType.acceptedNames.joined(separator: ", ")) (case-insensitive), or a numeric ftype."
    )

    @Argument(help: "A GGUF file (F32, F16, BF16) or a Hugging Face checkpoint folder (converted in the same pass).")
    var input: String
    @Argument(help: "Output GGUF file.") var output: String
    @Argument(help: "File type, e.g. Q4_K_M.") var type: LlamaFileType

    @OptionGroup var threads: ThreadsOption
    @Option(help: "Importance matrix: llama-imatrix's GGUF or legacy .dat.") var imatrix: String?
    @Option(
        help: """
            Compute the importance matrix first from this calibration text with the input model (as kiln imatrix             does; kept beside the output as OUT.imatrix.gguf), then quantize with it.
            """)
    var imatrixText: String?
    @Option(help: "Tokens per chunk for --imatrix-text.") var imatrixCtx = 512
    @Option(help: "Use at most this many chunks for --imatrix-text.") var imatrixChunks: Int?
    @Option(parsing: .singleValue, help: "Use importance-matrix entries whose name contains this (repeatable).")
    var includeWeights: [String] = []
    @Option(parsing: .singleValue, help: "Ignore importance-matrix entries whose name contains this (repeatable).")
    var excludeWeights: [String] = []
    @Option(help: "Type for output.weight.") var outputTensorType: GGMLType?
    @Option(help: "Type for token_embd.weight.") var tokenEmbeddingType: GGMLType?
    @Option(
        parsing: .singleValue, help: "REGEX=TYPE: type for tensors whose name matches (repeatable; first match wins).")
    var tensorType: [TensorTypeRule] = []
    @Option(parsing: .singleValue, help: "KEY=TYPE:VALUE metadata override, TYPE int|float|bool|str (repeatable).")
    var overrideKv: [KVOverride] = []
    @Flag(help: "Every quantizable tensor gets the default type (no mixture rules).") var pure = false
    @Flag(help: "Keep output.weight unquantized.") var leaveOutputTensor = false
    @Flag(help: "Allow quantized input tensors to be quantized again.") var allowRequantize = false
    @Flag(help: "Print the per-tensor plan and the output size without writing.") var dryRun = false
    @Flag(help: "Overwrite an existing output file.") var force = false
    @OptionGroup var reporting: OutputOptions
    @OptionGroup var template: TemplateCheckOptions

    func run() throws {
        try reportingErrors {
            var options = QuantizeOptions(
                input: URL(fileURLWithPath: input), output: URL(fileURLWithPath: output), fileType: type,
                threads: threads.count)
            options.importanceMatrix = imatrix.map { URL(fileURLWithPath: $0) }
            if let imatrixText {
                guard imatrix == nil else { throw ValidationErrorLine("give --imatrix or --imatrix-text, not both") }
                options.importanceMatrix = try computeImportanceMatrix(text: imatrixText)
            }
            options.includeWeights = includeWeights
            options.excludeWeights = excludeWeights
            options.overrides.outputTensorType = outputTensorType
            options.overrides.tokenEmbeddingType = tokenEmbeddingType
            options.overrides.tensorTypes = tensorType.map { ($0.pattern, $0.type) }
            options.overrides.pure = pure
            options.overrides.leaveOutputTensor = leaveOutputTensor
            options.overrideKV = overrideKv
            options.allowRequantize = allowRequantize
            options.dryRun = dryRun
            options.overwrite = force
            let json = reporting.json, quiet = reporting.quiet
            let checked = dryRun ? nil : try template.check(checkpoint: input)
            let bar = ProgressBar(enabled: !json && !quiet && isatty(2) != 0)
            let started = Date()
            let result = try Quantize.run(options) { e, i, n in
                if json {
                    try? JSONOutput.print(CommandEvents.QuantizedTensor(e, index: i, count: n))
                } else if !quiet {
                    bar.clear()
                    let shape = e.dimensions.map(String.init).joined(separator: "×")
                    print(
                        "[\(i + 1)/\(n)] \(e.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(shape.padding(toLength: 12, withPad: " ", startingAt: 0)) \(e.from.description.padding(toLength: 5, withPad: " ", startingAt: 0)) → \(e.to.description.padding(toLength: 6, withPad: " ", startingAt: 0)) \(mib(e.bytesBefore)) → \(mib(e.bytesAfter))\(e.fellBack ? " (shape fallback)" : "")"
                    )
                    bar.show(i + 1, n)
                }
            }
            // After the output is written, before the summary (the last line stays the `done` event).
            try template.report(checked, json: json)
            bar.clear()
            let done = CommandEvents.QuantizeDone(
                result, type: type.description, seconds: Date().timeIntervalSince(started))
            if json {
                try JSONOutput.print(done)
            } else {
                let verb = result.wrote ? "wrote" : "would write"
                print(
                    "\(verb) \(result.output.path): \(type), \(result.entries.count) tensors, \(mib(done.tensorBytesBefore)) → \(mib(done.tensorBytesAfter)) of tensors, \(result.fileBytes) bytes\(result.wrote ? String(format: " in %.2f s", done.seconds) : "")"
                )
            }
        }
    }
}

extension LlamaFileType: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
    public static var allValueStrings: [String] { acceptedNames }
}

extension GGMLType: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}

extension KVOverride: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
    public static var defaultValueDescription: String { "KEY=TYPE:VALUE" }
}

/// `--tensor-type REGEX=TYPE`: a valid regular expression and a tensor type.
struct TensorTypeRule: ExpressibleByArgument {
    var pattern: String
    var type: GGMLType

    init?(argument: String) {
        guard let eq = argument.lastIndex(of: "="), (try? Regex(String(argument[..<eq]))) != nil,
            let type = GGMLType(name: String(argument[argument.index(after: eq)...]))
        else { return nil }
        pattern = String(argument[..<eq])
        self.type = type
    }

    static var defaultValueDescription: String { "REGEX=TYPE" }
}

func mib(_ bytes: Int) -> String { String(format: "%8.2f MiB", Double(bytes) / 1_048_576) }

/// A one-line bar on standard error, redrawn in place on a terminal.
final class ProgressBar {
    let enabled: Bool
    init(enabled: Bool) { self.enabled = enabled }
    func show(_ done: Int, _ total: Int) {
        guard enabled else { return }
        let width = 40, filled = total > 0 ? width * done / total : width
        FileHandle.standardError.write(
            Data(
                "\r[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(done)/\(total)"
                    .utf8))
    }
    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

extension QuantizeCommand {
    /// `--imatrix-text`: the input model's importance matrix over the text, written beside the output (the
    /// quantized file records its name, as llama-quantize records the matrix it was given).
    func computeImportanceMatrix(text: String) throws -> URL {
        let base = output.hasSuffix(".gguf") ? String(output.dropLast(5)) : output
        let url = URL(fileURLWithPath: base + ".imatrix.gguf")
        if !force, FileManager.default.fileExists(atPath: url.path) {
            throw ValidationErrorLine("\(url.path) exists (use --force to replace it)")
        }
        var statistics = ImportanceStatistics(chunkSize: imatrixCtx)
        let result = try ImportanceCollection.collect(
            model: input, text: text, ctx: imatrixCtx, chunks: imatrixChunks, processOutput: false,
            threads: threads.count, inFiles: [], into: &statistics)
        try statistics.write(to: url, overwrite: force)
        if !reporting.json && !reporting.quiet {
            print(
                String(
                    format: "importance matrix: %@ (%d chunks, PPL %.4f)", url.path, result.chunks, result.perplexity))
        }
        return url
    }
}
