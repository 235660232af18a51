import Foundation

/// The safetensors weights of a Hugging Face checkpoint folder: one file, or shards named by
/// `model.safetensors.index.json`.
///
/// The part list follows the converter: the sorted set of files the index names, or, without an index,
/// every `model*.safetensors` sorted by name. The index is trusted only when every shard it names exists
/// and the names it maps equal the tensors the shards hold.
public final class SafetensorsCheckpoint: @unchecked Sendable {
    public let directory: URL
    /// Shards in the converter's order.
    public let files: [SafetensorsFile]
    private let location: [String: (file: Int, tensor: SafetensorsTensorInfo)]

    public init(directory: URL) throws(SafetensorsError) {
        self.directory = directory
        let fm = FileManager.default
        let indexURL = directory.appendingPathComponent("model.safetensors.index.json")
        var partNames: [String]
        var weightMap: [String: String]? = nil
        if fm.fileExists(atPath: indexURL.path) {
            let map = try Self.readIndex(indexURL)
            weightMap = map
            partNames = Array(Set(map.values)).sorted()
            for part in partNames where !fm.fileExists(atPath: directory.appendingPathComponent(part).path) {
                throw .missingShard(index: indexURL.path, shard: part)
            }
        } else {
            let names = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
            partNames = names.filter { $0.hasPrefix("model") && $0.hasSuffix(".safetensors") }.sorted()
        }
        guard !partNames.isEmpty else { throw .noWeights(directory: directory.path) }
        var files: [SafetensorsFile] = []
        var location: [String: (file: Int, tensor: SafetensorsTensorInfo)] = [:]
        for (i, part) in partNames.enumerated() {
            let f = try SafetensorsFile(url: directory.appendingPathComponent(part))
            for t in f.tensors {
                if let previous = location[t.name] {
                    throw .duplicateTensor(
                        tensor: t.name, firstFile: files[previous.file].url.lastPathComponent, secondFile: part)
                }
                location[t.name] = (i, t)
            }
            files.append(f)
        }
        if let weightMap {
            for (name, part) in weightMap.sorted(by: { $0.key < $1.key }) {
                guard let found = location[name] else {
                    throw .indexMismatch(
                        index: indexURL.path, tensor: name,
                        reason: "listed in weight_map for \(part) but not found in any shard")
                }
                let actual = files[found.file].url.lastPathComponent
                guard actual == part else {
                    throw .indexMismatch(
                        index: indexURL.path, tensor: name, reason: "weight_map says \(part) but it is in \(actual)")
                }
            }
            for name in location.keys.sorted() where weightMap[name] == nil {
                throw .indexMismatch(
                    index: indexURL.path, tensor: name, reason: "present in a shard but missing from weight_map")
            }
        }
        self.files = files
        self.location = location
    }

    private static func readIndex(_ url: URL) throws(SafetensorsError) -> [String: String] {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        } catch {
            throw .invalidIndex(path: url.path, reason: "not valid JSON: \(error.localizedDescription)")
        }
        guard let object = json as? [String: Any], let map = object["weight_map"] as? [String: Any] else {
            throw .invalidIndex(path: url.path, reason: "no weight_map object")
        }
        var out: [String: String] = [:]
        for (k, v) in map {
            guard let s = v as? String else {
                throw .invalidIndex(path: url.path, reason: "weight_map[\(k)] is not a file name")
            }
            guard !s.contains("/"), !s.hasPrefix(".") else {
                throw .invalidIndex(
                    path: url.path, reason: "weight_map[\(k)] names \(s), which is not a file in the folder")
            }
            out[k] = s
        }
        return out
    }

    /// Every tensor in the converter's visiting order: shards in order, names sorted within each shard.
    public var orderedTensors: [(file: SafetensorsFile, tensor: SafetensorsTensorInfo)] {
        files.flatMap { f in f.tensors.map { (f, $0) } }
    }

    /// The tensor named `name` and the file holding it.
    public func tensor(named name: String) -> (file: SafetensorsFile, tensor: SafetensorsTensorInfo)? {
        location[name].map { (files[$0.file], $0.tensor) }
    }

    public var tensorNames: Set<String> { Set(location.keys) }
}
