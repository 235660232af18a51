import Quantization

/// llama.cpp's file types (`llama_ftype`, stored as `general.file_type`) that Kiln writes.
public enum LlamaFileType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case allF32 = 0, mostlyF16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 7, q5_0 = 8, q5_1 = 9
    case q2_K = 10, q3_K_S = 11, q3_K_M = 12, q3_K_L = 13, q4_K_S = 14, q4_K_M = 15, q5_K_S = 16, q5_K_M = 17
    case q6_K = 18, q2_K_S = 21, iq4_nl = 25, bf16 = 32, tq1_0 = 36, tq2_0 = 37

    /// The name llama-quantize prints and accepts (`Q4_K_M`).
    public var description: String {
        switch self {
        case .allF32: "F32"
        case .mostlyF16: "F16"
        case .bf16: "BF16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q5_0: "Q5_0"
        case .q5_1: "Q5_1"
        case .q8_0: "Q8_0"
        case .q2_K: "Q2_K"
        case .q2_K_S: "Q2_K_S"
        case .q3_K_S: "Q3_K_S"
        case .q3_K_M: "Q3_K_M"
        case .q3_K_L: "Q3_K_L"
        case .q4_K_S: "Q4_K_S"
        case .q4_K_M: "Q4_K_M"
        case .q5_K_S: "Q5_K_S"
        case .q5_K_M: "Q5_K_M"
        case .q6_K: "Q6_K"
        case .iq4_nl: "IQ4_NL"
        case .tq1_0: "TQ1_0"
        case .tq2_0: "TQ2_0"
        }
    }

    /// Parses a type as llama-quantize does: case-insensitive names, the aliases Q3_K, Q4_K and Q5_K (the
    /// `_M` mixtures), and numeric ftype ids.
    public init?(parsing text: String) {
        let upper = text.uppercased()
        let aliases = ["Q3_K": LlamaFileType.q3_K_M, "Q4_K": .q4_K_M, "Q5_K": .q5_K_M]
        if let a = aliases[upper] {
            self = a
        } else if let t = LlamaFileType.allCases.first(where: { $0.description == upper }) {
            self = t
        } else if let n = UInt32(text), let t = LlamaFileType(rawValue: n) {
            self = t
        } else {
            return nil
        }
    }

    /// Every accepted name, for error messages.
    public static var acceptedNames: [String] { allCases.map(\.description) + ["Q3_K", "Q4_K", "Q5_K"] }

    /// The type of tensors no rule changes (`llama_ftype_get_default_type`).
    public var defaultType: GGMLType {
        switch self {
        case .allF32: .f32
        case .mostlyF16: .f16
        case .bf16: .bf16
        case .q4_0: .q4_0
        case .q4_1: .q4_1
        case .q5_0: .q5_0
        case .q5_1: .q5_1
        case .q8_0: .q8_0
        case .q2_K, .q2_K_S: .q2_K
        case .q3_K_S, .q3_K_M, .q3_K_L: .q3_K
        case .q4_K_S, .q4_K_M: .q4_K
        case .q5_K_S, .q5_K_M: .q5_K
        case .q6_K: .q6_K
        case .iq4_nl: .iq4_nl
        case .tq1_0: .tq1_0
        case .tq2_0: .tq2_0
        }
    }
}
