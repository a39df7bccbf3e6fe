/// Unpacking of quantized weights into 8-lane vectors without changing the
/// lane width.
///
/// Swift's SIMD conversions between element widths (`Int8` → `Int32`,
/// `Int32` → `Float`) are generic library code: in a large kernel they are
/// not inlined and cost a call per vector. So the kernels load 32 bytes as
/// eight 32-bit lanes, pick byte `k` (or a nibble of it) of every lane with
/// shifts and masks, and turn small integers into floats with the
/// exponent trick (`bits(2²³) | q` is the float `2²³ + q`). Lane `j` of the
/// vector for byte `k` holds stored element `4j + k`: the kernels read the
/// columns in that order, and ``ColumnOrder`` permutes the activations to
/// match once per call.
enum Lanes {
    /// The float with bit pattern `0x4B00_0000`: 2²³, whose last mantissa
    /// bit has the value 1.
    static let magic: Float = 8_388_608

    /// 32 bytes at `byteOffset` as eight 32-bit lanes.
    @inline(__always)
    static func load(_ base: UnsafeRawPointer, _ byteOffset: Int) -> SIMD8<UInt32> {
        base.loadUnaligned(fromByteOffset: byteOffset, as: SIMD8<UInt32>.self)
    }

    /// Lanes holding integers in `0 ..< 2²³`, as floats, minus `offset`.
    @inline(__always)
    static func float(unsigned value: SIMD8<UInt32>, minus offset: Float = 0) -> SIMD8<Float> {
        unsafeBitCast(value | 0x4B00_0000, to: SIMD8<Float>.self) - (magic + offset)
    }

    /// Four-lane variant, for a lone block of 16 bytes of nibbles (``SmallBlocks``).
    @inline(__always)
    static func float(unsigned value: SIMD4<UInt32>, minus offset: Float = 0) -> SIMD4<Float> {
        unsafeBitCast(value | 0x4B00_0000, to: SIMD4<Float>.self) - (magic + offset)
    }

    /// Byte `k` of every lane, as a signed 8-bit value in a float (Q8_0).
    @inline(__always)
    static func signedByte(_ words: SIMD8<UInt32>, _ k: Int) -> SIMD8<Float> {
        // Sign-extend by moving the byte to the top and shifting back
        // arithmetically; then 2²³ + 2²² + q is exact for |q| < 2²².
        let value = unsafeBitCast(words &<< UInt32(24 - 8 * k), to: SIMD8<Int32>.self) &>> 24
        return unsafeBitCast(value &+ 0x4B40_0000, to: SIMD8<Float>.self) - 12_582_912
    }

    /// The low and high nibbles of byte `k` of every lane as `1 + q/16`:
    /// moved right under the exponent of 1.0, one operation fewer than
    /// ``float(unsigned:minus:)`` (`q = 16·v − 16`).
    @inline(__always)
    static func unitNibbles(_ words: SIMD8<UInt32>, _ k: Int) -> (low: SIMD8<Float>, high: SIMD8<Float>) {
        // Low nibble of byte k: bits 8k..8k+3, to bits 19...22; high nibble: 8k+4.
        @inline(__always) func place(_ from: Int) -> SIMD8<Float> {
            let shift = 19 - from
            let moved = shift >= 0 ? words &<< UInt32(shift) : words &>> UInt32(-shift)
            return unsafeBitCast((moved & 0x0078_0000) | 0x3F80_0000, to: SIMD8<Float>.self)
        }
        return (place(8 * k), place(8 * k + 4))
    }

    /// The low and high nibbles of byte `k` of every lane, as 0…15.
    @inline(__always)
    static func nibbles(_ words: SIMD8<UInt32>, _ k: Int) -> (low: SIMD8<UInt32>, high: SIMD8<UInt32>) {
        let shifted = words &>> UInt32(8 * k)
        return (shifted & 0x0F, (shifted &>> 4) & 0x0F)
    }

    /// The four 6-bit values of byte `k` of a Q6_K quarter: `low` holds
    /// `ql[l]`, `low32` holds `ql[l + 32]`, `high` holds `qh[l]`; the results
    /// are the stored values of weights `l`, `l + 32`, `l + 64`, `l + 96`.
    @inline(__always)
    static func q6_K(
        low: SIMD8<UInt32>, low32: SIMD8<UInt32>, high: SIMD8<UInt32>, _ k: Int
    ) -> (SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>) {
        let shift = UInt32(8 * k)
        let a = low &>> shift, b = low32 &>> shift, h = high &>> shift
        return ((a & 0x0F) | ((h & 0x03) &<< 4),
                (b & 0x0F) | ((h & 0x0C) &<< 2),
                ((a &>> 4) & 0x0F) | (h & 0x30),
                ((b &>> 4) & 0x0F) | ((h & 0xC0) &>> 2))
    }
}
