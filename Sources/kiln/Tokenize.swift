import ArgumentParser
import Conversion
import FileAccess
import Foundation
import JSON
import Tokenization

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize text with a checkpoint's tokenizer or a GGUF file's, as Hugging Face and llama.cpp do.")

    @Argument(help: "A checkpoint folder (tokenizer.json or tokenizer.model) or a GGUF file.") var model: String
    @Option(help: "Text to tokenize.") var text: String?
    @Option(help: "File whose contents to tokenize.") var file: String?
    @Flag(help: "Print the ids as a JSON array, as `llama-tokenize --ids` prints them.") var json = false
    @Flag(help: "Do not add BOS/EOS even where the tokenizer would.") var noSpecial = false

    func validate() throws {
        guard (text == nil) != (file == nil) else { throw ValidationError("give exactly one of --text and --file") }
    }

    func run() throws {
        try reportingErrors {
            let tokenizer = try NamedFileError.naming(model) { try Tokenizer(model: URL(fileURLWithPath: model)) }
            let input: String
            if let text {
                input = text
            } else {
                let url = URL(fileURLWithPath: file!)
                guard let data = try? Data(contentsOf: url) else {
                    throw ValidationErrorLine("\(url.path): cannot read")
                }
                input = String(decoding: data, as: UTF8.self)
            }
            let ids = tokenizer.encode(input, addSpecialTokens: !noSpecial)
            if json {
                // Python's `json.dumps` form, the bytes `llama-tokenize --ids` prints.
                print(JSONValue.array(ids.map { .int($0) }).dumps())
            } else {
                for id in ids {
                    print(
                        "\(String(id).padding(toLength: 7, withPad: " ", startingAt: 0)) \(tokenizer.piece(id).debugDescription)"
                    )
                }
                FileHandle.standardError.write(Data("\(ids.count) tokens\n".utf8))
            }
        }
    }
}
