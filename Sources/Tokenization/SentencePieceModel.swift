import Foundation

/// The parts of a SentencePiece `ModelProto` (`sentencepiece_model.proto`) that conversion needs, read by a
/// small hand-written protobuf decoder. Unknown fields are skipped, as protobuf requires.
public struct SentencePieceModel: Equatable, Sendable {
    /// `SentencePiece.Type` (`sentencepiece_model.proto`); the numbering matches `TokenType`.
    public enum PieceType: Int32, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, byte = 6, unused = 5
    }

    public struct Piece: Equatable, Sendable {
        public var piece: String
        public var score: Float
        /// Protobuf default NORMAL when the field is absent. Values outside the enum are kept as read.
        public var rawType: Int32

        public var type: PieceType? { PieceType(rawValue: rawType) }
    }

    /// `TrainerSpec.ModelType`: 1 unigram, 2 bpe, 3 word, 4 char (protobuf default unigram).
    public var modelType: Int32 = 1
    /// `TrainerSpec.byte_fallback`.
    public var byteFallback = false
    /// `NormalizerSpec.add_dummy_prefix` (protobuf default true).
    public var addDummyPrefix = true
    /// `NormalizerSpec.remove_extra_whitespaces` (protobuf default true).
    public var removeExtraWhitespaces = true
    /// `NormalizerSpec.name`, e.g. "nmt_nfkc" or "identity".
    public var normalizerName: String?
    public var pieces: [Piece] = []

    /// Decodes `data`. `path` is only used in errors.
    public init(data: Data, path: String) throws(TokenizationError) {
        var reader = ProtobufReader(bytes: [UInt8](data), path: path)
        while let (field, wire) = try reader.nextTag() {
            switch (field, wire) {
            case (1, 2):
                var sub = try reader.subMessage()
                var piece = Piece(piece: "", score: 0, rawType: 1)
                while let (f, w) = try sub.nextTag() {
                    switch (f, w) {
                    case (1, 2): piece.piece = try sub.string()
                    case (2, 5): piece.score = Float(bitPattern: try sub.fixed32())
                    case (3, 0): piece.rawType = Int32(truncatingIfNeeded: try sub.varint())
                    default: try sub.skip(wire: w)
                    }
                }
                pieces.append(piece)
            case (2, 2):
                var sub = try reader.subMessage()
                while let (f, w) = try sub.nextTag() {
                    switch (f, w) {
                    case (3, 0): modelType = Int32(truncatingIfNeeded: try sub.varint())
                    case (35, 0): byteFallback = try sub.varint() != 0
                    default: try sub.skip(wire: w)
                    }
                }
            case (3, 2):
                var sub = try reader.subMessage()
                while let (f, w) = try sub.nextTag() {
                    switch (f, w) {
                    case (1, 2): normalizerName = try sub.string()
                    case (3, 0): addDummyPrefix = try sub.varint() != 0
                    case (4, 0): removeExtraWhitespaces = try sub.varint() != 0
                    default: try sub.skip(wire: w)
                    }
                }
            default:
                try reader.skip(wire: wire)
            }
        }
        // SentencePieceProcessor refuses a model without pieces; so do we.
        guard !pieces.isEmpty else {
            throw .corruptSentencePieceModel(path: path, offset: 0, reason: "no pieces (field 1)")
        }
    }
}

/// Protobuf wire-format reader over a byte slice. Every read checks bounds and throws
/// `corruptSentencePieceModel` with the offending offset.
struct ProtobufReader {
    private let bytes: [UInt8]
    private let path: String
    private var index: Int
    private let end: Int

    init(bytes: [UInt8], path: String) {
        self.init(bytes: bytes, path: path, range: 0..<bytes.count)
    }

    private init(bytes: [UInt8], path: String, range: Range<Int>) {
        self.bytes = bytes
        self.path = path
        self.index = range.lowerBound
        self.end = range.upperBound
    }

    private func corrupt(_ reason: String) -> TokenizationError {
        .corruptSentencePieceModel(path: path, offset: index, reason: reason)
    }

    mutating func varint() throws(TokenizationError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < end else { throw corrupt("truncated varint") }
            let byte = bytes[index]
            index += 1
            guard shift < 64 else { throw corrupt("varint longer than 10 bytes") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// The next (field number, wire type), or nil at the end of the message.
    mutating func nextTag() throws(TokenizationError) -> (Int, Int)? {
        guard index < end else { return nil }
        let tag = try varint()
        let field = tag >> 3
        guard field > 0, field < 1 << 29 else { throw corrupt("invalid field number \(field)") }
        return (Int(field), Int(tag & 7))
    }

    mutating func fixed32() throws(TokenizationError) -> UInt32 {
        guard end - index >= 4 else { throw corrupt("truncated 32-bit field") }
        let value =
            UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16
            | UInt32(bytes[index + 3]) << 24
        index += 4
        return value
    }

    private mutating func lengthDelimited() throws(TokenizationError) -> Range<Int> {
        let length = try varint()
        guard length <= UInt64(end - index) else { throw corrupt("length \(length) runs past the end") }
        let range = index..<(index + Int(length))
        index = range.upperBound
        return range
    }

    mutating func subMessage() throws(TokenizationError) -> ProtobufReader {
        let range = try lengthDelimited()
        return ProtobufReader(bytes: bytes, path: path, range: range)
    }

    mutating func string() throws(TokenizationError) -> String {
        let start = index
        let range = try lengthDelimited()
        guard let s = String(validating: bytes[range], as: UTF8.self) else {
            index = start
            throw corrupt("string is not valid UTF-8")
        }
        return s
    }

    mutating func skip(wire: Int) throws(TokenizationError) {
        switch wire {
        case 0: _ = try varint()
        case 1:
            guard end - index >= 8 else { throw corrupt("truncated 64-bit field") }
            index += 8
        case 2: _ = try lengthDelimited()
        case 5: _ = try fixed32()
        default: throw corrupt("unsupported wire type \(wire)")
        }
    }
}
