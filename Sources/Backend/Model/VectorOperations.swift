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
