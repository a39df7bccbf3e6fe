extension ModelTensorLoader {
    /// The matrix `name`, whose rows are several matrices stacked (phi3's
    /// `attn_qkv`: query, key and value rows; its `ffn_up`: gate rows, then
    /// up rows), viewed as one ``WeightMatrix`` per part with the row counts
    /// `parts`. Each view starts at a row boundary of the same mapped bytes,
    /// so nothing is copied.
    func fusedMatrices(_ name: String, parts: [Int], columns: Int) throws(GGUFError) -> [WeightMatrix] {
        let whole = try matrix(name, rows: parts.reduce(0, +), columns: columns)
        var views: [WeightMatrix] = []
        var firstRow = 0
        for rows in parts {
            do {
                views.append(try WeightMatrix(type: whole.type, data: whole.rowData(firstRow), rows: rows, columns: columns))
            } catch {
                throw GGUFError(.unsupportedTensorType, "tensor '\(name)': \(error)")
            }
            firstRow += rows
        }
        return views
    }
}
