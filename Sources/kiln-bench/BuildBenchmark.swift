import ArgumentParser
import Foundation
import Pipeline

/// `kiln-bench build RECIPE`: `kiln build` of a recipe from scratch against the llama.cpp chain that does the
/// same work — `convert_hf_to_gguf.py --outtype f32`, one `llama-quantize` per variant,
/// `llama-perplexity --kl-divergence-base` on the F32 file and one `llama-perplexity --kl-divergence` per
/// variant, same text, context and chunks — then a second (no-op) build, and the peak memory of a build of
/// the first two variants against all of them.
struct BuildBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build", abstract: "Benchmark kiln build against the llama.cpp command chain.")

    @Argument(help: "Recipe (plain file types as variants, a folder source, a verify section).") var recipe: String
    @Option(help: "llama.cpp's bin folder (llama-quantize, llama-perplexity).") var llamaBin: String?
    @Option(help: "Python with torch, transformers and gguf-py, to run convert_hf_to_gguf.py.") var peerPython: String?
    @Option(help: "llama.cpp's source tree (for convert_hf_to_gguf.py).") var llamaCpp: String?
    @Option(help: "Threads for every tool.") var threads = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        let out = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("kiln-bench-build-\(getpid())")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        let kiln = URL(fileURLWithPath: selfExecutable).deletingLastPathComponent().appendingPathComponent("kiln").path
        // The recipe read as kiln build reads it: plain file types, a folder source, a verify section.
        let loaded = try LoadedRecipe.load(path: recipe)
        guard let verify = loaded.recipe.verify, let eval = loaded.verifyText?.path,
            loaded.recipe.variants.allSatisfy({ $0.name == $0.type.description && $0.tensorTypes.isEmpty })
        else { throw ValidationErrorText("\(recipe): needs plain file types as variants and a verify section") }
        let variants = loaded.recipe.variants.map(\.name)
        let folder = loaded.source.folder.path
        let ctx = "\(verify.ctx)", chunks = verify.chunks.map(String.init) ?? "-1"  // -1: every chunk, as the build

        print("kiln build \(recipe): \(variants.count) variants, ctx \(ctx), \(chunks) chunks, \(threads) threads")
        let first = try measure([
            kiln, "build", recipe, "-o", out.appendingPathComponent("dist").path, "--threads", "\(threads)", "--force"
        ])
        guard first.status == 0 || first.status == 3 else {
            throw ValidationErrorText("kiln build failed with status \(first.status)")
        }
        let again = try measure([kiln, "build", recipe, "-o", out.appendingPathComponent("dist").path])
        print(String(format: "kiln build, from scratch:   %8.2f s   peak RSS %7.1f MB", first.seconds, mb(first)))
        print(String(format: "kiln build, again (no-op):  %8.2f s   peak RSS %7.1f MB", again.seconds, mb(again)))

        // Peak memory against the number of variants: the first two only, in a fresh folder.
        let two = try measure([
            kiln, "build", recipe, "-o", out.appendingPathComponent("two").path, "--threads", "\(threads)", "--only",
            variants[0], "--only", variants[1]
        ])
        print(String(format: "kiln build, 2 variants:     %8.2f s   peak RSS %7.1f MB", two.seconds, mb(two)))

        guard let llamaBin, let peerPython, let llamaCpp else { return }
        var steps: [(String, ChildMeasurement)] = []
        let f32 = out.appendingPathComponent("f32.gguf").path
        steps.append(
            (
                "convert_hf_to_gguf.py --outtype f32",
                try measure([
                    peerPython, "\(llamaCpp)/convert_hf_to_gguf.py", folder, "--outtype", "f32", "--outfile", f32
                ])
            ))
        for v in variants {
            steps.append(
                (
                    "llama-quantize \(v)",
                    try measure([
                        "\(llamaBin)/llama-quantize", f32, out.appendingPathComponent("\(v).gguf").path, v, "\(threads)"
                    ])
                ))
        }
        let kld = out.appendingPathComponent("base.kld").path
        steps.append(
            (
                "llama-perplexity --kl-divergence-base",
                try measure([
                    "\(llamaBin)/llama-perplexity", "-m", f32, "-f", eval, "-c", ctx, "--chunks", chunks, "-t",
                    "\(threads)", "--kl-divergence-base", kld
                ])
            ))
        for v in variants {
            steps.append(
                (
                    "llama-perplexity --kl-divergence \(v)",
                    try measure([
                        "\(llamaBin)/llama-perplexity", "-m", out.appendingPathComponent("\(v).gguf").path, "-f", eval,
                        "-c", ctx, "--chunks", chunks, "-t", "\(threads)", "--kl-divergence-base", kld,
                        "--kl-divergence"
                    ])
                ))
        }
        for (name, m) in steps {
            guard m.status == 0 else { throw ValidationErrorText("\(name) failed with status \(m.status)") }
            print(
                name.padding(toLength: 44, withPad: " ", startingAt: 0)
                    + String(format: " %8.2f s   peak RSS %7.1f MB", m.seconds, mb(m)))
        }
        let total = steps.map(\.1.seconds).reduce(0, +)
        print(String(format: "llama.cpp chain, total:     %8.2f s", total))
        print(String(format: "kiln build takes %.3f of the chain's time", first.seconds / total))
    }

    func mb(_ m: ChildMeasurement) -> Double { Double(m.peakRSSBytes) / 1e6 }
}
