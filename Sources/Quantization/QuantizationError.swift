/// Errors from the quantization entry points. Each carries what a user needs to find the bad data.
public enum QuantizationError: Error, Equatable, CustomStringConvertible {
    /// A row holds NaN or ±Inf; nothing is written for it. `row` and `column` are zero-based.
    case nonFiniteValue(row: Int, column: Int, value: Float)
    /// Kiln has no encoder for this type.
    case unsupportedType(GGMLType)
    /// The row length is not a multiple of the type's block size.
    case rowLengthNotMultipleOfBlock(columns: Int, type: GGMLType)
    /// A buffer is smaller than the shape requires.
    case bufferTooSmall(expected: Int, actual: Int)
    /// The importance matrix does not have one weight per column.
    case importanceLengthMismatch(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case let .nonFiniteValue(row, column, value):
            "row \(row) holds a non-finite value (\(value)) at column \(column)"
        case let .unsupportedType(type):
            "Kiln cannot encode \(type)"
        case let .rowLengthNotMultipleOfBlock(columns, type):
            "rows of \(columns) values are not a multiple of \(type)'s block size \(type.blockSize)"
        case let .bufferTooSmall(expected, actual):
            "buffer holds \(actual) bytes, \(expected) needed"
        case let .importanceLengthMismatch(expected, actual):
            "importance matrix has \(actual) weights, expected one per column (\(expected))"
        }
    }
}
