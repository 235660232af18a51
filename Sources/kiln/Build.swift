import ArgumentParser
import Catalog
import FileAccess
import Foundation
import JSON
import Pipeline

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a recipe's quant ladder: convert, quantize, verify, gate, and write the manifest.",
        discussion: """
            Writes DIST/<name>/<name>-<variant>.gguf, manifest.json, report.md and an in-toto statement per \
            file. Every output is keyed by the digest of what decides it; a second run reuses what exists. \
            Exit status: 0 every variant published, 3 a variant was rejected by a gate, 1 an error.
            """)

    @Argument(help: "Recipe files (YAML).") var recipes: [String]
    @Option(name: [.short, .customLong("output")], help: "Output folder (DIST).") var output = "dist"
    @Option(help: "Recipes built at once (threads are shared between them).") var jobs = 1
    @Option(parsing: .singleValue, help: "Build only this variant (repeatable).") var only: [String] = []
    @Flag(help: "Print the plan (stages, expected sizes, what is reused) and build nothing.") var dryRun = false
    @Flag(help: "Print the stage graph: every node's key, inputs, outputs and the command that runs it alone.")
    var plan = false
    @Option(help: "Run one node of the plan (by key or a prefix of at least 8 characters).") var node: String?
    @Flag(help: "Rebuild everything, ignoring what exists.") var force = false
    @OptionGroup var threads: ThreadsOption
    @Flag(help: "Print typed JSON events, one object per line.") var json = false

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        if node != nil, recipes.count != 1 { throw ValidationError("--node needs exactly one recipe") }
    }

    func run() throws {
        var gateFailed = false
        try reportingErrors {
            // Every recipe is read and checked before any work.
            let loaded = try recipes.map { try LoadedRecipe.load(path: $0) }
            var aliases: [String: String] = [:]
            for (r, path) in zip(loaded, recipes) {
                if let other = aliases.updateValue(path, forKey: r.recipe.name) {
                    throw ValidationErrorLine("\(path): `name`: \(r.recipe.name) is also the name of \(other)")
                }
            }
            let dist = URL(fileURLWithPath: output)
            let perJob = max(1, threads.count / min(jobs, loaded.count))
            let builders = try zip(loaded, recipes).map { r, arg in
                var o = Builder.Options(
                    dist: dist, threads: perJob, version: Kiln.version, recipeArgument: arg, distArgument: output)
                o.only = only
                o.force = force
                return try Builder(r, options: o, events: events(for: r.recipe.name))
            }
            if plan || dryRun {
                for b in builders { try printPlan(b) }
                return
            }
            if let reason = AtomicOutputFile.unwritableReason(dist) {
                throw ValidationErrorLine("\(output): cannot write the build (\(reason))")
            }
            let results = Outcomes(count: builders.count)
            let jobs = min(self.jobs, builders.count), node = self.node
            DispatchQueue.concurrentPerform(iterations: jobs) { i in
                // Job i builds every jobs-th recipe, starting at i.
                for j in stride(from: i, to: builders.count, by: jobs) {
                    results.set(j, Result { try builders[j].run(node: node) })
                }
            }
            var rows: [String] = []
            for (b, o) in zip(builders, results.values) {
                let outcome = try o!.get()
                gateFailed = gateFailed || outcome.rejected > 0
                if let m = outcome.manifest {
                    if json {
                        try JSONOutput.print(
                            BuildEvent.done(
                                .init(
                                    alias: m.alias, manifest: outcome.manifestURL.path,
                                    report: outcome.manifestURL.deletingLastPathComponent().appendingPathComponent(
                                        "report.md"
                                    ).path, published: outcome.published, rejected: outcome.rejected, ran: outcome.ran,
                                    reused: outcome.reused, seconds: progress.elapsed)))
                    } else {
                        rows += summary(m)
                    }
                } else if !json {
                    print("\(b.loaded.recipe.name): ran \(outcome.ran) node(s), reused \(outcome.reused)")
                }
            }
            if !json && !rows.isEmpty {
                progress.clear()
                print(
                    "alias:variant                            status      size MiB   mean KLD  same top %  memory MiB")
                rows.forEach { print($0) }
            }
        }
        if gateFailed { throw ExitCode(KilnExit.gateFailed) }
    }

    var progress: BuildProgress { BuildProgress.shared }

    func events(for alias: String) -> (BuildEvent) -> Void {
        let json = self.json
        return { event in
            if json {
                if case .plan = event { return }
                BuildProgress.shared.printLine(try? JSONOutput.line(event))
            } else {
                BuildProgress.shared.show(event)
            }
        }
    }

    func printPlan(_ b: Builder) throws {
        let nodes = try b.plan(expectedSizes: dryRun)
        if json {
            try JSONOutput.print(BuildEvent.Plan(recipe: b.loaded.file.path, alias: b.loaded.recipe.name, nodes: nodes))
            return
        }
        print("\(b.loaded.recipe.name) (\(b.loaded.file.path)) from \(b.loaded.source.folder.path):")
        for n in nodes {
            var line =
                "  \(n.done ? "reuse" : "build") \(n.stage.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))"
            line += " \((n.variant ?? "").padding(toLength: 18, withPad: " ", startingAt: 0))"
            line += " \(n.key.prefix(16))"
            if let bytes = n.expectedBytes { line += String(format: "  %9.2f MiB", Double(bytes) / 1_048_576) }
            if !n.outputs.isEmpty, n.stage != .manifest { line += "  → \(n.outputs.joined(separator: ", "))" }
            print(line)
        }
        if plan {
            print("  run one node alone: kiln build \(b.options.recipeArgument) -o \(output) --node KEY")
        }
    }

    func summary(_ m: Manifest) -> [String] {
        m.variants.map { v in
            let id = "\(m.alias):\(v.name)".padding(toLength: 40, withPad: " ", startingAt: 0)
            let mem =
                v.memory.total(atContext: max(m.model.contextLength, 4096)).map {
                    String(format: "%10.1f", Double($0) / 1_048_576)
                } ?? "         –"
            return String(
                format: "%@ %@ %9.2f  %9@  %10@  %@", id,
                v.status.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0),
                Double(v.bytes) / 1_048_576, v.quality.map { String(format: "%.6f", $0.meanKLD) } ?? "–",
                v.quality.map { String(format: "%.3f", $0.sameTopPPercent) } ?? "–", mem)
        }
    }
}

/// Each recipe's result, filled in by the jobs.
final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Result<Builder.Outcome, Error>?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<Builder.Outcome, Error>) {
        lock.lock()
        values[i] = r
        lock.unlock()
    }
}

/// Progress on a terminal: one line per stage, a bar for tensors and chunks, redrawn in place.
final class BuildProgress: @unchecked Sendable {
    static let shared = BuildProgress()
    private let lock = NSLock()
    private let started = Date()
    private let bar = ProgressBar(enabled: isatty(2) != 0)
    var elapsed: Double { Date().timeIntervalSince(started) }

    func printLine(_ line: String?) {
        guard let line else { return }
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    func clear() { bar.clear() }

    func show(_ event: BuildEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case let .node(n):
            bar.clear()
            let what = [n.stage, n.variant].compactMap { $0 }.joined(separator: " ")
            if n.action == "reuse" {
                print("\(n.alias): \(what): reused")
            } else if n.stage == "manifest" {
                print("\(n.alias): manifest, report and provenance written")
            } else {
                print("\(n.alias): \(what)…")
            }
        case let .tensor(t):
            bar.show(t.index + 1, t.count)
        case let .chunk(c):
            bar.show(c.chunk, c.chunks)
        case .plan, .variant, .done:
            break
        }
    }
}
