import Catalog
import Foundation
import Hummingbird
import JSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `kiln catalog serve`: a read-only HTTP server for one catalog folder.
///
/// - `GET /v1/catalog` — `catalog.json`;
/// - `GET /v1/models/{alias}?memory=4GB&min_same_top_p=85&context=4096` — the resolution (`kiln catalog
///   resolve`), 404 for an unknown alias, 400 for a bad parameter, 409 when nothing fits;
/// - `GET`/`HEAD` of every file the catalog lists (variants, their provenance statements, manifests, the
///   exports) at its catalog-relative path, with `Range` (one range; 206, or 416 when unsatisfiable),
///   `ETag` (the SHA-256), `Content-Length`, `Accept-Ranges` and `If-None-Match`;
/// - `POST` (or `GET`) `/v1/foundry/index/entities` — Foundry Local's catalog response.
///
/// Only the files in the table built at start are ever served: a request path is percent-decoded and looked
/// up whole, so no request can name a path the catalog does not list (`..`, encoded dots, symbolic links out
/// of the folder — a listed file whose real path leaves the folder is refused at start).
public struct CatalogServer: Sendable {
    public struct ServedFile: Sendable {
        public let path: String
        public let size: Int
        public let eTag: String
        public let contentType: String
    }

    public let root: URL
    public let index: CatalogIndex
    public let catalogData: Data
    public let foundryData: Data
    public let files: [String: ServedFile]

    public init(catalog: URL) throws {
        let root = URL(fileURLWithPath: catalog.path).standardizedFileURL.resolvingSymlinksInPath()
        self.root = root
        let indexURL = root.appendingPathComponent("catalog.json")
        index = try CatalogIndex(contentsOf: indexURL)
        catalogData = try Data(contentsOf: indexURL)
        foundryData =
            (try? Data(contentsOf: root.appendingPathComponent("foundry-catalog.json")))
            ?? Data(Exporters.foundryCatalog(index).utf8)
        var table: [String: ServedFile] = [:]
        func add(_ relative: String, sha256: String?, type: String) throws {
            let url = root.appendingPathComponent(relative)
            let real = url.resolvingSymlinksInPath().standardizedFileURL.path
            guard real.hasPrefix(root.path + "/") else {
                throw CatalogError("\(url.path): leaves the catalog folder (refused)")
            }
            var st = stat()
            guard stat(real, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return }
            let tag = sha256 ?? String(format: "%llx-%llx", UInt64(st.st_size), UInt64(st.st_mtim.tv_sec))
            table["/" + relative] = ServedFile(path: real, size: Int(st.st_size), eTag: "\"\(tag)\"", contentType: type)
        }
        for m in index.models {
            try add(m.manifest, sha256: m.manifestSHA256, type: "application/json")
            try add("lmstudio/\(m.alias)/model.yaml", sha256: nil, type: "application/yaml")
            for v in m.variants where index.baseURL == nil {
                for f in v.files {
                    try add(f.path, sha256: f.sha256, type: "application/octet-stream")
                    let statement = (f.path as NSString).deletingLastPathComponent + "/" + v.provenance
                    try add(statement, sha256: nil, type: "application/json")
                }
                try add("ollama/\(m.alias)/\(v.name)/Modelfile", sha256: nil, type: "text/plain")
            }
        }
        for name in ["catalog.json", "llama-server.ini", "foundry-catalog.json"] {
            try add(name, sha256: nil, type: name.hasSuffix(".json") ? "application/json" : "text/plain")
        }
        files = table
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
    public func run(host: String, port: Int, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws
    {
        let router = Router()
        let server = self
        router.get("/v1/catalog") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(data: server.catalogData)))
        }
        router.get("/v1/models/:alias") { request, context in try server.resolve(request, context) }
        for method in [HTTPRequest.Method.get, .post] {
            router.on("/v1/foundry/index/entities", method: method) { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(data: server.foundryData)))
            }
        }
        for method in [HTTPRequest.Method.get, .head] {
            router.on("**", method: method) { request, context in try await server.file(request, context) }
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "kiln"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) })
        try await app.runService()
    }

    func resolve(_ request: Request, _ context: BasicRequestContext) throws -> Response {
        guard let alias = context.parameters.get("alias") else { throw HTTPError(.badRequest) }
        guard index.model(alias) != nil else { throw HTTPError(.notFound, message: "no alias \(alias)") }
        var r = Resolver.Request(alias: alias)
        let query = request.uri.queryParameters
        if let m = query["memory"] {
            guard let bytes = Resolver.parseBytes(String(m)) else {
                throw HTTPError(.badRequest, message: "memory: expected bytes or a size like 4GB")
            }
            r.memoryBudget = bytes
        }
        if let p = query["min_same_top_p"] {
            guard let v = Double(String(p)), (0...100).contains(v) else {
                throw HTTPError(.badRequest, message: "min_same_top_p: expected a percentage")
            }
            r.minSameTopP = v
        }
        if let c = query["context"] {
            guard let v = Int(String(c)), v > 0 else {
                throw HTTPError(.badRequest, message: "context: expected tokens")
            }
            r.contextLength = v
        }
        do {
            let resolution = try Resolver.resolve(index, r)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(data: try JSONOutput.prettyData(resolution))))
        } catch let e as CatalogError {
            throw HTTPError(.conflict, message: e.description)
        }
    }

    func file(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let raw = request.uri.path
        guard let path = raw.removingPercentEncoding, !path.contains("\0") else {
            throw HTTPError(.badRequest, message: "malformed path")
        }
        guard let file = files[path] else { throw HTTPError(.notFound) }
        var headers: HTTPFields = [
            .eTag: file.eTag, .acceptRanges: "bytes", .contentType: file.contentType,
            .contentLength: String(file.size)
        ]
        if request.headers[values: .ifNoneMatch].contains(file.eTag) {
            return Response(status: .notModified, headers: headers)
        }
        var range: ClosedRange<Int>? = nil
        if let header = request.headers[.range], request.headers[.ifRange].map({ $0 == file.eTag }) ?? true {
            guard let r = Self.range(header, size: file.size) else {
                return Response(
                    status: .rangeNotSatisfiable, headers: [.contentRange: "bytes */\(file.size)", .contentLength: "0"])
            }
            range = r
            headers[.contentRange] = "bytes \(r.lowerBound)-\(r.upperBound)/\(file.size)"
            headers[.contentLength] = String(r.count)
        }
        let status: HTTPResponse.Status = range == nil ? .ok : .partialContent
        if request.method == .head || file.size == 0 {
            return Response(status: status, headers: headers, body: .init())
        }
        let body = try await FileIO().loadFile(
            path: file.path, range: range ?? 0...(file.size - 1), context: context, chunkLength: 1 << 20)
        return Response(status: status, headers: headers, body: body)
    }

    /// One `bytes=` range (`a-b`, `a-`, `-n`), clamped to the file; nil when malformed or unsatisfiable.
    static func range(_ header: String, size: Int) -> ClosedRange<Int>? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let a = spec[..<dash], b = spec[spec.index(after: dash)...]
        if a.isEmpty {
            guard let n = Int(b), n > 0 else { return nil }
            return max(0, size - n)...(size - 1)
        }
        guard let start = Int(a), start >= 0, start < size else { return nil }
        if b.isEmpty { return start...(size - 1) }
        guard let end = Int(b), end >= start else { return nil }
        return start...min(end, size - 1)
    }
}
