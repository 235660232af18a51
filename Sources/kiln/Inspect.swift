import ArgumentParser
import Foundation
import GGUF
import JSON

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a GGUF file's metadata and tensor table.")

    @Argument(help: "GGUF file.")
    var file: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(help: "Array elements to show before eliding (text output).")
    var arrayPreview: Int = 8

    func run() throws {
        try reportingErrors {
            let gguf = try GGUFFile(url: URL(fileURLWithPath: file))
            if json {
                try JSONOutput.print(GGUFInspection.report(gguf))
            } else {
                print(GGUFInspection.text(gguf, arrayPreview: arrayPreview), terminator: "")
            }
        }
    }
}
