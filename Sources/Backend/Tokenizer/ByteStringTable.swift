/// A list of byte strings stored back to back, with a hash index from a
/// string's bytes to its position.
///
/// Tokenizers look up every candidate merge, so lookups take a borrowed slice
/// of the input and allocate nothing. Bytes are compared exactly (no Unicode
/// normalization). When a string occurs twice, the later position wins, as in
/// llama.cpp's `token_to_id` map.
struct ByteStringTable: Sendable {
    private let storage: [UInt8]
    /// `offsets[i] ..< offsets[i + 1]` is string `i` in `storage`.
    private let offsets: [Int32]
    /// Open addressing: each slot holds a string index, or -1.
    private let slots: [Int32]
    private let mask: Int

    /// The number of strings.
    var count: Int { offsets.count - 1 }

    init<S: Sequence>(_ strings: S) where S.Element: Collection, S.Element.Element == UInt8 {
        var storage: [UInt8] = []
        var offsets: [Int32] = [0]
        for string in strings {
            storage.append(contentsOf: string)
            offsets.append(Int32(storage.count))
        }
        var capacity = 16
        while capacity < (offsets.count - 1) * 2 { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        storage.withUnsafeBufferPointer { bytes in
            for index in 0..<(offsets.count - 1) {
                let string = UnsafeBufferPointer(rebasing: bytes[Int(offsets[index])..<Int(offsets[index + 1])])
                var slot = Self.hash(string) & mask
                while slots[slot] >= 0 {
                    let other = slots[slot]
                    if Self.equal(
                        UnsafeBufferPointer(rebasing: bytes[Int(offsets[Int(other)])..<Int(offsets[Int(other) + 1])]),
                        string)
                    {
                        break  // a duplicate: the later index replaces it
                    }
                    slot = (slot + 1) & mask
                }
                slots[slot] = Int32(index)
            }
        }
        self.storage = storage
        self.offsets = offsets
        self.slots = slots
        self.mask = mask
    }

    /// The index of the string equal to `bytes`, if any.
    func index(of bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        storage.withUnsafeBufferPointer { stored in
            var slot = Self.hash(bytes) & mask
            while true {
                let candidate = slots[slot]
                if candidate < 0 { return nil }
                let range = Int(offsets[Int(candidate)])..<Int(offsets[Int(candidate) + 1])
                if Self.equal(UnsafeBufferPointer(rebasing: stored[range]), bytes) { return Int(candidate) }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The index of the string equal to `bytes`, if any.
    func index<C: Collection>(of bytes: C) -> Int? where C.Element == UInt8 {
        if let found = bytes.withContiguousStorageIfAvailable({ index(of: $0) }) { return found }
        return Array(bytes).withUnsafeBufferPointer { index(of: $0) }
    }

    /// The bytes of string `index`.
    subscript(index: Int) -> ArraySlice<UInt8> {
        storage[Int(offsets[index])..<Int(offsets[index + 1])]
    }

    /// The length in bytes of string `index`.
    func length(of index: Int) -> Int {
        Int(offsets[index + 1] - offsets[index])
    }

    /// FNV-1a, 64 bits: short keys, good spread, no allocation.
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return Int(truncatingIfNeeded: hash ^ (hash >> 29))
    }

    private static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }
}
