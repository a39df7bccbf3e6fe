/// Looks up the tensors a model needs in a ``GGUFFile`` and checks their
/// shapes, so that a file with the wrong shapes fails at load time with the
/// tensor's name rather than reading out of bounds later.
struct ModelTensorLoader {
    let file: GGUFFile

    /// The matrix `name` with `rows` rows of `columns` weights (GGUF shape `[columns, rows]`).
    func matrix(_ name: String, rows: Int, columns: Int) throws(GGUFError) -> WeightMatrix {
        let tensor = try file.tensor(name)
        guard tensor.dimensions == [columns, rows] || (tensor.dimensions == [columns, rows, 1]) else {
            throw GGUFError(.invalidModel, "tensor '\(name)' has shape \(tensor.dimensions), expected [\(columns), \(rows)]")
        }
        return try weightMatrix(tensor, rows: rows, columns: columns)
    }

    /// The matrix `name` if the file has it.
    func optionalMatrix(_ name: String, rows: Int, columns: Int) throws(GGUFError) -> WeightMatrix? {
        file.tensors[name] == nil ? nil : try matrix(name, rows: rows, columns: columns)
    }

    /// The 3-D tensor `name` of `count` stacked `rows × columns` matrices
    /// (GGUF shape `[columns, rows, count]`), viewed as one matrix of
    /// `count × rows` rows.
    func stackedMatrix(_ name: String, count: Int, rows: Int, columns: Int) throws(GGUFError) -> WeightMatrix {
        let tensor = try file.tensor(name)
        guard tensor.dimensions == [columns, rows, count] else {
            throw GGUFError(.invalidModel, "tensor '\(name)' has shape \(tensor.dimensions), expected [\(columns), \(rows), \(count)] (\(count) experts)")
        }
        return try weightMatrix(tensor, rows: count * rows, columns: columns)
    }

    /// The vector `name` of `length` elements, converted to `Float`.
    func vector(_ name: String, length: Int) throws(GGUFError) -> [Float] {
        let tensor = try file.tensor(name)
        guard tensor.elementCount == length, tensor.dimensions.dropFirst().allSatisfy({ $0 == 1 }) else {
            throw GGUFError(.invalidModel, "tensor '\(name)' has shape \(tensor.dimensions), expected [\(length)]")
        }
        let matrix = try weightMatrix(tensor, rows: 1, columns: length)
        return [Float](unsafeUninitializedCapacity: length) { buffer, initialized in
            if let base = buffer.baseAddress {
                matrix.dequantizeRow(0, into: base)
            }
            initialized = length
        }
    }

    /// The vector `name` if the file has it.
    func optionalVector(_ name: String, length: Int) throws(GGUFError) -> [Float]? {
        file.tensors[name] == nil ? nil : try vector(name, length: length)
    }

    private func weightMatrix(_ tensor: GGUFTensorInfo, rows: Int, columns: Int) throws(GGUFError) -> WeightMatrix {
        do {
            return try WeightMatrix(type: tensor.type, data: tensor.data, rows: rows, columns: columns)
        } catch {
            throw GGUFError(.unsupportedTensorType, "tensor '\(tensor.name)': \(error)")
        }
    }
}
