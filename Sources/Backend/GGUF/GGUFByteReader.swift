/// Reads GGUF's little-endian fields from a byte buffer, checking every read
/// against the bytes that remain so that a truncated or hostile file yields
/// an error naming the field, never an out-of-bounds read.
struct GGUFByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Bytes left after the current offset.
    var remaining: Int { bytes.count - offset }

    /// Checks that `count` more bytes exist for `what`.
    func require(_ count: Int, for what: @autoclosure () -> String) throws(GGUFError) {
        guard count >= 0, count <= remaining else {
            throw GGUFError(
                .truncated,
                "file truncated: \(what()) needs \(count) bytes at offset \(offset), only \(remaining) remain")
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(GGUFError) -> T {
        try require(MemoryLayout<T>.size, for: what())
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    mutating func readFloat(_ what: @autoclosure () -> String) throws(GGUFError) -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readDouble(_ what: @autoclosure () -> String) throws(GGUFError) -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// Reads a count stored as `UInt64` and checks that `count * minimumSize`
    /// bytes could still follow, so that no absurd count reaches an allocation.
    mutating func readCount(minimumSize: Int, _ what: @autoclosure () -> String) throws(GGUFError) -> Int {
        let raw = try read(UInt64.self, what())
        let limit = remaining / max(minimumSize, 1)
        guard raw <= UInt64(limit) else {
            throw GGUFError(
                .invalidCount,
                "\(what()) is \(raw), but the \(remaining) remaining bytes hold at most \(limit)")
        }
        return Int(raw)
    }

    /// Reads a GGUF string: a `UInt64` length, then that many UTF-8 bytes.
    /// Invalid UTF-8 is repaired with U+FFFD rather than rejected.
    mutating func readString(_ what: @autoclosure () -> String) throws(GGUFError) -> String {
        let length = try readCount(minimumSize: 1, "length of \(what())")
        let start = offset
        offset += length
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<start + length]), as: UTF8.self)
    }

    /// Moves forward to the next multiple of `alignment` (at most to the end).
    mutating func align(to alignment: Int) {
        let padded = (offset + alignment - 1) / alignment * alignment
        offset = min(padded, bytes.count)
    }
}
