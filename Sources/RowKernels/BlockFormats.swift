/// Byte layouts of GGML's quantized blocks (as in ggml-common.h), and the
/// unpacking they share between dequantization and the dot-product kernels.
/// Q4_0, Q4_1, Q5_0 and Q5_1 are described with ``SmallBlocks``.
///
/// - Q8_0, 32 weights in 34 bytes: `d: f16`, `qs: [Int8; 32]`; `w = d·q`.
/// - Q4_K, 256 weights in 144 bytes: `d: f16`, `dmin: f16`, `scales: [UInt8; 12]`
///   (eight 6-bit scales and eight 6-bit mins), `qs: [UInt8; 128]`. Sub-block
///   `s` of 32 weights: `w = d·scale[s]·q − dmin·min[s]`; the 64 weights of
///   sub-blocks `2g, 2g+1` take the low then the high nibbles of `qs[32g..<32g+32]`.
/// - Q6_K, 256 weights in 210 bytes: `ql: [UInt8; 128]` (low 4 bits),
///   `qh: [UInt8; 64]` (high 2 bits), `scales: [Int8; 16]` (one per 16 weights),
///   `d: f16`; `w = d·scale·(q − 32)`.
enum BlockFormats {
    static let q8_0Bytes = 34
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
        // Lanes 0–3 take bytes 0–3 of `first`, lanes 4–7 those of `second`.
        // Built from broadcasts and constant masks: a SIMD8 made from eight
        // run-time scalars compiles to a library call.
        let byteShifts = SIMD8<UInt32>(0, 8, 16, 24, 0, 8, 16, 24)
        let firstLanes = SIMD8<UInt32>(.max, .max, .max, .max, 0, 0, 0, 0)
        @inline(__always) func bytes(_ first: UInt32, _ second: UInt32) -> SIMD8<Float> {
            let words = (SIMD8(repeating: first) & firstLanes) | (SIMD8(repeating: second) & ~firstLanes)
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
        let firstWord = SIMD8(repeating: scales.loadUnaligned(as: UInt32.self))
        let secondWord = SIMD8(repeating: scales.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        // Quarter q uses scales 2q and 2q + 1: bytes 0–1 (q = 0, 2) or 2–3
        // (q = 1, 3) of a word. Move the byte to the top, shift it back
        // arithmetically to sign-extend, and convert with the exponent trick.
        let lowPair = SIMD8<UInt32>(24, 24, 24, 24, 16, 16, 16, 16)
        let highPair = SIMD8<UInt32>(8, 8, 8, 8, 0, 0, 0, 0)
        @inline(__always) func quarter(_ word: SIMD8<UInt32>, _ shifts: SIMD8<UInt32>) -> SIMD8<Float> {
            let value = unsafeBitCast(word &<< shifts, to: SIMD8<Int32>.self) &>> 24
            return (unsafeBitCast(value &+ 0x4B40_0000, to: SIMD8<Float>.self) - 12_582_912) * d
        }
        return (quarter(firstWord, lowPair), quarter(firstWord, highPair),
                quarter(secondWord, lowPair), quarter(secondWord, highPair))
    }
}
