import ArgumentParser
import Quantization
struct QuantizeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quantize")
    func run() throws { print(Quantizer.encodableTypes) }
}
