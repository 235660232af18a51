import Foundation
import KilnTestSupport
import Quantization
import Testing

@testable import Inference

/// Every kernel route gives the portable route's bits, through the dispatch the forward pass uses. Routes are
/// forced per call, so one run on an AVX-512 VNNI machine checks all three; a machine without AVX-512 checks
/// the portable route alone (`KernelRoute.supported`).
@Suite("Kernel routes")
struct KernelRouteTests {
    /// Every type with a llama.cpp-order batch kernel, and two that take Kiln's own panel kernel.
    static let types: [GGMLType] = [.f32, .f16, .q8_0, .q5_0, .q4_0, .q4_K, .q6_K, .q3_K, .q5_K, .bf16]

    @Test("A batch product on every supported route equals the portable route bit for bit", arguments: types)
    func batchProducts(type: GGMLType) throws {
        // 40 rows: Q4_0 and Q4_K take the repacked kernels (rows % 8 == 0) with a partial 16-row panel; a placement
        // inside a 514-token micro-batch gives Q4_K leftover rows and Q6_K/Q3_K the tiled order.
        let rows = 40, columns = 512
        let (w, _) = try MatrixKernelTests.matrix(type, rows: rows, columns: columns)
        for tokens in [2, 3, 4, 7, 9, 16] {
            let x = (0..<(tokens * columns)).map { i in Float(sin(Double(i) * 0.37)) * 2 }
            var scratch = [Float](repeating: 0, count: tokens * columns)
            func product(_ route: KernelRoute, placement: GGMLOrder.Placement) -> [UInt32] {
                // NaN first: a route that skips the product leaves them (the bug this suite was written for).
                var out = [Float](repeating: .nan, count: tokens * rows)
                w.apply(
                    x, tokens: tokens, into: &out, scratch: &scratch, threads: 2, placement: placement, route: route)
                return out.map(\.bitPattern)
            }
            for placement in [GGMLOrder.Placement.alone, GGMLOrder.Placement(tokens: 514, first: 514 - tokens)] {
                let portable = product(.portable, placement: placement)
                #expect(!portable.contains(Float.nan.bitPattern), "\(type): portable route left outputs unwritten")
                for route in KernelRoute.supported where route != .portable {
                    let got = product(route, placement: placement)
                    #expect(got == portable, "\(type), \(tokens) tokens, \(route): \(differences(got, portable))")
                }
            }
        }
    }

    @Test(
        "One token (decoding) on every supported route equals the portable route bit for bit",
        arguments: MatrixKernelTests.types)
    func tokenProducts(type: GGMLType) throws {
        // 37 rows: a partial 16-row panel. Inputs: smooth values, spikes that saturate a naive int16 pair sum
        // on the AVX2 route, and an all-zero block.
        let rows = 37, columns = 512
        let (w, _) = try MatrixKernelTests.matrix(type, rows: rows, columns: columns)
        let inputs: [[Float]] = [
            (0..<columns).map { Float(sin(Double($0) * 0.37)) * 2 },
            (0..<columns).map { $0 % 2 == 0 ? 1000 : -999 },
            (0..<columns).map { $0 < 256 ? 0 : Float($0 % 7) - 3 }
        ]
        for (i, x) in inputs.enumerated() {
            var scratch = [Float](repeating: 0, count: columns)
            func product(_ route: KernelRoute) -> [UInt32] {
                var out = [Float](repeating: .nan, count: rows)
                w.apply(x, tokens: 1, into: &out, scratch: &scratch, threads: 2, route: route)
                return out.map(\.bitPattern)
            }
            let portable = product(.portable)
            #expect(!portable.contains(Float.nan.bitPattern), "\(type): portable route left outputs unwritten")
            for route in KernelRoute.supported where route != .portable {
                let got = product(route)
                #expect(got == portable, "\(type), input \(i), \(route): \(differences(got, portable))")
            }
        }
    }

    @Test(
        "Decoding token by token on every supported route gives the portable route's logits bit for bit",
        arguments: ["tiny-llama-q8_0.gguf", "tiny-qwen2-q8_0.gguf"])
    func decoding(file: String) throws {
        let model = try TransformerModel(url: ModelFiles.url(file), threads: 2)
        let vocabulary = model.configuration.vocabularySize
        try expectDecodingAgrees(model, tokens: (0..<12).map { Int32(($0 * 37 + 11) % vocabulary) }, label: file)
    }

    @Test(
        "A forward pass on every supported route gives the portable route's logits bit for bit",
        arguments: ["tiny-llama-f32.gguf", "tiny-llama-f16.gguf", "tiny-llama-q8_0.gguf", "tiny-qwen2-q8_0.gguf"])
    func forwardPass(file: String) throws {
        let model = try TransformerModel(url: ModelFiles.url(file), threads: 2)
        let vocabulary = model.configuration.vocabularySize
        let tokens: [Int32] = (0..<70).map { Int32(($0 * 37 + 11) % vocabulary) }
        try expectRoutesAgree(model, tokens: tokens, contextLength: 80, logitsFrom: 0, label: file)
    }

    @Test(
        "SmolLM2 Q4_K_M (Q4_K and Q6_K products) on every route equals the portable route, batched and decoding",
        .tags(.slow), .fullTier)
    func smolLM2() throws {
        let model = try TransformerModel(url: ModelFiles.url("Q4_K_M.gguf"), threads: 2)
        let tokens = Array(try ModelFiles.evalTokens().prefix(40))
        try expectRoutesAgree(model, tokens: tokens, contextLength: 64, logitsFrom: 30, label: "Q4_K_M")
        try expectDecodingAgrees(model, tokens: Array(tokens.prefix(12)), label: "Q4_K_M")
    }

    /// Evaluates a 4-token prompt, then the rest of `tokens` one at a time, on every supported route, and
    /// expects the portable route's logits for every decoded token bit for bit.
    func expectDecodingAgrees(_ model: TransformerModel, tokens: [Int32], label: String) throws {
        func logits(_ route: KernelRoute) throws -> [UInt32] {
            let session = InferenceSession(model: model, contextLength: tokens.count, threads: 2)
            session.route = route
            _ = try session.evaluate(Array(tokens.prefix(4)))
            var all: [UInt32] = []
            for token in tokens.dropFirst(4) { all += try session.evaluate([token]).map(\.bitPattern) }
            return all
        }
        let portable = try logits(.portable)
        for route in KernelRoute.supported where route != .portable {
            let got = try logits(route)
            #expect(got == portable, "\(label) decoding, \(route): \(differences(got, portable))")
        }
    }

    /// Evaluates `tokens` on every supported route and expects the portable route's logits bit for bit.
    func expectRoutesAgree(
        _ model: TransformerModel, tokens: [Int32], contextLength: Int, logitsFrom: Int,
        label: String
    ) throws {
        func logits(_ route: KernelRoute) throws -> [UInt32] {
            let session = InferenceSession(model: model, contextLength: contextLength, threads: 2)
            session.route = route
            return try session.evaluate(tokens, logitsFrom: logitsFrom).map(\.bitPattern)
        }
        let portable = try logits(.portable)
        for route in KernelRoute.supported where route != .portable {
            let got = try logits(route)
            #expect(got == portable, "\(label), \(route): \(differences(got, portable))")
        }
    }

    @Test("The best route is supported and the environment switches turn wide routes off")
    func best() {
        #expect(KernelRoute.supported.first == .portable)
        #expect(KernelRoute.supported.last == KernelRoute.best)
        let environment = ProcessInfo.processInfo.environment
        if environment["KILN_NO_AVX512"] != nil { #expect(KernelRoute.best <= .avx2) }
        if environment["KILN_NO_AVX2"] != nil { #expect(KernelRoute.best == .portable) }
        if environment["KILN_NO_VNNI"] != nil { #expect(KernelRoute.best != .avx512VNNI) }
    }
}

/// "N of M values differ, the first at index I" for two bit-pattern arrays (a whole array is too long to print).
private func differences(_ a: [UInt32], _ b: [UInt32]) -> String {
    guard a.count == b.count else { return "\(a.count) values instead of \(b.count)" }
    let differing = zip(a, b).enumerated().filter { $0.element.0 != $0.element.1 }
    guard let first = differing.first else { return "equal" }
    return "\(differing.count) of \(a.count) values differ, the first at index \(first.offset) "
        + "(\(Float(bitPattern: first.element.0)) instead of \(Float(bitPattern: first.element.1)))"
}
