// swift-tools-version: 6.1
import PackageDescription

/// Kernel modules are compiled optimized for the project's machine level even in debug and test builds:
/// unoptimized kernels are hundreds of times slower, and without a CPU level Swift emits library calls
/// for rounding and Float16 conversion (see PERFORMANCE.md). The x86-64 CPU levels apply only when building
/// on x86-64 (this manifest is compiled for the host); elsewhere (arm64) the modules get `-O` and the
/// x86-only kernels compile to stubs that are never called.
#if arch(x86_64)
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-O", "-target-cpu", "haswell"])]
let wideFlags: [SwiftSetting] = [.unsafeFlags(["-O", "-target-cpu", "skylake-avx512"])]
let vnniFlags: [SwiftSetting] = [.unsafeFlags(["-O", "-parse-stdlib", "-target-cpu", "cascadelake"])]
let avx2Flags: [SwiftSetting] = [.unsafeFlags(["-O", "-parse-stdlib", "-target-cpu", "haswell"])]
#else
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-O"])]
let wideFlags = kernelFlags
let vnniFlags: [SwiftSetting] = [.unsafeFlags(["-O", "-parse-stdlib"])]
let avx2Flags = vnniFlags
#endif

let package = Package(
    name: "Kiln",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kiln", targets: ["kiln"]),
        .executable(name: "kiln-bench", targets: ["kiln-bench"]),
        .library(name: "KilnConversion", targets: ["Conversion"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1")
    ],
    targets: [
        // Digests of multi-gigabyte files are computed here: optimized even in debug builds, like the kernels.
        .target(name: "FileAccess", swiftSettings: [.unsafeFlags(["-O"])]),
        // Python-faithful JSON (key order, ints apart from floats, `json.dumps` output), shared by every stage.
        .target(name: "JSON"),
        // The Jinja engine chat templates need, rendering as `transformers` does.
        .target(name: "ChatTemplates", dependencies: ["JSON"]),
        .target(name: "Quantization", swiftSettings: kernelFlags),
        .target(name: "GGUF", dependencies: ["FileAccess", "JSON", "Quantization"]),
        .target(name: "Safetensors", dependencies: ["FileAccess"]),
        .target(name: "Tokenization", dependencies: ["FileAccess", "JSON"]),
        .target(name: "Architectures", dependencies: ["GGUF", "JSON", "Safetensors"]),
        // AVX-512 tiles, used only after a run-time CPU check (the rest stays AVX2 + FMA).
        .target(name: "WideKernels", swiftSettings: wideFlags),
        // AVX-512 VNNI tiles, also behind a run-time check; `-parse-stdlib` gives them `vpdpbusd` (see the module).
        .target(name: "VNNIKernels", swiftSettings: vnniFlags),
        // AVX2 integer dot products (`vpmaddubsw`/`vpmaddwd`) through `Builtin`, like VNNIKernels; AVX2 is the baseline.
        .target(name: "AVX2Kernels", swiftSettings: avx2Flags),
        .target(
            name: "Inference",
            dependencies: ["AVX2Kernels", "FileAccess", "GGUF", "Quantization", "VNNIKernels", "WideKernels"],
            swiftSettings: kernelFlags),
        .target(
            name: "Conversion",
            dependencies: [
                "Architectures", "ChatTemplates", "FileAccess", "GGUF", "Quantization", "Safetensors", "Tokenization",
                .product(name: "Yams", package: "Yams")
            ],
            swiftSettings: kernelFlags
        ),
        // The reference (GGUF or checkpoint folder), llama-perplexity's statistics, the logits cache, gates, and
        // chat sessions through the model's template (generation checks).
        .target(
            name: "Verification",
            dependencies: ["ChatTemplates", "Conversion", "FileAccess", "GGUF", "Inference", "JSON", "Tokenization"],
            swiftSettings: kernelFlags),
        // The manifest a build writes and a catalog reads; no inference code.
        .target(name: "Catalog", dependencies: ["FileAccess", "JSON"]),
        // `kiln catalog serve`: the catalog over HTTP (Hummingbird), read-only.
        .target(
            name: "CatalogServer",
            dependencies: ["Catalog", "JSON", .product(name: "Hummingbird", package: "hummingbird")]),
        // Recipes, the stage graph of `kiln build`, incremental records, the manifest writer.
        .target(
            name: "Pipeline",
            dependencies: [
                "Architectures", "Catalog", "ChatTemplates", "Conversion", "FileAccess", "GGUF", "Inference", "JSON",
                "Quantization", "Tokenization", "Verification", .product(name: "Yams", package: "Yams")
            ]),
        .executableTarget(
            name: "kiln",
            dependencies: [
                "Architectures", "Catalog", "CatalogServer", "FileAccess", "Pipeline", "ChatTemplates", "Conversion",
                "GGUF",
                "Inference", "JSON",
                "Quantization",
                "Tokenization", "Verification",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ]
        ),
        // Every reader of untrusted files driven with arbitrary bytes (the `kiln-fuzz` fuzzer and replayer).
        .target(
            name: "FuzzTargets",
            dependencies: [
                "Catalog", "ChatTemplates", "Conversion", "GGUF", "JSON", "Pipeline", "Quantization", "Safetensors",
                "Tokenization", "Verification"
            ]),
        .executableTarget(name: "kiln-fuzz", dependencies: ["FuzzTargets"]),
        .executableTarget(
            name: "kiln-bench",
            dependencies: [
                "Architectures", "ChatTemplates", "Conversion", "GGUF", "Inference", "JSON", "Quantization",
                "Pipeline", "Safetensors", "Tokenization", "Verification",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            swiftSettings: kernelFlags
        ),
        // One support target for every test target: the environment `scripts/test` prepares, running commands,
        // temporary folders, model files built on first use.
        .target(
            name: "KilnTestSupport", dependencies: ["Architectures", "Conversion", "FileAccess", "Inference"],
            path: "Tests/KilnTestSupport"),
        .testTarget(
            name: "QuantizationTests", dependencies: ["KilnTestSupport", "Quantization"], swiftSettings: kernelFlags),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "KilnTestSupport"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "KilnTestSupport"]),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets", "KilnTestSupport"]),
        .testTarget(
            name: "ChatTemplatesTests", dependencies: ["ChatTemplates", "JSON", "KilnTestSupport"],
            exclude: ["Resources"]),
        .testTarget(
            name: "InferenceTests",
            dependencies: [
                "AVX2Kernels", "Architectures", "Conversion", "FileAccess", "GGUF", "Inference", "KilnTestSupport",
                "VNNIKernels", "WideKernels"
            ],
            exclude: ["Data"], swiftSettings: kernelFlags),
        .testTarget(
            name: "VerificationTests",
            dependencies: ["Conversion", "FileAccess", "GGUF", "Inference", "JSON", "KilnTestSupport", "Verification"],
            swiftSettings: kernelFlags),
        .testTarget(
            name: "CatalogTests",
            dependencies: [
                "Catalog", "FileAccess", "JSON", "KilnTestSupport", .product(name: "Yams", package: "Yams")
            ]),
        .testTarget(
            name: "PipelineTests",
            dependencies: ["Catalog", "Conversion", "FileAccess", "JSON", "KilnTestSupport", "Pipeline"]),
        .testTarget(name: "ArchitecturesTests", dependencies: ["Architectures", "KilnTestSupport", "Quantization"]),
        .testTarget(name: "SafetensorsTests", dependencies: ["KilnTestSupport", "Safetensors"]),
        .testTarget(
            name: "TokenizationTests", dependencies: ["FileAccess", "JSON", "KilnTestSupport", "Tokenization"],
            exclude: ["Resources"]),
        .testTarget(
            name: "ConversionTests",
            dependencies: [
                "Conversion", "FileAccess", "GGUF", "JSON", "KilnTestSupport", "Quantization", "Safetensors",
                "Tokenization"
            ],
            exclude: ["Resources"]
        )
    ]
)
