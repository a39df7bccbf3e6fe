/// The order in which the kernels read the columns of a row.
///
/// Within every full group of columns (32, or 64 for the paired Q4_0/Q4_1/Q5_0/Q5_1
/// blocks), the kernels visit the stored elements in the order their lane
/// unpacking produces them (see ``Lanes`` and ``SmallBlocks``), not in
/// column order. A dot product does not care about order as long as the
/// activations follow the same one, so ``MatrixMultiply`` permutes the
/// activations once per call and the kernels never shuffle.
enum ColumnOrder {
    /// A type's order: `groups[p]` is the column read at position `p` of
    /// each full group of `groups.count` columns; after the last full group,
    /// a group of 32 follows `tail` (if any) and the rest keeps column order.
    struct Scheme {
        let groups: [Int]
        let tail: [Int]?
    }

    /// `nil` when the type is read in column order (F32, F16).
    static func scheme(for type: GGMLType) -> Scheme? {
        switch type {
        case .q8_0, .q4_K, .q6_K, .q5_K, .q3_K, .q2_K: Scheme(groups: byteLanes, tail: nil)
        case .q4_0, .q5_0, .q4_1, .q5_1: Scheme(groups: pairedNibbles, tail: singleNibbles)
        case .bf16: Scheme(groups: bf16Halves, tail: nil)
        case .iq4_nl, .iq4_xs: Scheme(groups: interleavedHalves, tail: nil)
        default: nil
        }
    }

    /// Byte `k` of 32-bit lane `j` is element `4j + k`; the kernels emit
    /// byte 0 of all lanes, then byte 1, and so on.
    private static let byteLanes: [Int] = (0..<32).map { position in
        let k = position / 8, j = position % 8
        return 4 * j + k
    }

    /// Two Q4_0/Q4_1/Q5_0/Q5_1 blocks in eight lanes: vector `n` holds nibble `n` of
    /// every lane, and nibble `n` of lane `j` is element
    /// `16·(n mod 2) + 4·(j mod 4) + n/2` of block `j/4`.
    private static let pairedNibbles: [Int] = (0..<64).map { position in
        let n = position / 8, j = position % 8
        return 32 * (j / 4) + 16 * (n % 2) + 4 * (j % 4) + n / 2
    }

    /// A lone block of those types in four lanes, in the same nibble order.
    private static let singleNibbles: [Int] = (0..<32).map { position in
        let n = position / 4, j = position % 4
        return 16 * (n % 2) + 4 * j + n / 2
    }

    /// BF16 reads 16 elements as eight lanes of two: first the even
    /// elements (low halves), then the odd ones.
    private static let bf16Halves: [Int] = (0..<32).map { position in
        let group = position / 16, h = (position % 16) / 8, j = position % 8
        return 16 * group + 2 * j + h
    }

    /// IQ4_NL and IQ4_XS read a byte's two nibbles, weights `i` and
    /// `i + 16` of 32, together (``NonLinearBlocks``).
    private static let interleavedHalves: [Int] = (0..<32).map { position in
        position / 2 + 16 * (position % 2)
    }

    /// Calls `body(start, table)` for each permuted group of `columns`.
    private static func forEachGroup(_ scheme: Scheme, columns: Int, _ body: (Int, UnsafeBufferPointer<Int>) -> Void) {
        let size = scheme.groups.count
        var start = 0
        scheme.groups.withUnsafeBufferPointer { table in
            while start + size <= columns {
                body(start, table)
                start += size
            }
        }
        if let tail = scheme.tail, start + tail.count <= columns {
            tail.withUnsafeBufferPointer { body(start, $0) }
        }
    }

    /// Copies `x` into `out` in the kernels' order for `type`.
    static func toKernelOrder(_ type: GGMLType, _ x: UnsafePointer<Float>, columns: Int, into out: UnsafeMutablePointer<Float>) {
        out.update(from: x, count: columns)
        guard let scheme = scheme(for: type) else { return }
        forEachGroup(scheme, columns: columns) { start, table in
            for position in 0..<table.count {
                out[start + position] = x[start + table[position]]
            }
        }
    }

    /// Puts `values`, in the kernels' order for `type`, back in column order.
    static func toColumnOrder(_ type: GGMLType, _ values: UnsafeMutablePointer<Float>, columns: Int) {
        guard let scheme = scheme(for: type) else { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: scheme.groups.count) { scratch in
            forEachGroup(scheme, columns: columns) { start, table in
                for position in 0..<table.count {
                    scratch[table[position]] = values[start + position]
                }
                (values + start).update(from: scratch.baseAddress!, count: table.count)
            }
        }
    }
}
