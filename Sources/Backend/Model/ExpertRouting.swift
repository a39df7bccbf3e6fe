import Foundation

/// Which experts one token runs and with what weights: the decision a
/// mixture-of-experts block makes from its router's scores.
struct ExpertRouting: Equatable {
    /// The chosen experts, most probable first.
    let experts: [Int]
    /// Each chosen expert's weight on its output, in the same order.
    let weights: [Float]

    /// Routes one token as llama.cpp's `build_moe_ffn` does with softmax
    /// gating: softmax over all `scores`, the `configuration.usedCount` most
    /// probable experts (the lower index first among equals), their
    /// probabilities divided by their sum when the configuration normalizes
    /// them (the sum clamped below at F16's smallest normal number, as
    /// llama.cpp clamps it), then multiplied by its scale.
    init(scores: UnsafePointer<Float>, configuration: ExpertConfiguration) {
        let count = configuration.count
        var maximum = -Float.infinity
        for expert in 0..<count { maximum = max(maximum, scores[expert]) }
        var probabilities = [Float](repeating: 0, count: count)
        var sum: Float = 0
        for expert in 0..<count {
            probabilities[expert] = exp(scores[expert] - maximum)
            sum += probabilities[expert]
        }
        for expert in 0..<count { probabilities[expert] /= sum }
        let chosen = (0..<count)
            .sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
            .prefix(configuration.usedCount)
        var weights = chosen.map { probabilities[$0] }
        if configuration.normalizesWeights {
            let total = max(weights.reduce(0, +), 6.103515625e-5)
            weights = weights.map { $0 / total }
        }
        if configuration.weightsScale != 1 {
            weights = weights.map { $0 * configuration.weightsScale }
        }
        experts = Array(chosen)
        self.weights = weights
    }
}
