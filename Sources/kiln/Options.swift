import ArgumentParser
import Foundation

/// Kiln's exit statuses, the same for every command.
enum KilnExit {
    static let ok: Int32 = 0
    /// Bad input, a failed check of a file, any error the command reports on one line.
    static let error: Int32 = 1
    /// The command line itself is wrong (unknown option, bad value).
    static let usage: Int32 = 2
    /// The command ran, and a quality gate (`--max-kld`, `--min-same-top-p`, a template check) failed.
    static let gateFailed: Int32 = 3
}

/// `--threads`, shared by every command that computes.
struct ThreadsOption: ParsableArguments {
    @Option(name: .customLong("threads"), help: "Worker threads (default: every core). Outputs do not depend on it.")
    var count: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--threads must be at least 1") }
    }
}

/// `--json` and `--quiet`, shared by the commands that report progress.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON object per line (tensor events, then a summary) instead of text.") var json = false
    @Flag(name: .shortAndLong, help: "Print only the summary.") var quiet = false
}

/// Prints a library error as one line on standard error and exits with status 1, instead of
/// ArgumentParser's generic "Error:" dump. Every command's work runs inside this: it is the one place that
/// turns errors into Kiln's one-line message.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("kiln: error: \(error)\n".utf8))
        throw ExitCode(KilnExit.error)
    }
}

/// A usage problem found after parsing, reported as one line like every other error.
struct ValidationErrorLine: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
