/// A row-major matrix of GGML-typed weights, viewed in memory the caller
/// keeps alive (typically a tensor of a memory-mapped GGUF file).
///
/// In GGUF terms a 2-D tensor's `ne[0]` is ``columns`` (the row length) and
/// `ne[1]` is ``rows``. Nothing is copied: ``data`` must stay valid for as
/// long as the matrix is used.
public struct WeightMatrix: @unchecked Sendable {
    /// The element type of the stored weights.
    public let type: GGMLType
    /// The first byte of row 0.
    public let data: UnsafeRawPointer
    /// The number of rows (GGUF `ne[1]`).
    public let rows: Int
    /// The number of columns, the length of one row (GGUF `ne[0]`).
    public let columns: Int
    /// The bytes one stored row occupies.
    public let rowBytes: Int

    /// Views `rows × columns` weights of `type` starting at `data`.
    ///
    /// - Throws: ``KernelError`` if the type has no kernel, the shape is
    ///   empty or too large to address, or `columns` is not a whole number
    ///   of the type's blocks.
    public init(type: GGMLType, data: UnsafeRawPointer, rows: Int, columns: Int) throws {
        guard let layout = type.layout else { throw KernelError.unsupportedType(type) }
        guard rows > 0, columns > 0 else { throw KernelError.invalidShape(rows: rows, columns: columns) }
        guard columns % layout.elementsPerBlock == 0 else {
            throw KernelError.columnsNotMultipleOfBlock(
                type: type, columns: columns, blockSize: layout.elementsPerBlock)
        }
        let rowBytes = columns / layout.elementsPerBlock * layout.bytesPerBlock
        guard !rows.multipliedReportingOverflow(by: rowBytes).overflow else {
            throw KernelError.invalidShape(rows: rows, columns: columns)
        }
        self.type = type
        self.data = data
        self.rows = rows
        self.columns = columns
        self.rowBytes = rowBytes
    }

    /// The bytes the whole matrix occupies.
    public var byteCount: Int { rows * rowBytes }

    /// The first byte of `row`.
    @inline(__always)
    public func rowData(_ row: Int) -> UnsafeRawPointer {
        data + row * rowBytes
    }

    /// Writes the `columns` weights of `row`, as `Float`, to `destination`.
    public func dequantizeRow(_ row: Int, into destination: UnsafeMutablePointer<Float>) {
        precondition(row >= 0 && row < rows, "row \(row) out of 0..<\(rows)")
        RowKernelVariant.active.dequantizeInKernelOrder(type, rowData(row), columns, destination)
        ColumnOrder.toColumnOrder(type, destination, columns: columns)
    }

    /// Writes the weights of `rowRange`, row after row (`rowRange.count × columns`
    /// floats), to `destination`.
    public func dequantizeRows(_ rowRange: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        precondition(rowRange.lowerBound >= 0 && rowRange.upperBound <= rows, "rows \(rowRange) out of 0..<\(rows)")
        for (index, row) in rowRange.enumerated() {
            dequantizeRow(row, into: destination + index * columns)
        }
    }
}
