/// GPT-2's reversible mapping of bytes to printable characters, in which
/// byte-level BPE vocabularies are written (a space is `Ġ`, a newline `Ċ`).
///
/// Bytes that are printable Latin-1 characters map to themselves; the other
/// 68 (controls, space, DEL, NBSP, soft hyphen) map, in byte order, to
/// U+0100 onwards.
enum ByteLevelEncoding {
    /// The UTF-8 encoding of the character each byte maps to.
    static let encodedByte: [[UInt8]] = (0..<256).map { byte in
        Array(String(Character(scalar(for: UInt8(byte)))).utf8)
    }

    /// The byte a mapped character stands for, if it is one of the 256.
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = scalar.value
        if isPrintable(value) { return UInt8(value) }
        guard value >= 256, value < 256 + 68 else { return nil }
        return unprintableBytes[Int(value - 256)]
    }

    /// Decodes a token's text to the bytes it stands for; characters outside
    /// the mapping pass through as their own UTF-8.
    static func decode(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if let byte = byte(for: scalar) {
                bytes.append(byte)
            } else {
                bytes.append(contentsOf: String(Character(scalar)).utf8)
            }
        }
        return bytes
    }

    private static func isPrintable(_ value: UInt32) -> Bool {
        (33...126).contains(value) || (161...172).contains(value) || (174...255).contains(value)
    }

    private static let unprintableBytes: [UInt8] = (0...255).filter { !isPrintable(UInt32($0)) }.map { UInt8($0) }

    private static func scalar(for byte: UInt8) -> Unicode.Scalar {
        if isPrintable(UInt32(byte)) { return Unicode.Scalar(byte) }
        let index = unprintableBytes.firstIndex(of: byte) ?? 0
        return Unicode.Scalar(UInt32(256 + index)) ?? "?"
    }
}
