import Foundation

/// RoPE: rotates pairs of each head's dimensions by angles that grow with
/// the token's position, so that attention scores depend on relative
/// positions.
///
/// Pair `i` of `d` rotated dimensions turns by `position · ω_i`, where
/// ``inverseFrequency(pair:rotatedDimensions:base:scaling:factor:)`` gives
/// `ω_i` from `base^(−2i/d)`, a per-pair factor (Llama 3.1's
/// `rope_freqs.weight`, LongRoPE's long or short factors) and the model's
/// ``RoPEScaling``; the rotated vectors are multiplied by the scaling's
/// magnitude.
struct RotaryPositionEmbedding: Sendable {
    /// The cosines and sines (times the magnitude) of every pair's angle at
    /// one position, and what that position's queries are multiplied by.
    struct Angles {
        let cosines: [Float]
        let sines: [Float]
        let queryScale: Float
    }

    let layout: ModelConfiguration.RoPELayout
    let headDimension: Int
    /// One angle per pair and position step, in `Double` so that large
    /// positions keep their precision.
    let inverseFrequencies: [Double]
    let scaling: RoPEScaling

    /// RoPE over the first `rotatedDimensions` of heads of `headDimension`,
    /// with base `base` (a model may use another base in some layers),
    /// `scaling`, and optional per-pair `frequencyFactors`.
    init(
        layout: ModelConfiguration.RoPELayout, headDimension: Int, rotatedDimensions: Int,
        base: Float, scaling: RoPEScaling, frequencyFactors: [Float]?
    ) {
        self.layout = layout
        self.headDimension = headDimension
        self.scaling = scaling
        inverseFrequencies = (0..<rotatedDimensions / 2).map { pair in
            Self.inverseFrequency(
                pair: pair, rotatedDimensions: rotatedDimensions, base: Double(base), scaling: scaling,
                factor: Double(frequencyFactors?[pair] ?? 1))
        }
    }

    /// RoPE as `configuration` describes it for every layer.
    init(configuration c: ModelConfiguration, frequencyFactors: [Float]?) {
        self.init(
            layout: c.ropeLayout, headDimension: c.headDimension, rotatedDimensions: c.ropeDimensionCount,
            base: c.ropeFrequencyBase, scaling: c.ropeScaling, frequencyFactors: frequencyFactors)
    }

    /// The angle pair `pair` turns by per position: `base^(−2·pair/d) / factor`
    /// (extrapolated: the frequency trained on), divided by the scaling's
    /// factor for linear scaling (interpolated), and for YaRN mixed between
    /// the two by the ramp: 1 (extrapolated) before its start, 0
    /// (interpolated) from its end, linear in between.
    static func inverseFrequency(pair: Int, rotatedDimensions: Int, base: Double, scaling: RoPEScaling, factor: Double) -> Double {
        let extrapolated = Foundation.pow(base, -Double(2 * pair) / Double(rotatedDimensions)) / factor
        let interpolated = extrapolated / scaling.factor
        guard let yarn = scaling.yarn else { return interpolated }
        let progress = (Double(pair) - yarn.rampStart) / max(0.001, yarn.rampEnd - yarn.rampStart)
        let extrapolation = 1 - min(1, max(0, progress))
        return interpolated * (1 - extrapolation) + extrapolated * extrapolation
    }

    /// The angles of every pair at `position`.
    func angles(at position: Int) -> Angles {
        let magnitude = scaling.magnitude
        var cosines = [Float](repeating: 0, count: inverseFrequencies.count)
        var sines = cosines
        for (pair, frequency) in inverseFrequencies.enumerated() {
            let angle = Double(position) * frequency
            cosines[pair] = Float(Foundation.cos(angle) * magnitude)
            sines[pair] = Float(Foundation.sin(angle) * magnitude)
        }
        return Angles(cosines: cosines, sines: sines, queryScale: scaling.queryScale(at: position))
    }

    /// Rotates each of the `heads` consecutive heads in `vector` by `angles`,
    /// then multiplies every head by `scale` (queries' temperature).
    func rotate(_ vector: UnsafeMutablePointer<Float>, heads: Int, angles: Angles, scale: Float = 1) {
        let pairs = inverseFrequencies.count
        let cosines = angles.cosines
        let sines = angles.sines
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
            if scale != 1 {
                for index in 0..<headDimension { base[index] *= scale }
            }
        }
    }
}
