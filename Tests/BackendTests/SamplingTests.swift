import Foundation
import Testing

@testable import Backend

@Suite("Sampling")
struct SamplingTests {
    /// Logits over ten tokens, token 0 most likely, each next one less.
    let logits: [Float] = (0..<10).map { -Float($0) * 0.5 }

    private func draws(_ parameters: SamplingParameters, count: Int = 300) -> [Int] {
        var sampler = Sampler(parameters)
        return (0..<count).map { _ in sampler.sample(logits).token }
    }

    @Test("the same seed gives the same tokens; another seed other tokens")
    func seedDeterminism() {
        var parameters = SamplingParameters()
        parameters.temperature = 1.5
        parameters.topK = 0; parameters.topP = 1; parameters.minP = 0
        parameters.seed = 42
        let first = draws(parameters)
        #expect(first == draws(parameters))
        #expect(Set(first).count > 3)
        parameters.seed = 43
        #expect(draws(parameters) != first)
    }

    @Test("temperature 0 is greedy")
    func greedy() {
        var logits = logits
        logits[7] = 3
        var sampler = Sampler(.greedy)
        let token = sampler.sample(logits)
        #expect(token.token == 7)
    }

    @Test("top-k, top-p and min-p restrict the tokens drawn")
    func truncation() {
        var parameters = SamplingParameters()
        parameters.temperature = 5  // flatten, so that every kept token shows up
        parameters.topK = 3; parameters.topP = 1; parameters.minP = 0
        #expect(Set(draws(parameters)) == [0, 1, 2])

        parameters.topK = 0; parameters.temperature = 1; parameters.topP = 0.7
        // Probabilities ∝ e^(−0.5 i): 0.39, 0.24, 0.14, … ; 0.39 + 0.24 + 0.14 ≥ 0.7.
        #expect(Set(Sampler(parameters).candidates(logits).map(\.token)) == [0, 1, 2])
        #expect(Set(draws(parameters)).isSubset(of: [0, 1, 2]))

        parameters.topP = 1; parameters.minP = 0.3
        // e^(−0.5 i) ≥ 0.3 for i ≤ 2 (e^−1 = 0.37, e^−1.5 = 0.22).
        #expect(Set(Sampler(parameters).candidates(logits).map(\.token)) == [0, 1, 2])
        let probabilities = Sampler(parameters).candidates(logits).map(\.probability)
        let total: Double = probabilities.reduce(0, +)
        #expect(abs(total - 1) < 1e-12)
    }

    @Test("penalties and logit bias change logits as specified")
    func penalties() {
        var parameters = SamplingParameters.greedy
        parameters.repetitionPenalty = 2
        parameters.presencePenalty = 0.25
        parameters.frequencyPenalty = 0.5
        parameters.logitBias = [9: 10, 1: -.infinity]
        var adjusted: [Float] = [1, 2, -1, 3, 0, 0, 0, 0, 0, 0]
        Sampler(parameters).adjust(&adjusted, history: [0, 2, 2, 5])
        let expected: [Float] = [
            1 / 2 - 0.5 - 0.25,  // positive: divided, then seen once
            -.infinity,  // banned by the bias
            -1 * 2 - 2 * 0.5 - 0.25,  // negative: multiplied, then seen twice
            3,  // not seen
            0, 0 - 0.5 - 0.25, 0, 0, 0,
            10,  // biased
        ]
        #expect(adjusted == expected)
        var sampler = Sampler(parameters)
        #expect(sampler.sample([1, 5, 0, 0, 0, 0, 0, 0, 0, 0]).token == 9)

        parameters.penaltyWindow = 1
        var windowed: [Float] = [1, 1, 1]
        Sampler(parameters).adjust(&windowed, history: [0, 1])
        #expect(windowed[0] == 1 && windowed[1] < 1)
    }

    @Test("log-probabilities of the chosen and top tokens")
    func logprobs() {
        var parameters = SamplingParameters.greedy
        parameters.topLogprobs = 3
        var sampler = Sampler(parameters)
        let token = sampler.sample([0, 2, 1, -1])
        let sum: Double = exp(0) + exp(2) + exp(1) + exp(-1)
        let normalizer: Double = log(sum)
        #expect(token.token == 1)
        let chosen: Double = 2 - normalizer
        #expect(abs(token.logprob - chosen) < 1e-6)
        #expect(token.topLogprobs.map(\.token) == [1, 2, 0])
        let third: Double = -normalizer
        #expect(abs(token.topLogprobs[2].logprob - third) < 1e-6)
    }

    @Test("stop sequences end the text and are never partly shown")
    func stopSequences() {
        var matcher = StopSequenceMatcher(["</end>", "STOP"])
        #expect(matcher.append("Hello <") == "Hello ")
        #expect(matcher.append("/e") == "")
        #expect(matcher.append("x") == "</ex")
        #expect(matcher.append(" ST") == " ")
        #expect(matcher.append("OP more") == "")
        #expect(matcher.stopped)
        #expect(matcher.append("after") == "")

        var unfinished = StopSequenceMatcher(["STOP"])
        #expect(unfinished.append("a ST") == "a ")
        #expect(unfinished.finish() == "ST")
        #expect(!unfinished.stopped)
    }

    @Test("top-k over a large vocabulary (heap selection) keeps the same tokens, in the same order, as a full sort")
    func topKOverALargeVocabularyMatchesAFullSort() {
        var generator = SeededRandomGenerator(seed: 11)
        // Coarse values so that many logits tie (ties go to the lower token id), some -infinity (banned).
        let large: [Float] = (0..<50_000).map { index in
            index % 97 == 0 ? -.infinity : Float(generator.next() % 400) / 16
        }
        for k in [1, 40, 500] {
            var parameters = SamplingParameters()
            parameters.temperature = 0.8
            parameters.topK = k; parameters.topP = 1; parameters.minP = 0
            let chosen = Sampler(parameters).candidates(large)
            let expected = large.indices.filter { large[$0] > -.infinity }
                .sorted { large[$0] > large[$1] || (large[$0] == large[$1] && $0 < $1) }
                .prefix(k)
            #expect(chosen.map(\.token) == Array(expected), "k = \(k)")
            #expect(abs(chosen.map(\.probability).reduce(0, +) - 1) < 1e-9)
        }
    }

    /// `log Σ exp` in `Double` with Foundation's `exp`, one term at a time:
    /// the independent reference for ``LogSumExp``.
    private static func referenceLogSumExp(_ logits: [Float]) -> Double {
        let maximum = Double(logits.max() ?? -.infinity)
        guard maximum > -.infinity else { return -.infinity }
        return maximum + log(logits.reduce(0.0) { $0 + exp(Double($1) - maximum) })
    }

    @Test("the vectorized log-sum-exp agrees with a Double computation on random and adversarial logits")
    func logSumExpMatchesDouble() {
        var generator = SeededRandomGenerator(seed: 5)
        func uniform() -> Float { Float(generator.next() >> 40) / Float(1 << 24) }
        var cases: [[Float]] = [
            [], [-.infinity, -.infinity], [3], [0, 0, 0, 0, 0, 0, 0, 0, 0], [-1e30, 0, 1e-30],
            (0..<37).map { $0 == 20 ? 5 : -.infinity },          // one finite logit among banned ones
            (0..<64).map { Float($0) * -3 },                      // terms down to e^-189: beneath Float's range
            (0..<1000).map { _ in 80 + uniform() },               // large logits: the shift must come first
            [Float](repeating: -50_000, count: 17),
        ]
        for length in [1, 7, 8, 9, 255, 256, 257, 4099, 151_936] {
            let spread = 5 + 60 * uniform()
            cases.append((0..<length).map { _ in (uniform() - 0.7) * spread })
        }
        for logits in cases {
            let expected = Self.referenceLogSumExp(logits)
            let actual = logits.withUnsafeBufferPointer(LogSumExp.of)
            if expected == -.infinity {
                #expect(actual == -.infinity, "\(logits.count) logits")
            } else {
                #expect(abs(actual - expected) <= 3e-7 * max(1, abs(expected)), "\(logits.count) logits: \(actual) vs \(expected)")
            }
        }
    }

    @Test("the vectorized exp is within a few ulps of Foundation's from −87.3 to 88, and 0 below")
    func vectorizedExpulps() {
        var generator = SeededRandomGenerator(seed: 9)
        for _ in 0..<20_000 {
            var lanes = SIMD8<Float>()
            for lane in 0..<8 { lanes[lane] = Float(generator.next() >> 40) / Float(1 << 24) * 175.3 - 87.3 }
            let result = LogSumExp.exp(lanes)
            for lane in 0..<8 {
                let expected = exp(Double(lanes[lane]))
                #expect(abs(Double(result[lane]) - expected) <= 4 * Double(Float(expected).ulp), "exp(\(lanes[lane]))")
            }
        }
        let below = LogSumExp.exp(SIMD8<Float>(-88, -100, -1e6, -.infinity, -87.8, -1e30, -200, -90))
        #expect(below == SIMD8<Float>(repeating: 0))
        #expect(LogSumExp.exp(SIMD8<Float>(repeating: 0)) == SIMD8<Float>(repeating: 1))
    }
}
