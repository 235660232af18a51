import AVX2Kernels
import Foundation
import VNNIKernels
import WideKernels

/// Which CPU-specific kernels a matrix product may use.
///
/// Every route computes the same bits: the integer parts of the quantized products are exact in any order and
/// the float steps follow ggml's order on all of them, so a route only changes speed. The route is decided once
/// per process (``best``) and passed down to every product, so tests can force any route the machine supports
/// per call and compare it with the portable one through the same dispatch the product uses.
public enum KernelRoute: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
    /// Portable SIMD (AVX2 + FMA on x86-64 as compiled, NEON on arm64).
    case portable
    /// Portable SIMD plus AVX2 integer dot products (`AVX2Kernels`, x86-64).
    case avx2
    /// AVX-512 float tiles (`WideKernels`).
    case avx512
    /// AVX-512 float tiles plus VNNI integer dot products (`VNNIKernels`).
    case avx512VNNI

    /// The fastest route this CPU and OS support, after `KILN_NO_AVX512` / `KILN_NO_VNNI` / `KILN_NO_AVX2` in
    /// the environment (each turns off its route and the ones above it).
    public static let best: KernelRoute = {
        if !AVX2Kernels.available || ProcessInfo.processInfo.environment["KILN_NO_AVX2"] != nil { return .portable }
        if VNNIKernels.available { return .avx512VNNI }
        if WideKernels.available { return .avx512 }
        return .avx2
    }()

    /// Every route this machine can run, portable first.
    public static var supported: [KernelRoute] { allCases.filter { $0 <= best } }

    /// Whether products may use the AVX2 integer kernels (every route above portable on x86-64).
    var usesAVX2Integers: Bool { self >= .avx2 && AVX2Kernels.available }
    /// Whether products may use the AVX-512 float tiles.
    var usesWideTiles: Bool { self >= .avx512 }
    /// Whether products may use the VNNI integer tiles.
    var usesVNNI: Bool { self == .avx512VNNI }

    public static func < (a: KernelRoute, b: KernelRoute) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "AVX2"
        case .avx512: "AVX-512"
        case .avx512VNNI: "AVX-512 VNNI"
        }
    }
}
