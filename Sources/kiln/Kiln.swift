import ArgumentParser
import Foundation

@main
struct Kiln: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Convert, quantize and verify language models for llama.cpp runtimes.",
        version: "0.1.0",
        subcommands: [Convert.self, QuantizeCommand.self, Tokenize.self, Verify.self, Generate.self, Chat.self, TemplateCommand.self, Inspect.self]
    )
}

/// Prints a library error as one line on standard error and exits non-zero, instead of ArgumentParser's
/// generic "Error:" dump.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("kiln: error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}
