import ArgumentParser
import Foundation

@main
struct Kiln: ParsableCommand {
    /// Parses and runs the command, mapping ArgumentParser's usage failures to status 2 (``KilnExit``).
    static func main() {
        // Past a file-size limit (`ulimit -f`) a write then fails with EFBIG, reported as "no space" and the
        // temporary file removed, instead of the process being killed with the partial file left behind.
        signal(SIGXFSZ, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(KilnExit.usage)
            }
            exit(withError: error)
        }
    }

    /// Recorded in every build key and manifest.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Convert, quantize and verify language models for llama.cpp runtimes.",
        version: Kiln.version,
        subcommands: [
            Build.self, CatalogCommand.self, Convert.self, QuantizeCommand.self, Tokenize.self, Verify.self,
            Generate.self, Chat.self,
            TemplateCommand.self, Imatrix.self, Inspect.self
        ]
    )
}
