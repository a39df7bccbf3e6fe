/// How a matrix-vector product treats its activation vector: quantized to
/// 8 bits (16 for Q4_1) for an integer-dot kernel (``KernelPath``), rounded to 16 bits
/// for the logits, or kept in `Float`.
public enum ActivationPrecision: Sendable, Equatable {
    /// The integer-dot kernel where the kernel path has one for the weights'
    /// type: faster, with an error bounded by llama.cpp's (which quantizes
    /// every product's activations).
    case quantizedWhereFaster
    /// The output projection's logits: activations rounded to 16 bits per
    /// 32-block (the block's largest magnitude is 32767, so each activation
    /// moves by at most `max|x| / 65534`, 258 times less than with 8 bits)
    /// where the path has such a kernel for the weights' type (Q8_0, Q6_K and
    /// Q4_1 on the AVX2 and AVX-512 VNNI paths, CKernels' `lmgate_logits16_kernel`),
    /// else `Float` as ``exact``. The weights and their integer products are
    /// exact, so a logit moves by at most `Σ_blocks Σ|w| · max|x| / 65534`
    /// beyond `Float` rounding. Why not `Float`: the `Float` Q8_0 kernel is
    /// bound by its conversions at half the integer kernel's bandwidth, and
    /// the logits were about 40 % of a decode step (docs/BENCHMARKS.md).
    /// Each token's logits are bitwise the same alone as beside other
    /// tokens decoded with it (fewer than 16; from 16 tokens on, the AVX-512
    /// path's prompt kernel with the same rounding).
    case roundedTo16Bits
    /// `Float` activations: the product as exact as the weights allow.
    case exact
}
