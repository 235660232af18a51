import Quantization

/// A tensor's entry in a GGUF file: name, dimensions (`ne`, innermost first), type and data offset.
public struct GGUFTensorInfo: Equatable, Sendable {
    public var name: String
    /// GGML order: `dimensions[0]` is the row length (the last dimension of the numpy/PyTorch shape).
    public var dimensions: [Int]
    public var type: GGMLType
    /// Offset of the data within the data section (a multiple of the alignment).
    public var offset: Int

    public init(name: String, dimensions: [Int], type: GGMLType, offset: Int = 0) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
    }

    public var elementCount: Int { dimensions.reduce(1, *) }
    public var byteCount: Int { type.byteCount(elements: elementCount) }
    /// Number of rows (all dimensions but the first).
    public var rowCount: Int { dimensions.dropFirst().reduce(1, *) }
    /// The shape in PyTorch order (outermost first).
    public var shape: [Int] { dimensions.reversed() }
}

/// Well-known GGUF constants.
public enum GGUF {
    public static let magic: [UInt8] = Array("GGUF".utf8)
    public static let version: UInt32 = 3
    public static let defaultAlignment = 32
    public static let maxNameLength = 63

    /// Rounds `offset` up to a multiple of `alignment`.
    @inlinable public static func pad(_ offset: Int, to alignment: Int) -> Int {
        (offset + alignment - 1) / alignment * alignment
    }
}
