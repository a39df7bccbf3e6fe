/// Unpacking of the 32-weight Q4_0 and Q5_0 blocks, whose 16 bytes of
/// nibbles fill only four 32-bit lanes.
///
/// Two consecutive blocks are read together into eight lanes (lanes 0–3 from
/// the first, 4–7 from the second), so the arithmetic runs on full vectors;
/// a row's last block, when it has no partner, is read alone into four lanes.
/// Nibble `n = 2m + h` of a lane `j` is byte `4j + m`'s low (`h = 0`) or high
/// (`h = 1`) nibble: weight `16h + 4j + m` of its block.
///
/// - Q4_0, 18 bytes: `d: f16`, `qs: [UInt8; 16]`; `w = d·(q − 8)`.
/// - Q5_0, 22 bytes: `d: f16`, `qh: UInt32` (bit `i`: the fifth bit of
///   weight `i`), `qs: [UInt8; 16]`; `w = d·(q − 16)`.
///
/// A `bits`-bit value `q` is unpacked as the float `v = 1 + q/2^bits`, by
/// moving its bits right under the exponent of 1.0: two operations fewer per
/// vector than converting `q` itself, which matters in these compute-bound
/// kernels. Then `q − zero = 2^bits·v − (2^bits + zero)`, exactly.
struct SmallBlocks {
    /// 4 (Q4_0) or 5 (Q5_0).
    let bits: Int
    let blockBytes: Int
    /// Where the nibbles start in a block.
    let nibbleOffset: Int
    /// The stored value of weight 0 (8 or 16).
    let zero: Float

    @inline(__always)
    static var q4_0: SmallBlocks { SmallBlocks(bits: 4, blockBytes: 18, nibbleOffset: 2, zero: 8) }
    @inline(__always)
    static var q5_0: SmallBlocks { SmallBlocks(bits: 5, blockBytes: 22, nibbleOffset: 6, zero: 16) }

    var hasHighBits: Bool { bits == 5 }
    /// `2^bits`: the factor from `v` back to `q`.
    var unitScale: Float { Float(1 << bits) }
    /// `2^bits + zero`: what `2^bits·v` exceeds `q − zero` by.
    var unitOffset: Float { unitScale + zero }
    /// The mantissa bit where `q`'s lowest bit goes.
    private var lowestBit: Int { 23 - bits }

    /// A literal at each use, so that it folds into a blend instead of
    /// being a lazily initialised global.
    @inline(__always)
    private static var firstLanes: SIMD8<UInt32> { SIMD8(.max, .max, .max, .max, 0, 0, 0, 0) }

    @inline(__always)
    private static func blend(_ first: SIMD8<UInt32>, _ second: SIMD8<UInt32>) -> SIMD8<UInt32> {
        (first & firstLanes) | (second & ~firstLanes)
    }

    /// Nibble `n` of `words`, moved to the mantissa bits of `q`'s low four bits.
    @inline(__always)
    private func placedNibble<V: SIMD>(_ words: V, _ n: Int) -> V where V.Scalar == UInt32 {
        let shift = lowestBit - 4 * n
        let moved = shift >= 0 ? words &<< UInt32(shift) : words &>> UInt32(-shift)
        return moved & V(repeating: UInt32(0xF) << UInt32(lowestBit))
    }

    /// The two blocks at `pair` (the first block's start), unpacked lazily.
    struct Pair {
        let words: SIMD8<UInt32>
        /// Lane `j`'s block's `qh`, and that shifted right by 16: the fifth
        /// bits of its first and second 16 weights.
        let highBits: (SIMD8<UInt32>, SIMD8<UInt32>)
        /// `2^bits · d` of lane `j`'s block.
        let scales: SIMD8<Float>
        let d0: Float, d1: Float
        let format: SmallBlocks

        @inline(__always)
        init(_ pair: UnsafeRawPointer, _ format: SmallBlocks) {
            self.format = format
            let second = pair + format.blockBytes
            // Two 32-byte loads that stay inside the pair: the first starts at
            // the first block's nibbles, the second ends with the second's.
            words = SmallBlocks.blend(
                Lanes.load(pair, format.nibbleOffset), Lanes.load(second, format.nibbleOffset - 16))
            d0 = HalfPrecision.f16(pair)
            d1 = HalfPrecision.f16(second)
            scales = unsafeBitCast(SmallBlocks.blend(
                SIMD8(repeating: d0.bitPattern), SIMD8(repeating: d1.bitPattern)), to: SIMD8<Float>.self)
                * format.unitScale
            if format.hasHighBits {
                let qh0 = pair.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
                let qh1 = second.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
                let both = SmallBlocks.blend(SIMD8(repeating: qh0), SIMD8(repeating: qh1))
                highBits = (both, both &>> 16)
            } else {
                highBits = (SIMD8(), SIMD8())
            }
        }

        /// Nibble `n` of every lane, with its fifth bit, as `1 + q/2^bits`.
        @inline(__always)
        func unitValues(_ n: Int) -> SIMD8<Float> {
            var q = format.placedNibble(words, n)
            if format.hasHighBits {
                // Lane j needs bit 4·(j mod 4) + n/2 of its half of qh, at bit 22.
                let source = (n & 1 == 0) ? highBits.0 : highBits.1
                let bit = UInt32(n / 2)
                let shifts = SIMD8<UInt32>(22 - bit, 18 - bit, 14 - bit, 10 - bit, 22 - bit, 18 - bit, 14 - bit, 10 - bit)
                q |= (source &<< shifts) & 0x0040_0000
            }
            return unsafeBitCast(q | 0x3F80_0000, to: SIMD8<Float>.self)
        }
    }

    /// A lone block at `block`, in four lanes.
    struct Single {
        let words: SIMD4<UInt32>
        let highBits: (SIMD4<UInt32>, SIMD4<UInt32>)
        let d: Float
        let format: SmallBlocks

        @inline(__always)
        init(_ block: UnsafeRawPointer, _ format: SmallBlocks) {
            self.format = format
            words = block.loadUnaligned(fromByteOffset: format.nibbleOffset, as: SIMD4<UInt32>.self)
            d = HalfPrecision.f16(block)
            if format.hasHighBits {
                let qh = SIMD4(repeating: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
                highBits = (qh, qh &>> 16)
            } else {
                highBits = (SIMD4(), SIMD4())
            }
        }

        @inline(__always)
        func unitValues(_ n: Int) -> SIMD4<Float> {
            var q = format.placedNibble(words, n)
            if format.hasHighBits {
                let source = (n & 1 == 0) ? highBits.0 : highBits.1
                let bit = UInt32(n / 2)
                q |= (source &<< SIMD4<UInt32>(22 - bit, 18 - bit, 14 - bit, 10 - bit)) & 0x0040_0000
            }
            return unsafeBitCast(q | 0x3F80_0000, to: SIMD4<Float>.self)
        }
    }
}
