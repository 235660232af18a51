import FileAccess
import Foundation
import JSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A catalog problem, one line naming the file.
public struct CatalogError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `kiln catalog build`: the manifests of build folders merged into `CATALOG/catalog.json`, the published
/// files placed under `files/<first 16 hex digits of their SHA-256>/<file>` (content-addressed: a file that is
/// already there is not touched), the manifests copied to `manifests/<alias>.json`, and the exports for
/// today's runtimes written beside it. Everything is checked before anything is written, and `catalog.json`
/// is renamed into place last, so a failed build leaves the previous catalog as it was.
public enum CatalogBuilder {
    public enum Placement: String, Sendable {
        /// Hard links (a copy where the catalog is on another file system).
        case link
        case copy
    }

    public struct Options: Sendable {
        public var dists: [URL]
        public var output: URL
        public var placement: Placement = .link
        /// Reference the files under this URL instead of placing them in the catalog.
        public var baseURL: String?

        public init(dists: [URL], output: URL) {
            self.dists = dists
            self.output = output
        }
    }

    public struct Result: Sendable {
        public var index: CatalogIndex
        /// Aliases whose entries changed, and files placed (not already present).
        public var changed: [String]
        public var placed: Int
    }

    /// The manifests of a build folder: `DIST/manifest.json`, or `DIST/*/manifest.json`.
    public static func manifests(in dist: URL) throws -> [(URL, Manifest)] {
        let direct = dist.appendingPathComponent("manifest.json")
        if FileManager.default.fileExists(atPath: direct.path) { return [(direct, try Manifest(contentsOf: direct))] }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dist.path, isDirectory: &isDir), isDir.boolValue else {
            throw CatalogError("\(dist.path): no such build folder")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dist.path).sorted()
        let found = names.map { dist.appendingPathComponent($0).appendingPathComponent("manifest.json") }.filter {
            FileManager.default.fileExists(atPath: $0.path)
        }
        guard !found.isEmpty else {
            throw CatalogError("\(dist.path): no manifest.json here or in its folders (run kiln build first)")
        }
        return try found.map { ($0, try Manifest(contentsOf: $0)) }
    }

    public static func build(_ options: Options) throws -> Result {
        // 1. Read and check everything.
        var byAlias: [String: (URL, Manifest)] = [:]
        var order: [String] = []
        for dist in options.dists {
            for (url, m) in try manifests(in: dist) {
                if let (other, previous) = byAlias[m.alias] {
                    if previous.source != m.source {
                        throw CatalogError(
                            "\(url.path): alias \(m.alias) is also built from another source in \(other.path) "
                                + "(\(previous.source.location) vs \(m.source.location))")
                    }
                    if previous != m {
                        throw CatalogError(
                            "\(url.path): alias \(m.alias) is given twice, differently (also \(other.path))")
                    }
                    continue
                }
                byAlias[m.alias] = (url, m)
                order.append(m.alias)
            }
        }
        for alias in order {
            let (url, m) = byAlias[alias]!
            guard !m.published.isEmpty else {
                throw CatalogError("\(url.path): \(alias) has no published variant")
            }
            for v in m.published {
                let file = url.deletingLastPathComponent().appendingPathComponent(v.file)
                guard let id = FileIdentity(path: file.path) else {
                    throw CatalogError("\(file.path): missing (listed in \(url.path))")
                }
                guard id.size == v.bytes else {
                    throw CatalogError("\(file.path): \(id.size) bytes, the manifest says \(v.bytes)")
                }
            }
        }
        let out = options.output.standardizedFileURL
        if let reason = AtomicOutputFile.unwritableReason(out) {
            throw CatalogError("\(out.path): cannot write the catalog (\(reason))")
        }
        let catalogURL = out.appendingPathComponent("catalog.json")
        var previous: CatalogIndex? = nil
        if FileManager.default.fileExists(atPath: catalogURL.path) {
            previous = try CatalogIndex(contentsOf: catalogURL)
        }

        // Digests of the files to place are checked before anything is written, so a manifest that does not
        // match its files leaves the catalog as it was.
        var verified = Set<String>()
        if options.baseURL == nil {
            for alias in order {
                let (url, m) = byAlias[alias]!
                for v in m.published {
                    let target = out.appendingPathComponent("files/\(v.sha256.prefix(16))/\(v.file)")
                    guard FileIdentity(path: target.path)?.size != v.bytes else { continue }
                    let source = url.deletingLastPathComponent().appendingPathComponent(v.file)
                    let actual = try SHA256Digest.hexDigest(file: source)
                    guard actual == v.sha256 else {
                        throw CatalogError("\(source.path): SHA-256 \(actual) differs from the manifest's \(v.sha256)")
                    }
                    verified.insert(source.path)
                }
            }
        }

        // 2. Place files and manifests (content-addressed; nothing under a final name is ever partial).
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var placed = 0
        var models: [CatalogIndex.Model] = []
        var localFiles: [String: URL] = [:]
        for alias in order {
            let (url, m) = byAlias[alias]!
            let folder = url.deletingLastPathComponent()
            let manifestData = try Data(contentsOf: url)
            let manifestSHA = SHA256Digest.hexDigest(Array(manifestData))
            let manifestPath = "manifests/\(alias).json"
            try FileManager.default.createDirectory(
                at: out.appendingPathComponent("manifests"), withIntermediateDirectories: true)
            if (try? Data(contentsOf: out.appendingPathComponent(manifestPath))) != manifestData {
                try AtomicOutputFile.write(manifestData, to: out.appendingPathComponent(manifestPath))
            }
            var variants: [CatalogIndex.Variant] = []
            for v in m.published {
                let source = folder.appendingPathComponent(v.file)
                let path = "files/\(v.sha256.prefix(16))/\(v.file)"
                let uri: String
                if let base = options.baseURL {
                    uri = base.hasSuffix("/") ? base + v.file : base + "/" + v.file
                    localFiles[v.id] = source
                } else {
                    uri = path
                    let target = out.appendingPathComponent(path)
                    if FileIdentity(path: target.path)?.size != v.bytes {
                        try place(
                            source, at: target, sha256: verified.contains(source.path) ? nil : v.sha256,
                            placement: options.placement)
                        placed += 1
                    }
                    let statement = folder.appendingPathComponent(v.provenance)
                    if let data = try? Data(contentsOf: statement) {
                        let to = target.deletingLastPathComponent().appendingPathComponent(v.provenance)
                        if (try? Data(contentsOf: to)) != data { try AtomicOutputFile.write(data, to: to) }
                    }
                    localFiles[v.id] = target
                }
                variants.append(variant(v, manifest: m, uri: uri, path: options.baseURL == nil ? path : v.file))
            }
            models.append(model(m, manifest: manifestPath, sha256: manifestSHA, variants: variants))
        }
        // Aliases of the previous catalog that were not rebuilt stay as they were.
        let rebuilt = Set(order)
        var merged = (previous?.models ?? []).filter { !rebuilt.contains($0.alias) }
        merged += models
        merged.sort { $0.alias < $1.alias }
        let index = CatalogIndex(baseURL: options.baseURL, models: merged)
        let changed = models.filter { m in previous?.model(m.alias) != m }.map(\.alias)

        // 3. Exports, then the index itself.
        for (name, text) in Exporters.all(index, catalog: out, localFiles: localFiles) {
            let url = out.appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let data = Data(text.utf8)
            if (try? Data(contentsOf: url)) != data { try AtomicOutputFile.write(data, to: url) }
        }
        try AtomicOutputFile.write(JSONOutput.prettyData(index), to: catalogURL)
        return Result(index: index, changed: changed, placed: placed)
    }

    static func model(
        _ m: Manifest, manifest: String, sha256: String, variants: [CatalogIndex.Variant]
    )
        -> CatalogIndex.Model
    {
        let t = m.chatTemplate
        return CatalogIndex.Model(
            alias: m.alias, displayName: m.displayName, publisher: m.publisher, license: m.license,
            description: m.description, task: m.tasks.first, tasks: m.tasks, architecture: m.model.architecture,
            parameterCount: m.model.parameterCount, contextLength: m.model.contextLength,
            capabilities: CatalogIndex.Capabilities(
                supportsToolCalling: t?.supportsToolCalls ?? false, toolCallStart: t?.toolCallStart,
                toolCallEnd: t?.toolCallEnd, supportsReasoning: t?.supportsReasoning ?? false,
                reasoningStart: t?.reasoningStart, reasoningEnd: t?.reasoningEnd,
                supportsSystemRole: t?.supportsSystemRole ?? false),
            promptTemplate: t?.promptTemplate, chatTemplateSHA256: t?.sha256, stopTokens: t?.stopTokens ?? [],
            recommended: recommended(variants), manifest: manifest, manifestSHA256: sha256,
            source: m.source.location, revision: m.source.revision, variants: variants)
    }

    static func variant(
        _ v: Manifest.Variant, manifest m: Manifest, uri: String, path: String
    )
        -> CatalogIndex.Variant
    {
        let ctx = m.model.contextLength
        let minimum = v.memory.total(atContext: min(4096, ctx > 0 ? ctx : 4096)) ?? v.memory.weightsBytes
        let full = v.memory.total(atContext: ctx) ?? minimum
        let perToken = v.memory.contexts.last.map { $0.kvCacheBytes / max($0.contextLength, 1) } ?? 0
        return CatalogIndex.Variant(
            id: v.id, name: v.name, version: 1, alias: m.alias, displayName: "\(m.displayName) \(v.name)",
            providerType: "llama.cpp", modelType: "GGUF", fileType: v.fileType, bitsPerWeight: v.bitsPerWeight,
            uri: uri, fileSizeMb: (v.bytes + 1_048_575) / 1_048_576,
            runtime: CatalogIndex.Runtime(deviceType: "CPU", executionProvider: "CPU"), contextLength: ctx,
            files: [CatalogIndex.File(path: path, sha256: v.sha256, size: v.bytes)],
            requirements: CatalogIndex.Requirements(
                minMemoryBytes: minimum, memoryAtContextLength: full, kvBytesPerToken: perToken, memory: v.memory),
            quality: v.quality.map { q in
                CatalogIndex.Quality(
                    ppl: q.ppl, lnPPLRatio: q.lnPPLRatio, meanKLD: q.meanKLD, kld99: q.kld99, maxKLD: q.maxKLD,
                    sameTopPPercent: q.sameTopPPercent, rmsDpPercent: q.rmsDpPercent, reference: m.source.location,
                    corpusSHA256: q.textSHA256, ctx: q.ctx, chunks: q.chunks)
            }, tensorTypeMapSHA256: v.tensorTypeMapSHA256, provenance: v.provenance)
    }

    /// The default variant of an alias: the smallest whose same-top-p is at least 90% of the best measured
    /// one's; without measurements, the first published.
    public static func recommended(_ variants: [CatalogIndex.Variant]) -> String {
        let measured = variants.filter { $0.quality != nil }
        guard let best = measured.map({ $0.quality!.sameTopPPercent }).max() else { return variants[0].id }
        let good = measured.filter { $0.quality!.sameTopPPercent >= 0.9 * best }
        return good.min { ($0.files[0].size, $0.id) < ($1.files[0].size, $1.id) }!.id
    }

    /// A file placed under its final name only when complete and its digest checked (`sha256` nil: checked
    /// already).
    static func place(_ source: URL, at target: URL, sha256: String?, placement: Placement) throws {
        if let sha256 {
            let actual = try SHA256Digest.hexDigest(file: source)
            guard actual == sha256 else {
                throw CatalogError("\(source.path): SHA-256 \(actual) differs from the manifest's \(sha256)")
            }
        }
        try FileManager.default.createDirectory(
            at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = target.deletingLastPathComponent().appendingPathComponent(
            ".\(target.lastPathComponent).\(getpid()).partial")
        unlink(temporary.path)
        if placement == .link, link(source.path, temporary.path) == 0 {
        } else {
            try FileManager.default.copyItem(at: source, to: temporary)
        }
        guard rename(temporary.path, target.path) == 0 else {
            unlink(temporary.path)
            throw CatalogError("\(target.path): cannot place the file: \(String(cString: strerror(errno)))")
        }
    }
}
