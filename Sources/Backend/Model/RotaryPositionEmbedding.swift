import Foundation

/// RoPE: rotates pairs of each head's dimensions by angles that grow with
/// the token's position, so that attention scores depend on relative
/// positions.
///
/// Pair `i` (of ``ModelConfiguration/ropeDimensionCount`` / 2) turns by
/// `position / scale · base^(−2i/d) / factor[i]`, where the optional factors
/// come from the model's `rope_freqs.weight` tensor (Llama 3.1's long-context
/// scaling) and `scale` is linear scaling's factor
/// (``ModelConfiguration/ropePositionScale``).
struct RotaryPositionEmbedding: Sendable {
    let layout: ModelConfiguration.RoPELayout
    let headDimension: Int
    /// One angle per pair and position step, in `Double` so that large
    /// positions keep their precision.
    let inverseFrequencies: [Double]

    init(configuration: ModelConfiguration, frequencyFactors: [Float]?) {
        layout = configuration.ropeLayout
        headDimension = configuration.headDimension
        let rotated = configuration.ropeDimensionCount
        let base = Double(configuration.ropeFrequencyBase)
        let scale = Double(configuration.ropePositionScale)
        inverseFrequencies = (0..<rotated / 2).map { pair in
            let frequency = pow(base, -Double(2 * pair) / Double(rotated))
            return frequency / Double(frequencyFactors?[pair] ?? 1) / scale
        }
    }

    /// The cosines and sines of every pair's angle at `position`.
    func angles(at position: Int) -> (cosines: [Float], sines: [Float]) {
        var cosines = [Float](repeating: 0, count: inverseFrequencies.count)
        var sines = cosines
        for (pair, frequency) in inverseFrequencies.enumerated() {
            let angle = Double(position) * frequency
            cosines[pair] = Float(cos(angle))
            sines[pair] = Float(sin(angle))
        }
        return (cosines, sines)
    }

    /// Rotates each of the `heads` consecutive heads in `vector`.
    func rotate(_ vector: UnsafeMutablePointer<Float>, heads: Int, cosines: [Float], sines: [Float]) {
        let pairs = inverseFrequencies.count
        // Interleaved pairs are (2i, 2i+1); NeoX pairs are (i, i + rotated/2).
        let secondOffset = layout == .interleaved ? 1 : pairs
        let stride = layout == .interleaved ? 2 : 1
        for head in 0..<heads {
            let base = vector + head * headDimension
            for pair in 0..<pairs {
                let first = base + pair * stride
                let second = first + secondOffset
                let a = first.pointee
                let b = second.pointee
                first.pointee = a * cosines[pair] - b * sines[pair]
                second.pointee = a * sines[pair] + b * cosines[pair]
            }
        }
    }
}
