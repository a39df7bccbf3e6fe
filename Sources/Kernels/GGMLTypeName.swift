import KernelBodies

/// GGML's tensor element types. Defined in KernelBodies, whose kernels
/// switch on them (and are compiled once per instruction set); named here
/// so that the engine and its clients see it as part of Kernels.
public typealias GGMLType = KernelBodies.GGMLType
