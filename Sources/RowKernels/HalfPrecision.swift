/// Loads of GGML's 16-bit floats from unaligned memory.
///
/// F16 is IEEE binary16 (Swift's `Float16`; its conversion compiles to one
/// `vcvtph2ps` when F16C is enabled). BF16 is the top half of a binary32, so
/// widening it is a 16-bit shift (done on pairs, see ``bf16Pairs(_:_:)``,
/// since Swift's 16→32-bit lane conversion is not reliably inlined).
enum HalfPrecision {
    @inline(__always)
    static func f16(_ base: UnsafeRawPointer, _ byteOffset: Int = 0) -> Float {
        Float(Float16(bitPattern: base.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self)))
    }

    @inline(__always)
    static func f16x8(_ base: UnsafeRawPointer, _ byteOffset: Int = 0) -> SIMD8<Float> {
        SIMD8<Float>(base.loadUnaligned(fromByteOffset: byteOffset, as: SIMD8<Float16>.self))
    }

    @inline(__always)
    static func bf16(_ base: UnsafeRawPointer, _ byteOffset: Int = 0) -> Float {
        let bits = UInt32(base.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self)) << 16
        return Float(bitPattern: bits)
    }

    /// Sixteen BF16 values at `byteOffset`, read as eight 32-bit lanes:
    /// the even elements (low halves) and the odd ones (high halves).
    @inline(__always)
    static func bf16Pairs(_ base: UnsafeRawPointer, _ byteOffset: Int) -> (even: SIMD8<Float>, odd: SIMD8<Float>) {
        let words = base.loadUnaligned(fromByteOffset: byteOffset, as: SIMD8<UInt32>.self)
        return (unsafeBitCast(words &<< 16, to: SIMD8<Float>.self),
                unsafeBitCast(words & 0xFFFF_0000, to: SIMD8<Float>.self))
    }
}
