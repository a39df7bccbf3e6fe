import Foundation

/// GELU as llama.cpp computes it (the tanh approximation):
/// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
enum GELU {
    static func apply(_ values: UnsafeMutablePointer<Float>, count: Int) {
        let c: Float = 0.797_884_56  // √(2/π)
        for index in 0..<count {
            let x = values[index]
            values[index] = 0.5 * x * (1 + tanh(c * (x + 0.044_715 * x * x * x)))
        }
    }
}
