import Foundation

/// The element-wise steps of a transformer block, on `Float` vectors.
enum VectorOperations {
    /// `output = input / sqrt(mean(input²) + epsilon) · weight`.
    static func rmsNorm(
        _ input: UnsafePointer<Float>, weight: [Float], epsilon: Float, into output: UnsafeMutablePointer<Float>
    ) {
        let count = weight.count
        var sumOfSquares: Float = 0
        for index in 0..<count {
            sumOfSquares += input[index] * input[index]
        }
        let scale = 1 / (sumOfSquares / Float(count) + epsilon).squareRoot()
        for index in 0..<count {
            output[index] = input[index] * scale * weight[index]
        }
    }

    /// `vector += addend`.
    static func add(_ addend: UnsafePointer<Float>, to vector: UnsafeMutablePointer<Float>, count: Int) {
        for index in 0..<count {
            vector[index] += addend[index]
        }
    }

    /// `vector += scale · addend`.
    static func add(_ addend: UnsafePointer<Float>, scaledBy scale: Float, to vector: UnsafeMutablePointer<Float>, count: Int) {
        for index in 0..<count {
            vector[index] += scale * addend[index]
        }
    }

    /// RMSNorm of each of `heads` consecutive heads of `weight.count` floats, in place.
    static func rmsNormHeads(_ vector: UnsafeMutablePointer<Float>, heads: Int, weight: [Float], epsilon: Float) {
        for head in 0..<heads {
            let start = vector + head * weight.count
            rmsNorm(start, weight: weight, epsilon: epsilon, into: start)
        }
    }

    /// `vector += bias` for each of `rows` rows of `bias.count` elements.
    static func addBias(_ bias: [Float], to vector: UnsafeMutablePointer<Float>, rows: Int) {
        for row in 0..<rows {
            let start = vector + row * bias.count
            for index in 0..<bias.count {
                start[index] += bias[index]
            }
        }
    }

    /// SwiGLU: `gate = silu(gate) · up`, where `silu(g) = g / (1 + e^−g)`.
    static func swiGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for index in 0..<count {
            gate[index] = swiGLU(gate[index], up[index])
        }
    }

    /// SwiGLU of one gate and up value: `silu(gate) · up`.
    @inline(__always)
    static func swiGLU(_ gate: Float, _ up: Float) -> Float {
        gate / (1 + exp(-gate)) * up
    }

    /// GeGLU of one gate and up value: `gelu(gate) · up`, GELU in its tanh
    /// approximation `½g(1 + tanh(√(2/π)(g + 0.044715g³)))`.
    @inline(__always)
    static func geGLU(_ gate: Float, _ up: Float) -> Float {
        let inner = 0.797_884_56 * (gate + 0.044_715 * gate * gate * gate)
        return 0.5 * gate * (1 + tanh(inner)) * up
    }

    /// `gate = activation(gate) · up`, element by element.
    static func gated(_ activation: FeedForwardActivation, gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        switch activation {
        case .silu: swiGLU(gate: gate, up: up, count: count)
        case .geluTanh: for index in 0..<count { gate[index] = geGLU(gate[index], up[index]) }
        }
    }

    /// `c · tanh(x / c)` for each of `count` values: Gemma's soft-capping.
    static func softcap(_ values: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
        for index in 0..<count {
            values[index] = cap * tanh(values[index] / cap)
        }
    }

    /// Turns `scores` into probabilities in place: `e^(s − max) / Σ e^(s − max)`.
    static func softmax(_ scores: UnsafeMutablePointer<Float>, count: Int) {
        var maximum = -Float.infinity
        for index in 0..<count {
            maximum = max(maximum, scores[index])
        }
        var sum: Float = 0
        for index in 0..<count {
            let e = exp(scores[index] - maximum)
            scores[index] = e
            sum += e
        }
        let inverse = 1 / sum
        for index in 0..<count {
            scores[index] *= inverse
        }
    }
}
