import CKernels

/// Several products with one input vector in a single parallel job.
///
/// Decoding one token runs a few hundred short jobs on the pool, each ending
/// in a wait for every thread; a thread that the system has descheduled
/// makes the others wait for it. Doing the query, key and value projections
/// (or the feed-forward gate and up projections) in one job halves those
/// waits where it applies.
extension MatrixMultiply {
    /// `y = W · x` for each `(W, y)` of `products`, all of whose matrices
    /// have `x`'s length as their column count, in one job.
    public static func matVecs(_ products: [(matrix: WeightMatrix, y: UnsafeMutablePointer<Float>)], x: UnsafePointer<Float>, pool: ComputePool) {
        guard let first = products.first else { return }
        precondition(products.allSatisfy { $0.matrix.columns == first.matrix.columns }, "matVecs needs matrices of equal width")
        matVecs(products.map { ($0.matrix, x, $0.y) }, pool: pool)
    }

    /// `y = W · x` for each `(W, x, y)` of `products`, each with its own
    /// input vector (`W.columns` long), in one job: a mixture of experts'
    /// down projections, one per chosen expert, wait for the pool once
    /// instead of once per expert.
    public static func matVecs(
        _ products: [(matrix: WeightMatrix, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>)], pool: ComputePool
    ) {
        guard !products.isEmpty else { return }
        let prepared = products.map { PreparedVector($0.matrix, $0.x) }
        defer { prepared.forEach { $0.deallocate() } }
        // Row r of the concatenation is row r − starts[i] of products[i].
        var starts: [Int] = []
        var total = 0
        var bytes = 0
        for product in products {
            starts.append(total)
            total += product.matrix.rows
            bytes += product.matrix.byteCount
        }
        forRows(count: total, weightBytes: bytes, pool: pool) { rows in
            for index in products.indices {
                let product = products[index], vector = prepared[index]
                let lower = max(rows.lowerBound - starts[index], 0)
                let upper = min(rows.upperBound - starts[index], product.matrix.rows)
                guard lower < upper else { continue }
                vector.dots(product.matrix, rows: lower..<upper, into: product.y + lower)
            }
        }
    }

    /// `y[r] = combine((A · x)[r], (B · x)[r])` for two matrices of the same
    /// shape (SwiGLU's gate and up projections), in one job and without
    /// storing either product.
    public static func matVecPair(
        _ a: WeightMatrix, _ b: WeightMatrix, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        pool: ComputePool, combine: (Float, Float) -> Float
    ) {
        precondition(a.rows == b.rows && a.columns == b.columns, "matVecPair needs matrices of equal shape")
        let first = PreparedVector(a, x), second = PreparedVector(b, x)
        defer { first.deallocate(); second.deallocate() }
        forRows(count: a.rows, weightBytes: a.byteCount + b.byteCount, pool: pool) { rows in
            guard first.rowsKernel != nil, second.rowsKernel != nil else {
                for row in rows {
                    y[row] = combine(first.dot(a.rowData(row)), second.dot(b.rowData(row)))
                }
                return
            }
            // With the rows kernels (F16): both products of a few rows at a
            // time, then combined, so the two matrices' rows stay close
            // together in time, as they are one row at a time above.
            let step = 16
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * step) { buffer in
                let gate = buffer.baseAddress!, other = gate + step
                var start = rows.lowerBound
                while start < rows.upperBound {
                    let range = start..<min(start + step, rows.upperBound)
                    first.dots(a, rows: range, into: gate)
                    second.dots(b, rows: range, into: other)
                    for index in 0..<range.count {
                        y[start + index] = combine(gate[index], other[index])
                    }
                    start = range.upperBound
                }
            }
        }
    }
}

/// An activation vector prepared for one matrix's rows: quantized (or, for
/// the logits, rounded to 16 bits) for the integer-dot kernel where the
/// ``KernelPath`` has one for the type, else in the type's kernel order with
/// the block sums its `Float` kernel reads.
struct PreparedVector {
    let kernel: RowKernelVariant.DotKernel
    /// CKernels' kernel for a range of rows, where the path has one for the
    /// type with `Float` activations (F16 on AVX2 and AVX-512): one call per
    /// range instead of one closure call per row.
    let rowsKernel: lmgate_float_dot_rows_kernel?
    /// The vector as the integer-dot kernel reads it (8 or 16 bits, by
    /// `activations` and the type); `nil` where it stays in `Float`.
    let integer: QuantizedActivations?
    let columns: Int
    let ordered: UnsafeMutablePointer<Float>
    let sums: UnsafeMutablePointer<Float>

    /// Prepares `x` for `path`'s kernels; `activations` ``ActivationPrecision/exact``
    /// keeps it in `Float` (the path's float kernels) even where the path
    /// has an integer-dot kernel for the type, ``ActivationPrecision/roundedTo16Bits``
    /// rounds it to 16 bits where the path has a 16-bit kernel for the type
    /// (else `Float`).
    init(
        _ w: WeightMatrix, _ x: UnsafePointer<Float>, path: KernelPath = .active,
        activations: ActivationPrecision = .quantizedWhereFaster
    ) {
        let variant = RowKernelVariant.forPath(path)
        kernel = variant.dotKernel(w.type)
        columns = w.columns
        integer = QuantizedActivations(w.type, x, columns: columns, path: path, precision: activations)
        let inFloat = integer == nil
        rowsKernel = inFloat ? lmgate_float_dot_rows_kernel_for(Int32(w.type.rawValue), path.code) : nil
        let sumCount = inFloat && variant.needsActivationSums(w.type) ? columns / 32 : 0
        let orderedCount = inFloat ? columns : 0
        ordered = .allocate(capacity: orderedCount + max(sumCount, 1))
        sums = ordered + orderedCount
        if inFloat {
            ColumnOrder.toKernelOrder(w.type, x, columns: columns, into: ordered)
            variant.activationSums(x, sumCount * 32, sums)
        }
    }

    /// The dot product of a stored row of the matrix with the vector.
    @inline(__always)
    func dot(_ row: UnsafeRawPointer) -> Float {
        if let integer { return integer.dot(row) }
        return kernel(row, ordered, sums, columns)
    }

    /// `y[i]` = the dot product of row `rows.lowerBound + i` of `w` (the
    /// matrix the vector was prepared for) with the vector, for each row of
    /// `rows`; bitwise what ``dot(_:)`` gives per row.
    @inline(__always)
    func dots(_ w: WeightMatrix, rows: Range<Int>, into y: UnsafeMutablePointer<Float>) {
        guard !rows.isEmpty else { return }
        if let rowsKernel {
            rowsKernel(w.rowData(rows.lowerBound), Int64(w.rowBytes), Int64(rows.count), ordered, Int64(columns), y)
            return
        }
        for row in rows {
            y[row - rows.lowerBound] = dot(w.rowData(row))
        }
    }

    func deallocate() {
        ordered.deallocate()
        integer?.deallocate()
    }
}
