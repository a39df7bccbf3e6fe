/// ``GGMLType`` lives in its own target, which both copies of the row
/// kernels import; Kernels re-exports it so that its clients see it as
/// before.
@_exported import GGMLTypes
