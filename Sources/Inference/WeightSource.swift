import GGUF
import Quantization

/// Where a model's hyperparameters and weights come from, in GGUF terms (llama.cpp tensor names, GGML
/// dimension order, `{arch}.*` metadata): a GGUF file, or a Hugging Face checkpoint mapped in memory by the
/// Conversion module.
public protocol WeightSource: AnyObject, Sendable {
    /// A name for error messages (a path).
    var sourceName: String { get }
    var metadata: GGUFMetadata { get }
    /// Every tensor's name, type and dimensions.
    var tensorInfos: [GGUFTensorInfo] { get }
    /// The tensor named `name`, if present.
    func tensor(named name: String) -> GGUFTensorInfo?
    /// The encoded bytes of `tensor`, valid while the source is alive.
    func data(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer
}

extension GGUFFile: WeightSource {
    public var sourceName: String { url.path }
    public var tensorInfos: [GGUFTensorInfo] { tensors }
}

/// Tensors and metadata held in memory: a checkpoint decoded without writing a file, or a test model.
public final class InMemoryWeights: WeightSource, @unchecked Sendable {
    public let sourceName: String
    public private(set) var metadata: GGUFMetadata
    public private(set) var tensorInfos: [GGUFTensorInfo] = []
    private var index: [String: Int] = [:]
    private var storage: [UnsafeMutableRawBufferPointer] = []

    public init(name: String, metadata: GGUFMetadata) {
        sourceName = name
        self.metadata = metadata
    }

    deinit { for b in storage { b.deallocate() } }

    /// Adds a tensor of `type` with GGML `dimensions`, letting `fill` write its encoded bytes.
    public func add(
        name: String, type: GGMLType, dimensions: [Int],
        fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) rethrows {
        let info = GGUFTensorInfo(name: name, dimensions: dimensions, type: type)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, info.byteCount), alignment: 64)
        do { try fill(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<info.byteCount])) } catch {
            buffer.deallocate()
            throw error
        }
        index[name] = tensorInfos.count
        tensorInfos.append(info)
        storage.append(buffer)
    }

    /// Declares a tensor by name, type and shape only, with no data (`data(for:)` is empty): enough for
    /// ``ModelConfiguration``, not for loading a model.
    public func declare(name: String, type: GGMLType, dimensions: [Int]) {
        index[name] = tensorInfos.count
        tensorInfos.append(GGUFTensorInfo(name: name, dimensions: dimensions, type: type))
        storage.append(UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 64))
    }

    public func tensor(named name: String) -> GGUFTensorInfo? { index[name].map { tensorInfos[$0] } }

    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        guard let i = index[tensor.name] else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: storage[i][0..<min(storage[i].count, tensorInfos[i].byteCount)])
    }
}
