/// Whether a matrix-vector product may quantize its activation vector to
/// 8 bits (16 for Q4_1) for an integer-dot kernel (``KernelPath``), or must
/// stay in `Float`.
public enum ActivationPrecision: Sendable, Equatable {
    /// The integer-dot kernel where the kernel path has one for the weights'
    /// type: faster, with an error bounded by llama.cpp's (which quantizes
    /// every product's activations).
    case quantizedWhereFaster
    /// `Float` activations: the product as exact as the weights allow.
    case exact
}
