import ArgumentParser

/// Benchmarks are not tests: they measure speed and memory on this machine and print a table.
@main
struct KilnBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln-bench",
        abstract: "Measure Kiln's speed and memory, side by side with llama.cpp where it is available.",
        subcommands: [
            ConvertBenchmark.self, QuantizeBenchmark.self, QuantizeModelBenchmark.self,
            Once.self, MakeCheckpoint.self, TokenizeBenchmark.self, InferenceBenchmark.self,
            TraceComparison.self, TemplateBenchmark.self, ImatrixBenchmark.self, BuildBenchmark.self
        ])
}
