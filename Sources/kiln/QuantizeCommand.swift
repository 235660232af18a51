import ArgumentParser
import Architectures
import Conversion
import Foundation
import Quantization

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a GGUF file or a checkpoint folder with llama-quantize's file types and mixtures.",
        discussion: "TYPE is one of \(LlamaFileType.acceptedNames.joined(separator: ", ")) (case-insensitive), or a numeric ftype.")

    @Argument(help: "A GGUF file (F32, F16, BF16) or a Hugging Face checkpoint folder (converted in the same pass).")
    var input: String
    @Argument(help: "Output GGUF file.") var output: String
    @Argument(help: "File type, e.g. Q4_K_M.") var type: String

    @Option(help: "Worker threads (default: all cores). The output does not depend on it.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Importance matrix: llama-imatrix's GGUF or legacy .dat.") var imatrix: String?
    @Option(parsing: .singleValue, help: "Use importance-matrix entries whose name contains this (repeatable).") var includeWeights: [String] = []
    @Option(parsing: .singleValue, help: "Ignore importance-matrix entries whose name contains this (repeatable).") var excludeWeights: [String] = []
    @Option(help: "Type for output.weight.") var outputTensorType: String?
    @Option(help: "Type for token_embd.weight.") var tokenEmbeddingType: String?
    @Option(parsing: .singleValue, help: "REGEX=TYPE: type for tensors whose name matches (repeatable; first match wins).") var tensorType: [String] = []
    @Option(parsing: .singleValue, help: "KEY=TYPE:VALUE metadata override, TYPE int|float|bool|str (repeatable).") var overrideKv: [String] = []
    @Flag(help: "Every quantizable tensor gets the default type (no mixture rules).") var pure = false
    @Flag(help: "Keep output.weight unquantized.") var leaveOutputTensor = false
    @Flag(help: "Allow quantized input tensors to be quantized again.") var allowRequantize = false
    @Flag(help: "Print the per-tensor plan and the output size without writing.") var dryRun = false
    @Flag(help: "Overwrite an existing output file.") var force = false
    @Flag(help: "One JSON object per line: a plan event per tensor and a final summary.") var json = false
    @Flag(name: .shortAndLong, help: "Print only the summary.") var quiet = false
    @OptionGroup var template: TemplateCheckOptions

    func parseType(_ text: String, _ option: String) throws -> GGMLType {
        guard let t = GGMLType(name: text) else {
            throw ValidationError("\(option): unknown tensor type \(text) (for example Q8_0, Q6_K, Q4_K, F16)")
        }
        return t
    }

    func run() throws {
        try reportingErrors {
            guard let fileType = LlamaFileType(parsing: type) else {
                throw ValidationErrorLine("unknown type \(type); valid types: \(LlamaFileType.acceptedNames.joined(separator: ", "))")
            }
            var options = QuantizeOptions(
                input: URL(fileURLWithPath: input), output: URL(fileURLWithPath: output), fileType: fileType, threads: max(1, threads))
            options.importanceMatrix = imatrix.map { URL(fileURLWithPath: $0) }
            options.includeWeights = includeWeights
            options.excludeWeights = excludeWeights
            options.overrides.outputTensorType = try outputTensorType.map { try parseType($0, "--output-tensor-type") }
            options.overrides.tokenEmbeddingType = try tokenEmbeddingType.map { try parseType($0, "--token-embedding-type") }
            options.overrides.tensorTypes = try tensorType.map { spec in
                guard let eq = spec.lastIndex(of: "="), (try? Regex(String(spec[..<eq]))) != nil else {
                    throw ValidationErrorLine("--tensor-type \(spec): expected REGEX=TYPE with a valid regular expression")
                }
                return (String(spec[..<eq]), try parseType(String(spec[spec.index(after: eq)...]), "--tensor-type"))
            }
            options.overrides.pure = pure
            options.overrides.leaveOutputTensor = leaveOutputTensor
            options.overrideKV = try overrideKv.map {
                guard let o = KVOverride(parsing: $0) else {
                    throw ValidationErrorLine("--override-kv \($0): expected KEY=TYPE:VALUE with TYPE int, float, bool or str")
                }
                return o
            }
            options.allowRequantize = allowRequantize
            options.dryRun = dryRun
            options.overwrite = force
            if !dryRun { try template.run(checkpoint: input, json: json) }
            let bar = ProgressBar(enabled: !json && !quiet && isatty(2) != 0)
            let started = Date()
            let result = try Quantize.run(options) { e, i, n in
                if json {
                    printJSON(["event": "tensor", "index": i, "count": n, "name": e.name, "shape": e.dimensions,
                        "from": e.from.description, "to": e.to.description, "bytes_before": e.bytesBefore,
                        "bytes_after": e.bytesAfter, "imatrix": e.usesImportanceMatrix, "fallback": e.fellBack])
                } else if !quiet {
                    bar.clear()
                    let shape = e.dimensions.map(String.init).joined(separator: "×")
                    print("[\(i + 1)/\(n)] \(e.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(shape.padding(toLength: 12, withPad: " ", startingAt: 0)) \(e.from.description.padding(toLength: 5, withPad: " ", startingAt: 0)) → \(e.to.description.padding(toLength: 6, withPad: " ", startingAt: 0)) \(mib(e.bytesBefore)) → \(mib(e.bytesAfter))\(e.fellBack ? " (shape fallback)" : "")")
                    bar.show(i + 1, n)
                }
            }
            bar.clear()
            let before = result.entries.reduce(0) { $0 + $1.bytesBefore }
            let after = result.entries.reduce(0) { $0 + $1.bytesAfter }
            let seconds = Date().timeIntervalSince(started)
            if json {
                printJSON(["event": "done", "output": result.output.path, "type": fileType.description, "wrote": result.wrote,
                    "tensors": result.entries.count, "bytes": result.fileBytes, "tensor_bytes_before": before,
                    "tensor_bytes_after": after, "seconds": seconds])
            } else {
                let verb = result.wrote ? "wrote" : "would write"
                print("\(verb) \(result.output.path): \(fileType), \(result.entries.count) tensors, \(mib(before)) → \(mib(after)) of tensors, \(result.fileBytes) bytes\(result.wrote ? String(format: " in %.2f s", seconds) : "")")
            }
        }
    }
}

func mib(_ bytes: Int) -> String { String(format: "%8.2f MiB", Double(bytes) / 1_048_576) }

/// A one-line bar on standard error, redrawn in place on a terminal.
final class ProgressBar {
    let enabled: Bool
    init(enabled: Bool) { self.enabled = enabled }
    func show(_ done: Int, _ total: Int) {
        guard enabled else { return }
        let width = 40, filled = total > 0 ? width * done / total : width
        FileHandle.standardError.write(Data("\r[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(done)/\(total)".utf8))
    }
    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// A usage problem found after parsing, reported as one line like every other error.
struct ValidationErrorLine: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
