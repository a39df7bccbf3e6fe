/// A LayerNorm's scale and shift (`NAME.weight`, `NAME.bias`), and the norm itself.
struct LayerNormWeights: Sendable {
    let weight: [Float]
    let bias: [Float]

    init(loader: ModelTensorLoader, name: String, length: Int) throws(GGUFError) {
        weight = try loader.vector("\(name).weight", length: length)
        bias = try loader.vector("\(name).bias", length: length)
    }

    /// `row = (row − mean) / sqrt(variance + epsilon) · weight + bias`, in place.
    func normalize(_ row: UnsafeMutablePointer<Float>, epsilon: Float) {
        let count = weight.count
        var sum: Float = 0
        for index in 0..<count { sum += row[index] }
        let mean = sum / Float(count)
        var squares: Float = 0
        for index in 0..<count {
            let centered = row[index] - mean
            squares += centered * centered
        }
        let scale = 1 / (squares / Float(count) + epsilon).squareRoot()
        for index in 0..<count {
            row[index] = (row[index] - mean) * scale * weight[index] + bias[index]
        }
    }
}
