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
    /// bytes 0–3 (scale) and 4–7 (min).
    @inline(__always)
    static func q4_KScalesAndMins(_ packed: UnsafeRawPointer) -> (scales: SIMD8<Float>, mins: SIMD8<Float>) {
        let low = packed.loadUnaligned(as: SIMD4<UInt8>.self)
        let middle = packed.loadUnaligned(fromByteOffset: 4, as: SIMD4<UInt8>.self)
        let high = packed.loadUnaligned(fromByteOffset: 8, as: SIMD4<UInt8>.self)
        let scalesFirst = low & 63
        let minsFirst = middle & 63
        let scalesSecond = (high & 0x0F) | ((low &>> 6) &<< 4)
        let minsSecond = (high &>> 4) | ((middle &>> 6) &<< 4)
        let scales = SIMD8<UInt8>(lowHalf: scalesFirst, highHalf: scalesSecond)
        let mins = SIMD8<UInt8>(lowHalf: minsFirst, highHalf: minsSecond)
        return (Widen.float(SIMD8<Int32>(truncatingIfNeeded: scales)),
                Widen.float(SIMD8<Int32>(truncatingIfNeeded: mins)))
    }
}

/// Widening loads of eight bytes.
///
/// Only 8-lane conversions are used in the kernels: Swift's generic SIMD
/// integer conversions compile to single instructions (`vpmovsxbd`,
/// `vpmovzxbd`, `vcvtdq2ps`) for 8 lanes, but to a lane-by-lane loop or a
/// library call for 16 or 32 lanes.
enum Widen {
    /// Eight signed bytes at `byteOffset`, as `Float`.
    @inline(__always)
    static func int8(_ base: UnsafeRawPointer, _ byteOffset: Int) -> SIMD8<Float> {
        SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: base.loadUnaligned(fromByteOffset: byteOffset, as: SIMD8<Int8>.self)))
    }

    /// Eight unsigned bytes at `byteOffset`, zero-extended.
    @inline(__always)
    static func uint8(_ base: UnsafeRawPointer, _ byteOffset: Int) -> SIMD8<Int32> {
        SIMD8<Int32>(truncatingIfNeeded: base.loadUnaligned(fromByteOffset: byteOffset, as: SIMD8<UInt8>.self))
    }

    /// Eight 32-bit lanes as `Float`.
    @inline(__always)
    static func float(_ value: SIMD8<Int32>) -> SIMD8<Float> {
        SIMD8<Float>(value)
    }
}
