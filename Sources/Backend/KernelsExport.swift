/// The kernels (``WeightMatrix``, ``MatrixMultiply``, ``ComputePool``,
/// ``GGMLType``) live in their own target, the only one compiled with
/// CPU-specific flags; Backend re-exports them so that its files and its
/// clients keep seeing them as before the split.
@_exported import Kernels
