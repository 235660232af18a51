import ArgumentParser
import Conversion
import Foundation
import JSON

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a Hugging Face checkpoint folder to GGUF, byte-identical to llama.cpp's converter.")

    @Argument(help: "Checkpoint folder (config.json, *.safetensors, tokenizer files).")
    var checkpoint: String

    @Option(
        name: [.short, .customLong("output")],
        help: "Output file (default: the converter's name, in the checkpoint folder).")
    var outputFile: String?

    @Option(help: "f32, f16, bf16, q8_0 or auto (BF16/F16 from the checkpoint's weights).")
    var outtype: OutputType = .auto

    @Option(help: "Model name to store as general.name.")
    var modelName: String?

    @OptionGroup var threads: ThreadsOption

    @Flag(help: "Overwrite an existing output file.")
    var force = false

    @OptionGroup var reporting: OutputOptions

    @OptionGroup var template: TemplateCheckOptions

    func run() throws {
        try reportingErrors {
            let checked = try template.check(checkpoint: checkpoint)
            let options = ConversionOptions(
                checkpoint: URL(fileURLWithPath: checkpoint),
                output: outputFile.map { URL(fileURLWithPath: $0) },
                outputType: outtype, overwrite: force, threads: threads.count, modelName: modelName)
            let json = reporting.json, quiet = reporting.quiet
            let started = Date()
            let result = try Converter.convert(options) { p in
                if json {
                    try? JSONOutput.print(CommandEvents.ConvertedTensor(p))
                } else if !quiet {
                    let shape = p.shape.map(String.init).joined(separator: "×")
                    print(
                        "[\(p.index + 1)/\(p.count)] \(p.tensor.padding(toLength: 32, withPad: " ", startingAt: 0)) \(shape.padding(toLength: 14, withPad: " ", startingAt: 0)) \(p.sourceType) → \(p.outputType)"
                    )
                }
            }
            // After the output is written, before the summary (the last line stays the `done` event).
            try template.report(checked, json: json)
            let seconds = Date().timeIntervalSince(started)
            if json {
                try JSONOutput.print(CommandEvents.ConversionDone(result, seconds: seconds))
            } else {
                print(
                    "wrote \(result.output.path): \(result.architecture), \(result.outputType.label), \(result.tensorCount) tensors, \(result.fileBytes) bytes in \(String(format: "%.2f", seconds)) s"
                )
            }
        }
    }
}

extension OutputType: ExpressibleByArgument {}
