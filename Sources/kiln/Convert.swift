import ArgumentParser
import Conversion
import Foundation

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a Hugging Face checkpoint folder to GGUF, byte-identical to llama.cpp's converter.")

    @Argument(help: "Checkpoint folder (config.json, *.safetensors, tokenizer files).")
    var checkpoint: String

    @Option(name: [.short, .customLong("output")], help: "Output file (default: the converter's name, in the checkpoint folder).")
    var output: String?

    @Option(help: "f32, f16, bf16, q8_0 or auto (BF16/F16 from the checkpoint's weights).")
    var outtype: OutputType = .auto

    @Option(help: "Model name to store as general.name.")
    var modelName: String?

    @Option(help: "Worker threads (default: all cores). The output does not depend on it.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Overwrite an existing output file.")
    var force = false

    @Flag(help: "Print one JSON object per tensor and a final summary, instead of text.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print only the summary.")
    var quiet = false

    @OptionGroup var template: TemplateCheckOptions

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            try template.run(checkpoint: checkpoint, json: json)
            let options = ConversionOptions(
                checkpoint: URL(fileURLWithPath: checkpoint),
                output: output.map { URL(fileURLWithPath: $0) },
                outputType: outtype, overwrite: force, threads: threads, modelName: modelName)
            let started = Date()
            let result = try Converter.convert(options) { p in
                if json {
                    printJSON(["event": "tensor", "index": p.index, "count": p.count, "name": p.tensor,
                        "shape": p.shape, "from": p.sourceType, "to": p.outputType.description, "bytes": p.bytes])
                } else if !quiet {
                    let shape = p.shape.map(String.init).joined(separator: "×")
                    print("[\(p.index + 1)/\(p.count)] \(p.tensor.padding(toLength: 32, withPad: " ", startingAt: 0)) \(shape.padding(toLength: 14, withPad: " ", startingAt: 0)) \(p.sourceType) → \(p.outputType)")
                }
            }
            let seconds = Date().timeIntervalSince(started)
            if json {
                printJSON(["event": "done", "output": result.output.path, "architecture": result.architecture,
                    "outtype": result.outputType.rawValue, "tensors": result.tensorCount, "bytes": result.fileBytes,
                    "seconds": seconds])
            } else {
                print("wrote \(result.output.path): \(result.architecture), \(result.outputType.label), \(result.tensorCount) tensors, \(result.fileBytes) bytes in \(String(format: "%.2f", seconds)) s")
            }
        }
    }
}

extension OutputType: ExpressibleByArgument {}

func printJSON(_ object: [String: Any]) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
        let line = String(data: data, encoding: .utf8)
    {
        print(line)
    }
}
