/// Activation vectors prepared once for a product's rows, whose
/// several-vector kernel gives each vector bitwise its result alone
/// (``QuantizedActivations``, ``RoundedActivations16``).
protocol RowDotVectors {
    /// The dot products of a stored row with every vector, vector `v`'s at
    /// `out[v * stride]`.
    func dots(_ row: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>, stride: Int)
    func deallocate()
}

extension QuantizedActivations: RowDotVectors {}
