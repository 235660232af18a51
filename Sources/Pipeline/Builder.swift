import Architectures
import Catalog
import Conversion
import FileAccess
import Foundation
import GGUF
import Inference
import JSON
import Quantization
import Tokenization
import Verification

/// `kiln build` for one recipe: the stage graph (facts → [imatrix] → [base conversion] → quantization
/// ladder → reference → verification → manifest), each node keyed by the digest of everything that decides
/// its outputs. A node whose outputs exist under its key is reused; everything else runs, and every output
/// is written to a temporary file and renamed into place, with the node's record written last. A crashed
/// build therefore leaves only complete files, and the next run resumes from what was recorded.
///
/// A builder is used by one thread at a time (`kiln build --jobs` gives each recipe its own).
public final class Builder: @unchecked Sendable {
    public struct Options: Sendable {
        public var dist: URL
        public var threads: Int
        /// Build only these variants (recipe names); empty: all.
        public var only: [String] = []
        /// Rebuild every node, ignoring what exists.
        public var force = false
        public var version: String
        /// How the recipe was named on the command line (for the plan's commands).
        public var recipeArgument: String
        public var distArgument: String

        public init(dist: URL, threads: Int, version: String, recipeArgument: String, distArgument: String) {
            self.dist = dist
            self.threads = threads
            self.version = version
            self.recipeArgument = recipeArgument
            self.distArgument = distArgument
        }
    }

    public struct Outcome: Sendable {
        public var manifest: Manifest?
        public var manifestURL: URL
        public var published: Int
        public var rejected: Int
        public var ran: Int
        public var reused: Int
    }

    /// A published file of the recipe: the base conversion or a quantized variant.
    struct Spec {
        var name: String
        var fileName: String
        var base: OutputType?
        var variant: Recipe.Variant?
        var fileType: String { base.map { $0.label } ?? variant!.type.description }
    }

    public let loaded: LoadedRecipe
    public let options: Options
    let folder: URL
    let state: URL
    let specs: [Spec]
    var recipe: Recipe { loaded.recipe }
    var alias: String { recipe.name }
    let emit: (BuildEvent) -> Void
    var ran = 0, reused = 0
    /// Node records read or written in this build, by key.
    private var records: [String: NodeRecord] = [:]
    /// The evaluation text's tokens, once tokenized.
    private var verifyIDs: [Int32]?

    public init(_ loaded: LoadedRecipe, options: Options, events: @escaping (BuildEvent) -> Void = { _ in }) throws {
        self.loaded = loaded
        self.options = options
        self.emit = events
        folder = options.dist.appendingPathComponent(loaded.recipe.name)
        state = folder.appendingPathComponent(".kiln")
        var specs: [Spec] = []
        let alias = loaded.recipe.name
        if let b = loaded.recipe.base, let t = OutputType(rawValue: b) {
            specs.append(Spec(name: t.label, fileName: "\(alias)-\(t.label).gguf", base: t, variant: nil))
        }
        for v in loaded.recipe.variants {
            specs.append(Spec(name: v.name, fileName: "\(alias)-\(v.name).gguf", base: nil, variant: v))
        }
        for o in options.only where !specs.contains(where: { $0.name == o }) {
            throw BuildError(
                "\(loaded.file.path): --only \(o): no such variant (the recipe has \(specs.map(\.name).joined(separator: ", ")))"
            )
        }
        if !options.only.isEmpty { specs = specs.filter { options.only.contains($0.name) } }
        self.specs = specs
    }

    // MARK: - Keys and the plan

    struct Keys {
        var source: String
        var sourceFiles: [Manifest.SourceFile]
        var facts: String
        var imatrix: String?
        var imatrixTextSHA: String?
        var imatrixFileSHA: String?
        var verifyTextSHA: String?
        var reference: String?
        var variant: [String: String] = [:]
        var verify: [String: String] = [:]
        var manifest: String
    }

    /// The content keys of every node, from the source's digests (memoized in `memo`, saved by the caller).
    func keys(_ memo: inout DigestMemo) throws -> Keys {
        var files: [Manifest.SourceFile] = []
        for f in try loaded.source.files() {
            let (sha, bytes) = try memo.digest(of: f)
            files.append(Manifest.SourceFile(path: f.lastPathComponent, bytes: bytes, sha256: sha))
        }
        var imatrixTextSHA: String?, imatrixFileSHA: String?, verifySHA: String?
        switch loaded.imatrix {
        case let .text(u)?: imatrixTextSHA = try memo.digest(of: u).sha256
        case let .file(u)?: imatrixFileSHA = try memo.digest(of: u).sha256
        case nil: break
        }
        if let t = loaded.verifyText { verifySHA = try memo.digest(of: t).sha256 }

        let source = contentKey(["kiln-source", options.version] + files.map { "\($0.path) \($0.sha256)" })
        var k = Keys(
            source: source, sourceFiles: files, facts: contentKey(["facts", source]), imatrixTextSHA: imatrixTextSHA,
            imatrixFileSHA: imatrixFileSHA, verifyTextSHA: verifySHA, manifest: "")
        if let t = imatrixTextSHA {
            k.imatrix = contentKey([
                "imatrix", source, t, "\(recipe.imatrixCtx)", recipe.imatrixChunks.map(String.init) ?? "all"
            ])
        } else if let f = imatrixFileSHA {
            k.imatrix = contentKey(["imatrix-file", f])
        }
        if let v = recipe.verify, let t = verifySHA {
            k.reference = contentKey(["reference", source, t, "\(v.ctx)", v.chunks.map(String.init) ?? "all"])
        }
        for s in specs {
            let key: String
            if let b = s.base {
                key = contentKey(["convert", source, b.rawValue, s.fileName])
            } else {
                let v = s.variant!
                let im = v.useImatrix ? (k.imatrix ?? "none") : "none"
                key = contentKey([
                    "quantize", source, s.fileName, v.type.description, "imatrix \(im)",
                    "include \(v.includeWeights)", "exclude \(v.excludeWeights)",
                    "output \(v.outputTensorType?.description ?? "-")",
                    "embedding \(v.tokenEmbeddingType?.description ?? "-")", "tensor types \(v.tensorTypes)",
                    "pure \(v.pure)", "leave output \(v.leaveOutputTensor)", "kv \(v.overrideKV)"
                ])
            }
            k.variant[s.name] = key
            if let r = k.reference, let v = recipe.verify {
                k.verify[s.name] = contentKey([
                    "verify", key, r, v.prompt ?? "-", "\(v.maxTokens)"
                ])
            }
        }
        k.manifest = contentKey(
            ["manifest", k.facts, loaded.sha256] + specs.map { k.verify[$0.name] ?? k.variant[$0.name]! })
        return k
    }

    func digestMemo() -> DigestMemo { DigestMemo(url: state.appendingPathComponent("digests.json")) }

    func relative(_ name: String) -> String { "\(alias)/\(name)" }
    var imatrixFileName: String { "\(alias).imatrix.gguf" }

    func command(_ key: String) -> [String] {
        ["kiln", "build", options.recipeArgument, "-o", options.distArgument, "--node", key]
    }

    /// The stage graph with each node's state.
    public func plan(expectedSizes: Bool = false) throws -> [BuildNode] {
        var memo = digestMemo()
        return try plan(keys: keys(&memo), expectedSizes: expectedSizes)
    }

    func plan(keys k: Keys, expectedSizes: Bool) throws -> [BuildNode] {
        var nodes: [BuildNode] = []
        func add(_ key: String, _ stage: BuildNode.Stage, _ variant: String?, _ inputs: [String], _ outputs: [String]) {
            nodes.append(
                BuildNode(
                    key: key, stage: stage, variant: variant, inputs: inputs, outputs: outputs, command: command(key),
                    done: isDone(key)))
        }
        add(k.facts, .facts, nil, [], [])
        var sizes: [String: Int] = [:]
        if expectedSizes {
            let quantized = specs.filter { $0.variant != nil }
            let results = try Quantize.plannedSizes(
                quantized.map { quantizeOptions($0, output: folder.appendingPathComponent($0.fileName)) })
            for (s, r) in zip(quantized, results) { sizes[s.name] = r.fileBytes }
        }
        if case .text? = loaded.imatrix, let key = k.imatrix {
            add(key, .imatrix, nil, [], [relative(imatrixFileName)])
        }
        for s in specs {
            let key = k.variant[s.name]!
            var inputs: [String] = []
            if s.variant?.useImatrix == true, case .text? = loaded.imatrix, let i = k.imatrix { inputs.append(i) }
            add(key, s.base == nil ? .quantize : .convert, s.name, inputs, [relative(s.fileName)])
            nodes[nodes.count - 1].expectedBytes = sizes[s.name]
        }
        if let r = k.reference {
            add(r, .reference, nil, [], [relative(".kiln/cache/reference-\(r.prefix(16)).logits")])
            for s in specs {
                add(k.verify[s.name]!, .verify, s.name, [k.variant[s.name]!, r], [])
            }
        }
        let finals = specs.map { k.verify[$0.name] ?? k.variant[$0.name]! }
        nodes.append(
            BuildNode(
                key: k.manifest, stage: .manifest, variant: nil, inputs: [k.facts] + finals,
                outputs: [relative("manifest.json"), relative("report.md")]
                    + specs.map { relative("\($0.fileName).intoto.json") },
                command: command(k.manifest), done: isDone(k.manifest)))
        return nodes
    }

    // MARK: - Records

    struct OutputFile: Codable {
        var path: String
        var bytes: Int
        var sha256: String
    }

    struct VariantRecord: Codable {
        var fileType: String
        var tensorTypes: [String: Int]
        var tensorTypeMapSHA256: String
        var tensorBytes: Int
        var elements: Int
        /// Bytes llama.cpp's CPU backend copies into its interleaved layouts at load (x86-64 with AVX2).
        var repackBytes: Int?
    }

    struct MeasurementRecord: Codable {
        var quality: Manifest.Quality
        var tokens: Int
        var referencePPL: Double
        var generation: Manifest.Generation?
    }

    struct NodeRecord: Codable {
        var key: String
        var stage: BuildNode.Stage
        var outputs: [OutputFile] = []
        var facts: ModelFacts?
        var variant: VariantRecord?
        var measurement: MeasurementRecord?
        var seconds: Double
    }

    func recordURL(_ key: String) -> URL { state.appendingPathComponent("nodes/\(key).json") }

    /// A node's record when its outputs are all there (same sizes). Records are read once per build and kept.
    func record(_ key: String) -> NodeRecord? {
        if records[key] == nil,
            let data = FileManager.default.contents(atPath: recordURL(key).path),
            let r = try? JSONDecoder().decode(NodeRecord.self, from: data)
        {
            records[key] = r
        }
        guard let r = records[key] else { return nil }
        for o in r.outputs {
            guard let id = FileIdentity(path: folder.appendingPathComponent(o.path).path), id.size == o.bytes else {
                return nil
            }
        }
        return r
    }

    func isDone(_ key: String) -> Bool { !options.force && record(key) != nil }

    func save(_ r: NodeRecord) throws {
        try FileManager.default.createDirectory(
            at: state.appendingPathComponent("nodes"), withIntermediateDirectories: true)
        try AtomicOutputFile.write(JSONOutput.prettyData(r), to: recordURL(r.key))
        records[r.key] = r
    }

    func output(_ name: String) throws -> OutputFile {
        let url = folder.appendingPathComponent(name)
        let sha = try SHA256Digest.hexDigest(file: url)
        return OutputFile(path: name, bytes: FileIdentity(path: url.path)?.size ?? 0, sha256: sha)
    }

    // MARK: - Running

    /// Builds what is missing (or only the node `only`), then writes the manifest.
    public func run(node only: String? = nil) throws -> Outcome {
        var memo = digestMemo()
        let k = try keys(&memo)
        let nodes = try plan(keys: k, expectedSizes: false)
        // Texts too short for their context, and a broken importance-matrix file, are refused before anything
        // is written.
        try checkTexts(nodes: nodes)
        if case let .file(url)? = loaded.imatrix, nodes.contains(where: { !$0.done && $0.stage == .quantize }) {
            _ = try ImportanceMatrix(url: url)
        }
        // A run that fails before its first node completes leaves no folder it created behind.
        let fm = FileManager.default
        let createdDist = !fm.fileExists(atPath: options.dist.path)
        let createdFolder = !fm.fileExists(atPath: folder.path), createdState = !fm.fileExists(atPath: state.path)
        do {
            return try run(node: only, keys: k, nodes: nodes, memo: &memo)
        } catch {
            if records.isEmpty {
                if createdFolder {
                    try? fm.removeItem(at: folder)
                } else if createdState {
                    try? fm.removeItem(at: state)
                }
                // The build folder too, when this run made it and no other recipe's build is in it (rmdir
                // removes only an empty folder).
                if createdDist { rmdir(options.dist.path) }
            }
            throw error
        }
    }

    private func run(node only: String?, keys k: Keys, nodes: [BuildNode], memo: inout DigestMemo) throws -> Outcome {
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let lock = try FolderLock(folder: state)
        defer { withExtendedLifetime(lock) {} }
        removePartials()
        try memo.save()
        emit(.plan(.init(recipe: loaded.file.path, alias: alias, nodes: nodes)))
        var wanted = Set(nodes.map(\.key))
        if let only {
            guard let n = nodes.first(where: { $0.key == only || $0.key.hasPrefix(only) && only.count >= 8 }) else {
                throw BuildError("\(loaded.file.path): no node \(only) in this recipe's plan (see kiln build --plan)")
            }
            let missing = n.inputs.filter { !isDone($0) }
            if !missing.isEmpty, !(n.stage == .manifest) || !missing.allSatisfy({ $0 == k.facts }) {
                throw BuildError(
                    "\(loaded.file.path): node \(n.key.prefix(16)) (\(n.stage.rawValue)) needs \(missing.map { String($0.prefix(16)) }.joined(separator: ", ")) first"
                )
            }
            wanted = [n.key]
            if n.stage == .manifest { wanted.insert(k.facts) }
        }

        let facts = try runFacts(k)
        try runImatrix(k, wanted: wanted)
        try runQuantize(k, wanted: wanted)
        try runVerify(k, wanted: wanted)
        var outcome = Outcome(
            manifest: nil, manifestURL: folder.appendingPathComponent("manifest.json"), published: 0, rejected: 0,
            ran: 0, reused: 0)
        if wanted.contains(k.manifest) {
            let m = try writeManifest(k, facts: facts)
            outcome.manifest = m
            outcome.published = m.published.count
            outcome.rejected = m.variants.count - m.published.count
        }
        outcome.ran = ran
        outcome.reused = reused
        return outcome
    }

    /// Temporary files of a build that was killed (the lock is held, so none belongs to a live build).
    func removePartials() {
        for dir in [folder, state, state.appendingPathComponent("nodes"), state.appendingPathComponent("cache")] {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { continue }
            for n in names where n.hasPrefix(".") && n.hasSuffix(".partial") {
                try? FileManager.default.removeItem(at: dir.appendingPathComponent(n))
            }
        }
    }

    func started(_ stage: BuildNode.Stage, _ variant: String?, _ key: String) -> Date {
        ran += 1
        emit(.node(.init(alias: alias, stage: stage.rawValue, variant: variant, key: key, action: "run")))
        return Date()
    }

    func reusedNode(_ stage: BuildNode.Stage, _ variant: String?, _ key: String) {
        reused += 1
        emit(.node(.init(alias: alias, stage: stage.rawValue, variant: variant, key: key, action: "reuse")))
    }

    /// Texts too short for their context are refused before any work.
    func checkTexts(nodes: [BuildNode]) throws {
        let pending = nodes.filter { !$0.done }
        let needsReference = pending.contains { $0.stage == .reference || $0.stage == .verify }
        let needsImatrix = pending.contains { $0.stage == .imatrix }
        guard needsReference || needsImatrix else { return }
        let tokenizer = try Tokenizer(model: loaded.source.folder)
        if needsReference, let v = recipe.verify, let t = loaded.verifyText {
            let ids = try verifyTokens(tokenizer, t)
            verifyIDs = ids
            let n = ids.count
            if n < 2 * v.ctx {
                throw RecipeError(
                    file: loaded.file.path, key: "verify.text",
                    "\(t.path) has \(n) tokens; a context of \(v.ctx) needs at least \(2 * v.ctx) (two chunks)")
            }
        }
        if needsImatrix, case let .text(t)? = loaded.imatrix {
            let n = try ImportanceCollection.tokens(t.path, model: loaded.source.folder.path).count
            if n < 2 * recipe.imatrixCtx {
                throw RecipeError(
                    file: loaded.file.path, key: "imatrix",
                    "\(t.path) has \(n) tokens; a context of \(recipe.imatrixCtx) needs at least \(2 * recipe.imatrixCtx) (two chunks)"
                )
            }
        }
    }

    /// The evaluation text tokenized as `kiln verify` does (the whole file, BOS where the vocabulary adds one).
    func verifyTokens(_ tokenizer: Tokenizer, _ url: URL) throws -> [Int32] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw BuildError("\(url.path): cannot read")
        }
        return tokenizer.encode(String(decoding: data, as: UTF8.self), addSpecialTokens: true).map(Int32.init)
    }

    func runFacts(_ k: Keys) throws -> ModelFacts {
        if !options.force, let r = record(k.facts), let f = r.facts {
            reusedNode(.facts, nil, k.facts)
            return f
        }
        let t = started(.facts, nil, k.facts)
        let f = try ModelFacts.read(folder: loaded.source.folder)
        try save(NodeRecord(key: k.facts, stage: .facts, facts: f, seconds: Date().timeIntervalSince(t)))
        return f
    }

    func runImatrix(_ k: Keys, wanted: Set<String>) throws {
        guard case let .text(text)? = loaded.imatrix, let key = k.imatrix else { return }
        let usedBy = specs.filter { s in
            s.variant?.useImatrix == true && wanted.contains(k.variant[s.name]!) && !isDone(k.variant[s.name]!)
        }
        // Computed when a variant that uses it is built, or when it is the one node asked for.
        guard wanted.contains(key) && (!usedBy.isEmpty || wanted == [key]) else { return }
        if isDone(key) {
            reusedNode(.imatrix, nil, key)
            return
        }
        let t = started(.imatrix, nil, key)
        var statistics = ImportanceStatistics(chunkSize: recipe.imatrixCtx)
        _ = try ImportanceCollection.collect(
            model: loaded.source.folder.path, text: text.path, ctx: recipe.imatrixCtx, chunks: recipe.imatrixChunks,
            processOutput: false, threads: options.threads, inFiles: [], into: &statistics
        ) { done, total, _ in
            self.emit(.chunk(.init(alias: self.alias, stage: "imatrix", variant: nil, chunk: done, chunks: total)))
        }
        // The file records the text's name, not where this machine keeps it: builds elsewhere give the same bytes.
        statistics.datasets = [text.lastPathComponent]
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try statistics.write(to: folder.appendingPathComponent(imatrixFileName), overwrite: true)
        try save(
            NodeRecord(
                key: key, stage: .imatrix, outputs: [try output(imatrixFileName)],
                seconds: Date().timeIntervalSince(t)))
    }

    /// The importance matrix a variant is quantized with, named relative to the alias folder (the quantized
    /// file records the name as given, so it must not depend on where DIST is).
    func imatrixURL(_ s: Spec) -> URL? {
        guard s.variant?.useImatrix == true else { return nil }
        switch loaded.imatrix {
        case .text?: return URL(fileURLWithPath: imatrixFileName, relativeTo: folder)
        case let .file(u)?:
            return URL(fileURLWithPath: u.lastPathComponent, relativeTo: u.deletingLastPathComponent())
        case nil: return nil
        }
    }

    func quantizeOptions(_ s: Spec, output: URL) -> QuantizeOptions {
        let v = s.variant!
        var o = QuantizeOptions(input: loaded.source.folder, output: output, fileType: v.type, threads: options.threads)
        o.importanceMatrix = imatrixURL(s)
        o.includeWeights = v.includeWeights
        o.excludeWeights = v.excludeWeights
        o.overrides.outputTensorType = v.outputTensorType
        o.overrides.tokenEmbeddingType = v.tokenEmbeddingType
        o.overrides.tensorTypes = v.tensorTypes.compactMap { rule in
            guard let eq = rule.lastIndex(of: "="), let t = GGMLType(name: String(rule[rule.index(after: eq)...]))
            else { return nil }
            return (String(rule[..<eq]), t)
        }
        o.overrides.pure = v.pure
        o.overrides.leaveOutputTensor = v.leaveOutputTensor
        o.overrideKV = v.overrideKV.compactMap(KVOverride.init(parsing:))
        o.overwrite = true
        return o
    }

    func runQuantize(_ k: Keys, wanted: Set<String>) throws {
        var pending: [Spec] = []
        for s in specs {
            let key = k.variant[s.name]!
            guard wanted.contains(key) else { continue }
            if isDone(key) {
                reusedNode(s.base == nil ? .quantize : .convert, s.name, key)
            } else {
                pending.append(s)
            }
        }
        guard !pending.isEmpty else { return }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for s in pending where s.base != nil {
            let key = k.variant[s.name]!
            let t = started(.convert, s.name, key)
            let o = ConversionOptions(
                checkpoint: loaded.source.folder, output: folder.appendingPathComponent(s.fileName),
                outputType: s.base!, overwrite: true, threads: options.threads)
            var types: [(name: String, type: GGMLType, dimensions: [Int])] = []
            _ = try Converter.convert(o) { p in
                types.append((p.tensor, p.outputType, Array(p.shape.reversed())))
                self.emit(
                    .tensor(
                        .init(alias: self.alias, index: p.index, count: p.count, tensor: p.tensor, variants: [s.name])))
            }
            try save(
                NodeRecord(
                    key: key, stage: .convert, outputs: [try output(s.fileName)],
                    variant: variantRecord(fileType: s.fileType, types),
                    seconds: Date().timeIntervalSince(t)))
        }
        let ladder = pending.filter { $0.variant != nil }
        guard !ladder.isEmpty else { return }
        let t = Date()
        for s in ladder { _ = started(.quantize, s.name, k.variant[s.name]!) }
        let results = try Quantize.runLadder(
            ladder.map { quantizeOptions($0, output: folder.appendingPathComponent($0.fileName)) }
        ) { entries, i, n in
            self.emit(
                .tensor(
                    .init(alias: self.alias, index: i, count: n, tensor: entries[0].name, variants: ladder.map(\.name)))
            )
        }
        let seconds = Date().timeIntervalSince(t)
        for (s, r) in zip(ladder, results) {
            try save(
                NodeRecord(
                    key: k.variant[s.name]!, stage: .quantize, outputs: [try output(s.fileName)],
                    variant: variantRecord(
                        fileType: s.fileType, r.entries.map { ($0.name, $0.to, $0.dimensions) }),
                    seconds: seconds))
        }
    }

    func variantRecord(
        fileType: String, _ tensors: [(name: String, type: GGMLType, dimensions: [Int])]
    )
        -> VariantRecord
    {
        var histogram: [String: Int] = [:]
        var map = "", bytes = 0, elements = 0, repack = 0
        for t in tensors {
            let n = t.dimensions.reduce(1, *)
            let size = t.type.byteCount(elements: n)
            histogram[t.type.description, default: 0] += 1
            map += "\(t.name)=\(t.type.description)\n"
            bytes += size
            elements += n
            if MemoryEstimate.isRepacked(t.type, dimensions: t.dimensions) { repack += size }
        }
        return VariantRecord(
            fileType: fileType, tensorTypes: histogram, tensorTypeMapSHA256: SHA256Digest.hexDigest(map),
            tensorBytes: bytes, elements: elements, repackBytes: repack)
    }

    func referenceCache(_ k: Keys) -> URL {
        state.appendingPathComponent("cache/reference-\(k.reference!.prefix(16)).logits")
    }

    func runVerify(_ k: Keys, wanted: Set<String>) throws {
        guard let v = recipe.verify, let ref = k.reference, let text = loaded.verifyText else { return }
        var pending: [Spec] = []
        for s in specs {
            let key = k.verify[s.name]!
            guard wanted.contains(key) else { continue }
            if isDone(key) { reusedNode(.verify, s.name, key) } else { pending.append(s) }
        }
        let referenceWanted = wanted.contains(ref)
        guard !pending.isEmpty || referenceWanted else { return }
        try FileManager.default.createDirectory(
            at: state.appendingPathComponent("cache"), withIntermediateDirectories: true)
        let ids = try verifyIDs ?? verifyTokens(Tokenizer(model: loaded.source.folder), text)
        // The source key already digests every source file: the logits cache needs no second hash of them.
        var verifier = Verifier(
            reference: .checkpoint(loaded.source.folder, contentHash: bytes(hex: k.source)), contextLength: v.ctx,
            threads: options.threads, cacheURL: referenceCache(k))
        verifier.maxChunks = v.chunks
        let reference: (ReferenceLogProbabilities, ModelConfiguration)
        if isDone(ref) {
            reusedNode(.reference, nil, ref)
            guard !pending.isEmpty else { return }
            reference = try verifier.reference(tokens: ids)
        } else {
            let t = started(.reference, nil, ref)
            reference = try verifier.reference(tokens: ids) { i, n in
                self.emit(.chunk(.init(alias: self.alias, stage: "reference", variant: nil, chunk: i, chunks: n)))
            }
            let name = ".kiln/cache/\(referenceCache(k).lastPathComponent)"
            let id = FileIdentity(path: referenceCache(k).path)
            try save(
                NodeRecord(
                    key: ref, stage: .reference, outputs: [OutputFile(path: name, bytes: id?.size ?? 0, sha256: "")],
                    seconds: Date().timeIntervalSince(t)))
        }
        let chunks = min(ids.count / v.ctx, v.chunks ?? .max)
        let textSHA = k.verifyTextSHA ?? ""
        for s in pending {
            let key = k.verify[s.name]!
            let t = started(.verify, s.name, key)
            let url = folder.appendingPathComponent(s.fileName)
            let stats = try verifier.compare(model: url, against: reference) { i, n in
                self.emit(.chunk(.init(alias: self.alias, stage: "verify", variant: s.name, chunk: i, chunks: n)))
            }
            let r = VerificationReport(
                model: s.fileName, reference: loaded.source.location, text: text.lastPathComponent, ctx: v.ctx,
                chunks: chunks, tokens: ids.count, statistics: stats, gates: QualityGates())
            let quality = Manifest.Quality(
                ppl: r.ppl, lnPPLRatio: r.lnPPLRatio, meanKLD: r.meanKLD, medianKLD: r.medianKLD, kld99: r.kld99,
                maxKLD: r.maxKLD, rmsDpPercent: r.rmsDpPercent, sameTopPPercent: r.sameTopPPercent, textSHA256: textSHA,
                ctx: v.ctx, chunks: chunks)
            var generation: Manifest.Generation? = nil
            if let prompt = v.prompt {
                let session = try ChatSession(file: GGUFFile(url: url), threads: options.threads, contextLength: nil)
                let reply = try session.respond(
                    to: [ChatSession.message("user", prompt)], maxTokens: v.maxTokens, onText: { _ in })
                generation = Manifest.Generation(
                    prompt: prompt, reply: reply.text, expect: v.expect,
                    passed: v.expect.map { reply.text.localizedCaseInsensitiveContains($0) } ?? true)
            }
            try save(
                NodeRecord(
                    key: key, stage: .verify,
                    measurement: MeasurementRecord(
                        quality: quality, tokens: ids.count, referencePPL: r.pplReference, generation: generation),
                    seconds: Date().timeIntervalSince(t)))
        }
    }
}
