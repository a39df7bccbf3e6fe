/// Byte layouts of GGML's quantized blocks (as in ggml-common.h), and the
/// unpacking they share between dequantization and the dot-product kernels.
///
/// - Q8_0, 32 weights in 34 bytes: `d: f16`, `qs: [Int8; 32]`; `w = d·q`.
/// - Q4_0, 32 weights in 18 bytes: `d: f16`, `qs: [UInt8; 16]`; weight `j < 16`
///   is the low nibble of `qs[j]`, weight `j + 16` its high nibble; `w = d·(q − 8)`.
/// - Q4_K, 256 weights in 144 bytes: `d: f16`, `dmin: f16`, `scales: [UInt8; 12]`
///   (eight 6-bit scales and eight 6-bit mins), `qs: [UInt8; 128]`. Sub-block
///   `s` of 32 weights: `w = d·scale[s]·q − dmin·min[s]`; the 64 weights of
///   sub-blocks `2g, 2g+1` take the low then the high nibbles of `qs[32g..<32g+32]`.
/// - Q6_K, 256 weights in 210 bytes: `ql: [UInt8; 128]` (low 4 bits),
///   `qh: [UInt8; 64]` (high 2 bits), `scales: [Int8; 16]` (one per 16 weights),
///   `d: f16`; `w = d·scale·(q − 32)`.
enum BlockFormats {
    static let q8_0Bytes = 34
    static let q4_0Bytes = 18
    static let q4_KBytes = 144
    static let q6_KBytes = 210

    /// The eight 6-bit scales and eight 6-bit mins of a Q4_K block.
    ///
    /// Sub-blocks 0–3 keep their scale and min in the low 6 bits of bytes
    /// 0–3 and 4–7; sub-blocks 4–7 keep the low 4 bits in bytes 8–11 (scale
    /// low nibble, min high nibble) and the high 2 bits in the top bits of
    /// bytes 0–3 (scale) and 4–7 (min). Unpacked four bytes at a time in
    /// 32-bit words.
    @inline(__always)
    static func q4_KScalesAndMins(_ packed: UnsafeRawPointer) -> (scales: SIMD8<Float>, mins: SIMD8<Float>) {
        let word0 = packed.loadUnaligned(as: UInt32.self)
        let word1 = packed.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let word2 = packed.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        let scalesFirst = word0 & 0x3F3F_3F3F
        let minsFirst = word1 & 0x3F3F_3F3F
        let scalesSecond = (word2 & 0x0F0F_0F0F) | ((word0 >> 2) & 0x3030_3030)
        let minsSecond = ((word2 >> 4) & 0x0F0F_0F0F) | ((word1 >> 2) & 0x3030_3030)
        let byteShifts = SIMD8<UInt32>(0, 8, 16, 24, 0, 8, 16, 24)
        func bytes(_ first: UInt32, _ second: UInt32) -> SIMD8<Float> {
            let words = SIMD8<UInt32>(first, first, first, first, second, second, second, second)
            return Lanes.float(unsigned: (words &>> byteShifts) & 0xFF)
        }
        return (bytes(scalesFirst, scalesSecond), bytes(minsFirst, minsSecond))
    }
}

extension BlockFormats {
    /// The scales of the four 32-weight quarters of a Q6_K half block, times
    /// `d`, laid out for ``Lanes``: lane `j` holds weight `4j + k` of its
    /// quarter, so lanes 0–3 take the quarter's first 16-weight scale and
    /// lanes 4–7 its second.
    @inline(__always)
    static func q6_KLaneScales(
        _ scales: UnsafeRawPointer, d: Float
    ) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        func quarter(_ index: Int) -> SIMD8<Float> {
            let first = d * Float(scales.load(fromByteOffset: index, as: Int8.self))
            let second = d * Float(scales.load(fromByteOffset: index + 1, as: Int8.self))
            return SIMD8(first, first, first, first, second, second, second, second)
        }
        return (quarter(0), quarter(2), quarter(4), quarter(6))
    }
}
