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
