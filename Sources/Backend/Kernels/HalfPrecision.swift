/// Loads of GGML's 16-bit floats from unaligned memory.
///
/// F16 is IEEE binary16 (Swift's `Float16`; its conversion compiles to one
/// `vcvtph2ps` when F16C is enabled). BF16 is the top half of a binary32, so
/// widening it is a 16-bit shift.
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

    @inline(__always)
    static func bf16x8(_ base: UnsafeRawPointer, _ byteOffset: Int = 0) -> SIMD8<Float> {
        let halves = base.loadUnaligned(fromByteOffset: byteOffset, as: SIMD8<UInt16>.self)
        let bits = SIMD8<UInt32>(truncatingIfNeeded: halves) &<< 16
        return unsafeBitCast(bits, to: SIMD8<Float>.self)
    }
}
