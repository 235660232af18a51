import ArgumentParser
import Conversion
import Foundation
import GGUF
import Inference
import Tokenization

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Greedy generation from a GGUF file, with tokens per second.")

    @Argument(help: "GGUF file.") var model: String
    @Option(help: "Prompt text; special tokens such as <|im_start|> are recognized.") var prompt: String
    @Option var maxTokens: Int = 64
    @OptionGroup var threads: ThreadsOption

    func run() throws {
        try reportingErrors {
            let url = URL(fileURLWithPath: model)
            let file = try GGUFFile(url: url)
            let tokenizer = try Tokenizer(gguf: file)
            let ids = tokenizer.encode(prompt, addSpecialTokens: true).map(Int32.init)
            let m = try TransformerModel(file: file, threads: threads.count)
            let session = InferenceSession(model: m, contextLength: ids.count + maxTokens, threads: threads.count)
            var stops = Set<Int32>()
            for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"] {
                if let v = file.metadata[key]?.integerValue { stops.insert(Int32(v)) }
            }
            let result = try Generator.greedy(session: session, prompt: ids, maxTokens: maxTokens, stopTokens: stops)
            print(tokenizer.decode(result.tokens.map(Int.init), skipSpecialTokens: true))
            FileHandle.standardError.write(Data(String(format: "prompt: %d tokens, %.1f t/s; generated %d tokens, %.1f t/s\n",
                result.promptTokens, result.promptTokensPerSecond, result.tokens.count, result.generationTokensPerSecond).utf8))
        }
    }
}
