import ArgumentParser
import Foundation
import Inference

/// `kiln-bench trace MODEL.gguf --tokens IDS --against DIR`: evaluates the tokens as one batch and compares
/// every intermediate result with the same tensor dumped from llama.cpp (`DIR/<name>.<OP>.f32`, raw
/// token-major floats, as written by an eval callback), printing how many values differ and by how much.
/// A debugging tool for bit-for-bit agreement with llama.cpp's CPU backend.
struct TraceComparison: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace", abstract: "Compare intermediate results with llama.cpp tensor dumps.")

    @Argument(help: "GGUF file.") var model: String
    @Option(help: "Token ids: raw little-endian int32.") var tokens: String
    @Option(help: "Number of tokens to evaluate.") var count: Int = 512
    @Option(help: "Folder of llama.cpp dumps named <tensor>.<OP>.f32.") var against: String
    @Option var threads: Int = 2

    func run() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: tokens))
        let ids = data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self).prefix(count)) }
        let m = try TransformerModel(url: URL(fileURLWithPath: model), threads: threads)
        let session = InferenceSession(model: m, contextLength: ids.count, threads: threads)
        let folder = URL(fileURLWithPath: against)
        session.trace = { name, values in
            let file = folder.appendingPathComponent(name + ".f32")
            guard let reference = try? Data(contentsOf: file) else { return }
            let theirs = reference.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            guard theirs.count == values.count else {
                print("\(name): \(values.count) values, the dump has \(theirs.count)")
                return
            }
            var differing = 0, first = -1
            var maxAbs: Float = 0
            for i in 0..<values.count where values[i].bitPattern != theirs[i].bitPattern {
                differing += 1
                if first < 0 { first = i }
                maxAbs = max(maxAbs, abs(values[i] - theirs[i]))
            }
            if differing == 0 {
                print("\(name): identical (\(values.count) values)")
            } else {
                print(
                    "\(name): \(differing) of \(values.count) differ, max |Δ| \(maxAbs), first at \(first): \(values[first]) vs \(theirs[first])"
                )
            }
        }
        _ = try session.evaluate(ids, logitsFrom: 0)
    }
}
