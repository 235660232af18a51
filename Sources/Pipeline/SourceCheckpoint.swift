import Catalog
import FileAccess
import Foundation
import JSON

/// A recipe's `source`, resolved to a checkpoint folder: a folder relative to the recipe file, or
/// `hf:OWNER/NAME[@REVISION]` found offline in the local Hugging Face cache (nothing is downloaded).
public struct SourceCheckpoint: Sendable, Equatable {
    public let folder: URL
    /// `folder` or `hf`.
    public let kind: String
    /// As the recipe names it.
    public let location: String
    /// The snapshot's commit, for an `hf:` source.
    public let revision: String?

    /// Resolves `source` for a recipe at `recipeFile`.
    public static func resolve(
        _ source: String, recipeFile: URL, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(RecipeError) -> SourceCheckpoint {
        let file = recipeFile.path
        if source.hasPrefix("hf:") {
            return try resolveHub(String(source.dropFirst(3)), recipeFile: file, environment: environment)
        }
        let url =
            source.hasPrefix("/")
            ? URL(fileURLWithPath: source)
            : URL(fileURLWithPath: source, relativeTo: recipeFile.deletingLastPathComponent()).absoluteURL
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw RecipeError(file: file, key: "source", "\(url.standardizedFileURL.path) does not exist")
        }
        guard isDir.boolValue else {
            throw RecipeError(file: file, key: "source", "\(url.standardizedFileURL.path) is not a checkpoint folder")
        }
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) else {
            throw RecipeError(
                file: file, key: "source",
                "\(url.standardizedFileURL.path) has no config.json (not a checkpoint folder)")
        }
        return SourceCheckpoint(folder: url.standardizedFileURL, kind: "folder", location: source, revision: nil)
    }

    /// The hub cache: `HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`.
    public static func hubCache(environment: [String: String]) -> URL {
        if let c = environment["HF_HUB_CACHE"], !c.isEmpty { return URL(fileURLWithPath: c) }
        if let h = environment["HF_HOME"], !h.isEmpty { return URL(fileURLWithPath: h).appendingPathComponent("hub") }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/huggingface/hub")
    }

    static func resolveHub(
        _ spec: String, recipeFile file: String, environment: [String: String]
    ) throws(RecipeError)
        -> SourceCheckpoint
    {
        let parts = spec.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let id = String(parts[0])
        let revision = parts.count > 1 ? String(parts[1]) : "main"
        let pieces = id.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count == 2, pieces.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }), !revision.isEmpty,
            !revision.contains("/..") && !revision.hasPrefix("..")
        else {
            throw RecipeError(file: file, key: "source", "'hf:\(spec)' is not hf:OWNER/NAME[@REVISION]")
        }
        let cache = hubCache(environment: environment)
        let repo = cache.appendingPathComponent("models--\(pieces[0])--\(pieces[1])")
        var commit = revision
        let isCommit = revision.count == 40 && revision.allSatisfy(\.isHexDigit)
        if !isCommit {
            let ref = repo.appendingPathComponent("refs").appendingPathComponent(revision)
            guard let data = FileManager.default.contents(atPath: ref.path) else {
                throw RecipeError(
                    file: file, key: "source",
                    "hf:\(id)@\(revision) is not in the Hugging Face cache (no \(ref.path)); fetch it first, for "
                        + "example with `hf download \(id) --revision \(revision)`")
            }
            commit = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let snapshot = repo.appendingPathComponent("snapshots").appendingPathComponent(commit)
        guard FileManager.default.fileExists(atPath: snapshot.appendingPathComponent("config.json").path) else {
            throw RecipeError(
                file: file, key: "source",
                "hf:\(id)@\(revision) is not in the Hugging Face cache (no \(snapshot.path)/config.json); fetch it "
                    + "first, for example with `hf download \(id) --revision \(revision)`")
        }
        return SourceCheckpoint(folder: snapshot, kind: "hf", location: "hf:\(id)", revision: commit)
    }

    /// Every regular file of the folder that decides the conversion (hidden files aside), sorted by name.
    public func files() throws -> [URL] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return names.filter { !$0.hasPrefix(".") }.map { folder.appendingPathComponent($0) }.filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0.path, isDirectory: &isDir) && !isDir.boolValue
        }
    }
}

/// SHA-256 digests memoized by file identity in a small JSON file, so an unchanged checkpoint is not hashed
/// again on every build.
struct DigestMemo {
    let url: URL
    private var entries: [String: Entry] = [:]
    private var changed = false

    struct Entry: Codable {
        var identity: FileIdentity
        var sha256: String
    }

    init(url: URL) {
        self.url = url
        if let data = FileManager.default.contents(atPath: url.path),
            let e = try? JSONDecoder().decode([String: Entry].self, from: data)
        {
            entries = e
        }
    }

    /// The digest of `file`, hashed only when its identity changed since it was memoized.
    mutating func digest(of file: URL) throws -> (sha256: String, bytes: Int) {
        let path = file.resolvingSymlinksInPath().path
        guard let identity = FileIdentity(path: path) else {
            throw BuildError("\(file.path): cannot read")
        }
        if let e = entries[path], e.identity == identity { return (e.sha256, identity.size) }
        let sha = try SHA256Digest.hexDigest(file: URL(fileURLWithPath: path))
        entries[path] = Entry(identity: identity, sha256: sha)
        changed = true
        return (sha, identity.size)
    }

    func save() throws {
        guard changed else { return }
        try AtomicOutputFile.write(JSONOutput.prettyData(entries), to: url)
    }
}
