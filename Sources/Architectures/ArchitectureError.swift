/// Errors about a checkpoint's model description: its config and its tensors' names and shapes.
public enum ArchitectureError: Error, Equatable, CustomStringConvertible {
    case missingConfig(path: String)
    case invalidConfig(path: String, key: String, reason: String)
    case missingConfigKey(path: String, keys: [String])
    case unsupportedArchitecture(path: String, found: [String])
    case unmappedTensor(name: String, architecture: String)
    case missingTensor(name: String, expectedIn: String)
    case unexpectedShape(tensor: String, expected: String, actual: [Int])

    public var description: String {
        switch self {
        case let .missingConfig(path): "\(path): missing (every checkpoint needs config.json)"
        case let .invalidConfig(path, key, reason): "\(path): \(key): \(reason)"
        case let .missingConfigKey(path, keys):
            "\(path): missing \(keys.count == 1 ? "key \(keys[0])" : "all of the keys \(keys.joined(separator: ", "))")"
        case let .unsupportedArchitecture(path, found):
            "\(path): unsupported architecture \(found.isEmpty ? "(none given)" : found.joined(separator: ", ")); Kiln converts \(ModelFamily.supportedHFArchitectures.joined(separator: ", "))"
        case let .unmappedTensor(name, arch): "tensor \(name) has no GGUF name for architecture \(arch)"
        case let .missingTensor(name, expectedIn): "tensor \(name) is missing from \(expectedIn)"
        case let .unexpectedShape(tensor, expected, actual):
            "tensor \(tensor) has shape \(actual), expected \(expected)"
        }
    }
}
