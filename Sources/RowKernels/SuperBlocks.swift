/// Byte layouts of the 256-weight K-quant super-blocks added after Q4_K and
/// Q6_K (as in ggml-common.h), and their unpacking into ``Lanes``, shared by
/// ``RowDequantizer`` and ``RowDot``. All of them are read in the byte-lane
/// order (``ColumnOrder``): within every 32 weights, lane `j` of the vector
/// for byte `k` holds weight `4j + k`, so lanes 0–3 are the first 16 weights
/// and lanes 4–7 the second 16.
///
/// - Q5_K, 176 bytes: `d: f16`, `dmin: f16`, `scales: [UInt8; 12]` (as Q4_K),
///   `qh: [UInt8; 32]`, `qs: [UInt8; 128]`. Sub-block `s` of 32 weights:
///   `w = d·scale[s]·q − dmin·min[s]`, `q` the nibble of `qs` (as Q4_K) with
///   bit `s` of `qh[l]` as its fifth bit.
/// - Q3_K, 110 bytes: `hmask: [UInt8; 32]`, `qs: [UInt8; 64]`,
///   `scales: [UInt8; 12]` (sixteen 6-bit scales, stored + 32), `d: f16`.
///   Weight `l` of sub-block `s`: two bits at `2·(s mod 4)` of
///   `qs[32·(s/4) + l]`, minus 4 unless bit `s` of `hmask[l]` is set;
///   `w = d·scale[2s + l/16]·q`.
/// - Q2_K, 84 bytes: `scales: [UInt8; 16]` (low nibble scale, high nibble
///   min, one per 16 weights), `qs: [UInt8; 64]` (as Q3_K), `d: f16`,
///   `dmin: f16`; `w = d·scale·q − dmin·min`.
enum SuperBlocks {
    static let q5_KBytes = 176
    static let q3_KBytes = 110
    static let q2_KBytes = 84

    /// The two 5-bit values of byte `k` of every lane of a Q5_K group `g`
    /// (sub-blocks `2g`, `2g + 1`): `words` holds the group's 32 bytes of
    /// `qs`, `high` the block's `qh`.
    @inline(__always)
    static func q5_K(_ words: SIMD8<UInt32>, high: SIMD8<UInt32>, group: Int, _ k: Int) -> (low: SIMD8<UInt32>, high: SIMD8<UInt32>) {
        let (lowNibbles, highNibbles) = Lanes.nibbles(words, k)
        let bits = high &>> UInt32(8 * k + 2 * group)
        return (lowNibbles | ((bits & 1) &<< 4), highNibbles | ((bits & 2) &<< 3))
    }

    /// Q3_K's sixteen 6-bit scales (stored + 32), four to a word: byte `b`
    /// of word `w` is scale `4w + b`. Scale `i` has its low 4 bits in nibble
    /// `i/8` of byte `i mod 8` and its high 2 bits at bit `2·(i/4)` of byte
    /// `8 + i mod 4`; unpacked four at a time in 32-bit words.
    @inline(__always)
    static func q3_KScales(_ block: UnsafeRawPointer) -> SIMD4<UInt32> {
        let word0 = block.loadUnaligned(fromByteOffset: 96, as: UInt32.self)
        let word1 = block.loadUnaligned(fromByteOffset: 100, as: UInt32.self)
        let word2 = block.loadUnaligned(fromByteOffset: 104, as: UInt32.self)
        let low = SIMD4<UInt32>(word0, word1, word0 &>> 4, word1 &>> 4) & 0x0F0F_0F0F
        let high = (SIMD4(repeating: word2) &>> SIMD4<UInt32>(0, 2, 4, 6)) & 0x0303_0303
        return low | (high &<< 4)
    }

    /// `d·(scale − 32)` for the two halves of Q3_K sub-block `s` (scales
    /// `2s`, `2s + 1`: bytes `2·(s mod 2)` and the next of word `s/2` of
    /// ``q3_KScales(_:)``), in lanes.
    @inline(__always)
    static func q3_KLaneScales(_ scales: SIMD4<UInt32>, d: Float, _ s: Int) -> SIMD8<Float> {
        let shift = UInt32(16 * (s % 2))
        let bytes = (SIMD8(repeating: scales[s / 2]) &>> (SIMD8<UInt32>(0, 0, 0, 0, 8, 8, 8, 8) &+ shift)) & 0xFF
        return Lanes.float(unsigned: bytes, minus: 32) * d
    }

    /// Byte `k` of every lane of Q3_K (or Q2_K) sub-block `s`: the two bits
    /// of `qs` (`low`, the 32 bytes for `s/4`) and, for Q3_K, bit `s` of
    /// `hmask` as a third bit; as `q + 4` (Q3_K) or `q` (Q2_K).
    @inline(__always)
    static func twoBits(_ low: SIMD8<UInt32>, _ s: Int, _ k: Int) -> SIMD8<UInt32> {
        (low &>> UInt32(8 * k + 2 * (s % 4))) & 3
    }

    @inline(__always)
    static func q3_KValues(_ low: SIMD8<UInt32>, hmask: SIMD8<UInt32>, _ s: Int, _ k: Int) -> SIMD8<Float> {
        let bit = (hmask &>> UInt32(8 * k + s)) & 1
        return Lanes.float(unsigned: twoBits(low, s, k) | (bit &<< 2), minus: 4)
    }

    /// `d·scale` and `dmin·min` for the two halves of Q2_K sub-block `s`
    /// (scale bytes `2s`, `2s + 1`), in lanes.
    @inline(__always)
    static func q2_KLaneScales(_ block: UnsafeRawPointer, d: Float, dmin: Float, _ s: Int) -> (scales: SIMD8<Float>, mins: SIMD8<Float>) {
        let pair = SIMD8(repeating: UInt32(block.loadUnaligned(fromByteOffset: 2 * s, as: UInt16.self)))
        let scales = (pair &>> SIMD8<UInt32>(0, 0, 0, 0, 8, 8, 8, 8)) & 0x0F
        let mins = (pair &>> SIMD8<UInt32>(4, 4, 4, 4, 12, 12, 12, 12)) & 0x0F
        return (Lanes.float(unsigned: scales) * d, Lanes.float(unsigned: mins) * dmin)
    }
}
