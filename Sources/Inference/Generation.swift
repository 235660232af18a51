import Foundation

/// Greedy decoding with timing.
public struct GenerationResult: Sendable {
    public var tokens: [Int32]
    public var promptTokens: Int
    public var promptSeconds: Double
    public var generationSeconds: Double
    public var promptTokensPerSecond: Double { Double(promptTokens) / promptSeconds }
    /// Decode speed over the tokens decoded one at a time (the first generated token comes from the prompt pass).
    public var generationTokensPerSecond: Double { Double(max(0, tokens.count - 1)) / generationSeconds }

    public init(tokens: [Int32], promptTokens: Int, promptSeconds: Double, generationSeconds: Double) {
        self.tokens = tokens
        self.promptTokens = promptTokens
        self.promptSeconds = promptSeconds
        self.generationSeconds = generationSeconds
    }
}

public enum Generator {
    /// Evaluates `prompt` in one batch, then decodes greedily one token at a time until `maxTokens` or a stop token.
    public static func greedy(
        session: InferenceSession, prompt: [Int32], maxTokens: Int, stopTokens: Set<Int32> = [],
        onToken: ((Int32) -> Void)? = nil
    ) throws(InferenceError) -> GenerationResult {
        session.reset()
        let vocab = session.model.configuration.vocabularySize
        func argmax(_ l: [Float]) -> Int32 {
            var best = 0
            for i in 1..<vocab where l[i] > l[best] { best = i }
            return Int32(best)
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        var logits = try session.evaluate(prompt)
        let t1 = DispatchTime.now().uptimeNanoseconds
        var out: [Int32] = []
        while out.count < maxTokens {
            let next = argmax(logits)
            out.append(next)
            onToken?(next)
            if stopTokens.contains(next) || out.count == maxTokens || session.position >= session.contextLength {
                break
            }
            logits = try session.evaluate([next])
        }
        let t2 = DispatchTime.now().uptimeNanoseconds
        return GenerationResult(
            tokens: out, promptTokens: prompt.count, promptSeconds: Double(t1 - t0) / 1e9,
            generationSeconds: Double(t2 - t1) / 1e9)
    }
}
