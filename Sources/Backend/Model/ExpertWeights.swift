/// One of a mixture-of-experts block's stacked matrices (`ffn_gate_exps`,
/// `ffn_up_exps`, `ffn_down_exps`): a 3-D tensor of GGUF shape
/// `[columns, rows, experts]`, viewed as one ``WeightMatrix`` per expert.
///
/// Each expert's matrix starts `expert × rows` rows into the same mapped
/// bytes, so nothing is copied and a forward pass reads only the rows of
/// the experts it chose.
struct ExpertWeights: Sendable {
    /// Expert `e`'s `rows × columns` matrix.
    let experts: [WeightMatrix]

    /// Expert `index`'s matrix.
    subscript(index: Int) -> WeightMatrix { experts[index] }

    /// Views the tensor `name`, checking its shape is `[columns, rows, count]`.
    init(_ name: String, count: Int, rows: Int, columns: Int, loader: ModelTensorLoader) throws(GGUFError) {
        let stacked = try loader.stackedMatrix(name, count: count, rows: rows, columns: columns)
        var experts: [WeightMatrix] = []
        experts.reserveCapacity(count)
        for expert in 0..<count {
            // Every expert is a whole number of rows into the stack, so its
            // first byte is a row boundary of the whole tensor.
            let first = stacked.rowData(expert * rows)
            do {
                experts.append(try WeightMatrix(type: stacked.type, data: first, rows: rows, columns: columns))
            } catch {
                throw GGUFError(.unsupportedTensorType, "tensor '\(name)', expert \(expert): \(error)")
            }
        }
        self.experts = experts
    }
}
