import Foundation

/// Writes safetensors files, for fixtures and tests: header JSON with keys in the given order, padded with
/// spaces to a multiple of 8 as Hugging Face's writer does, then the tensors' bytes back to back.
public enum SafetensorsWriter {
    public struct Tensor {
        public var name: String
        public var dtype: SafetensorsDType
        public var shape: [Int]
        public var bytes: [UInt8]
        public init(name: String, dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }
    }

    /// The file's bytes.
    public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) -> [UInt8] {
        var entries: [String] = []
        if !metadata.isEmpty {
            let m = metadata.sorted { $0.key < $1.key }.map { "\(quote($0.key)):\(quote($0.value))" }
            entries.append("\"__metadata__\":{\(m.joined(separator: ","))}")
        }
        var offset = 0
        for t in tensors {
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append(
                "\(quote(t.name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}"
            )
            offset += t.bytes.count
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out += $0 }
        out += header
        for t in tensors { out += t.bytes }
        return out
    }

    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to url: URL) throws {
        try Data(encode(tensors, metadata: metadata)).write(to: url)
    }

    static func quote(_ s: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [s], options: [.fragmentsAllowed])
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
