/// One tensor of a GGUF file: its name, element type, shape, and where its
/// data lies in the memory-mapped file.
///
/// `dimensions` is in GGML order: `dimensions[0]` is the innermost (the
/// number of columns of a matrix, contiguous in memory), `dimensions[1]` the
/// number of rows. ``data`` stays valid as long as the ``GGUFFile`` that made
/// this value is alive.
public struct GGUFTensorInfo: @unchecked Sendable {
    // @unchecked Sendable: `data` points into a read-only mapping that never
    // changes; reading it from any thread is safe while the file is alive.

    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    public let name: String
    /// The element type.
    public let type: GGMLType
    /// The extent of each dimension, innermost first.
    public let dimensions: [Int]
    /// The number of elements (the product of ``dimensions``).
    public let elementCount: Int
    /// The number of bytes of data.
    public let byteCount: Int
    /// The offset of the data from the start of the file.
    public let fileOffset: Int
    /// The first byte of the data, inside the mapping.
    public let data: UnsafeRawPointer

    /// The number of columns (elements per row): `dimensions[0]`.
    public var columns: Int { dimensions.first ?? 1 }
    /// The number of rows: the product of every dimension but the first.
    public var rows: Int { dimensions.dropFirst().reduce(1, *) }
}
