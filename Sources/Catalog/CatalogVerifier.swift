import FileAccess
import Foundation

/// `kiln catalog verify`: every file hashed again against the catalog, every manifest read strictly (its kind,
/// schema version, types and required keys) and compared with its recorded digest and with the catalog's
/// entries. Returns every mismatch, one line each.
public enum CatalogVerifier {
    public static func verify(_ catalog: URL) -> [String] {
        let index: CatalogIndex
        do { index = try CatalogIndex(contentsOf: catalog.appendingPathComponent("catalog.json")) } catch {
            return ["\(error)"]
        }
        var problems: [String] = []
        for m in index.models {
            let manifestURL = catalog.appendingPathComponent(m.manifest)
            if let data = FileManager.default.contents(atPath: manifestURL.path) {
                let sha = SHA256Digest.hexDigest(Array(data))
                if sha != m.manifestSHA256 {
                    problems.append("\(manifestURL.path): SHA-256 \(sha), the catalog records \(m.manifestSHA256)")
                }
                do {
                    let manifest = try Manifest(contentsOf: manifestURL)
                    if manifest.alias != m.alias {
                        problems.append("\(manifestURL.path): alias \(manifest.alias), the catalog says \(m.alias)")
                    }
                    for v in m.variants {
                        guard let mv = manifest.variants.first(where: { $0.id == v.id }) else {
                            problems.append("\(manifestURL.path): no variant \(v.id)")
                            continue
                        }
                        if mv.sha256 != v.files[0].sha256 || mv.status != .published {
                            problems.append("\(manifestURL.path): variant \(v.id) differs from the catalog's entry")
                        }
                    }
                } catch {
                    problems.append("\(error)")
                }
            } else {
                problems.append("\(manifestURL.path): missing")
            }
            guard index.baseURL == nil else { continue }
            for v in m.variants {
                for f in v.files {
                    let url = catalog.appendingPathComponent(f.path)
                    guard let id = FileIdentity(path: url.path) else {
                        problems.append("\(url.path): missing (\(v.id))")
                        continue
                    }
                    if id.size != f.size {
                        problems.append("\(url.path): \(id.size) bytes, the catalog records \(f.size) (\(v.id))")
                        continue
                    }
                    do {
                        let sha = try SHA256Digest.hexDigest(file: url)
                        if sha != f.sha256 {
                            problems.append("\(url.path): SHA-256 \(sha), the catalog records \(f.sha256) (\(v.id))")
                        }
                    } catch {
                        problems.append("\(error)")
                    }
                }
            }
        }
        return problems
    }
}
