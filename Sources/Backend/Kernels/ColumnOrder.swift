/// The order in which the kernels read the columns of a row.
///
/// Within every full group of 32 columns, the quantized and BF16 kernels
/// visit the stored elements in the order their lane unpacking produces
/// them (see ``Lanes``), not in column order. A dot product does not care
/// about order as long as the activations follow the same one, so
/// ``MatrixMultiply`` permutes the activations once per call and the kernels
/// never shuffle. Columns after the last full group keep their order.
enum ColumnOrder {
    /// Columns per permuted group.
    static let groupSize = 32

    /// For a kernel position `p` in a group, the column it reads: `nil`
    /// when the type is read in column order (F32, F16).
    static func table(for type: GGMLType) -> [Int]? {
        switch type {
        case .q8_0, .q4_K, .q6_K: byteLanes
        case .q4_0: q4_0Nibbles
        case .bf16: bf16Halves
        default: nil
        }
    }

    /// Byte `k` of 32-bit lane `j` is element `4j + k`; the kernels emit
    /// byte 0 of all lanes, then byte 1, and so on.
    private static let byteLanes: [Int] = (0..<32).map { position in
        let k = position / 8, j = position % 8
        return 4 * j + k
    }

    /// Q4_0 reads its 16 bytes as four lanes and emits nibble `n` of every
    /// lane in turn: nibble `2m` is the low nibble of byte `4j + m` (element
    /// `4j + m`), nibble `2m + 1` its high nibble (element `16 + 4j + m`).
    private static let q4_0Nibbles: [Int] = (0..<32).map { position in
        let n = position / 4, j = position % 4
        return (n % 2 == 1 ? 16 : 0) + 4 * j + n / 2
    }

    /// BF16 reads 16 elements as eight lanes of two: first the even
    /// elements (low halves), then the odd ones.
    private static let bf16Halves: [Int] = (0..<32).map { position in
        let group = position / 16, h = (position % 16) / 8, j = position % 8
        return 16 * group + 2 * j + h
    }

    /// Copies `x` into `out` in the kernels' order for `type`.
    static func toKernelOrder(_ type: GGMLType, _ x: UnsafePointer<Float>, columns: Int, into out: UnsafeMutablePointer<Float>) {
        guard let table = table(for: type) else {
            out.update(from: x, count: columns)
            return
        }
        let fullColumns = columns / groupSize * groupSize
        table.withUnsafeBufferPointer { table in
            var group = 0
            while group < fullColumns {
                for position in 0..<groupSize {
                    out[group + position] = x[group + table[position]]
                }
                group += groupSize
            }
        }
        (out + fullColumns).update(from: x + fullColumns, count: columns - fullColumns)
    }

    /// Puts `values`, in the kernels' order for `type`, back in column order.
    static func toColumnOrder(_ type: GGMLType, _ values: UnsafeMutablePointer<Float>, columns: Int) {
        guard let table = table(for: type) else { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: groupSize) { scratch in
            table.withUnsafeBufferPointer { table in
                var group = 0
                while group + groupSize <= columns {
                    for position in 0..<groupSize {
                        scratch[table[position]] = values[group + position]
                    }
                    (values + group).update(from: scratch.baseAddress!, count: groupSize)
                    group += groupSize
                }
            }
        }
    }
}
