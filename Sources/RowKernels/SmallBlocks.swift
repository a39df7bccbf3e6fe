/// Unpacking of the 32-weight Q4_0, Q4_1, Q5_0 and Q5_1 blocks, whose 16 bytes of
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
/// - Q4_1, 20 bytes: `d: f16`, `m: f16`, `qs: [UInt8; 16]`; `w = d·q + m`.
/// - Q5_1, 24 bytes: `d: f16`, `m: f16`, `qh: UInt32`, `qs: [UInt8; 16]`;
///   `w = d·q + m`.
struct SmallBlocks {
    /// Q5_0 or Q5_1 (a fifth bit per weight in `qh`).
    let hasHighBits: Bool
    /// Q4_1 or Q5_1 (an `m: f16` after `d`, added to every weight).
    let hasMin: Bool
    let blockBytes: Int
    /// Where the nibbles start in a block.
    let nibbleOffset: Int
    /// The stored value of weight 0 (8 or 16; 0 for the types with `m`).
    let zero: Float

    /// Where `qh` is in a block.
    @inline(__always)
    var highBitsOffset: Int { hasMin ? 4 : 2 }

    /// `2^bits`, the factor between ``Pair/unitValues(_:laneHighBits:)``'s
    /// `1 + q / 2^bits` and `q`.
    @inline(__always)
    var unitScale: Float { hasHighBits ? 32 : 16 }

    @inline(__always)
    static var q4_0: SmallBlocks { SmallBlocks(hasHighBits: false, hasMin: false, blockBytes: 18, nibbleOffset: 2, zero: 8) }
    @inline(__always)
    static var q5_0: SmallBlocks { SmallBlocks(hasHighBits: true, hasMin: false, blockBytes: 22, nibbleOffset: 6, zero: 16) }
    @inline(__always)
    static var q4_1: SmallBlocks { SmallBlocks(hasHighBits: false, hasMin: true, blockBytes: 20, nibbleOffset: 4, zero: 0) }
    @inline(__always)
    static var q5_1: SmallBlocks { SmallBlocks(hasHighBits: true, hasMin: true, blockBytes: 24, nibbleOffset: 8, zero: 0) }

    /// A literal at each use, so that it folds into a blend instead of
    /// being a lazily initialised global.
    @inline(__always)
    private static var firstLanes: SIMD8<UInt32> { SIMD8(.max, .max, .max, .max, 0, 0, 0, 0) }

    @inline(__always)
    private static func blend(_ first: SIMD8<UInt32>, _ second: SIMD8<UInt32>) -> SIMD8<UInt32> {
        (first & firstLanes) | (second & ~firstLanes)
    }

    /// The two blocks at `pair` (the first block's start), unpacked lazily.
    struct Pair {
        let words: SIMD8<UInt32>
        /// Lane `j`'s block's `qh`.
        let highBits: SIMD8<UInt32>
        let scales: SIMD8<Float>
        /// Lane `j`'s block's `m` (zero for Q4_0 and Q5_0).
        let mins: SIMD8<Float>
        let format: SmallBlocks

        @inline(__always)
        init(_ pair: UnsafeRawPointer, _ format: SmallBlocks) {
            self.format = format
            let second = pair + format.blockBytes
            // Two 32-byte loads that stay inside the pair: the first starts at
            // the first block's nibbles, the second ends with the second's.
            words = SmallBlocks.blend(
                Lanes.load(pair, format.nibbleOffset), Lanes.load(second, format.nibbleOffset - 16))
            let d0 = HalfPrecision.f16(pair), d1 = HalfPrecision.f16(second)
            scales = unsafeBitCast(SmallBlocks.blend(
                SIMD8(repeating: d0.bitPattern), SIMD8(repeating: d1.bitPattern)), to: SIMD8<Float>.self)
            if format.hasMin {
                let m0 = HalfPrecision.f16(pair, 2), m1 = HalfPrecision.f16(second, 2)
                mins = unsafeBitCast(SmallBlocks.blend(
                    SIMD8(repeating: m0.bitPattern), SIMD8(repeating: m1.bitPattern)), to: SIMD8<Float>.self)
            } else {
                mins = SIMD8()
            }
            if format.hasHighBits {
                let qh0 = pair.loadUnaligned(fromByteOffset: format.highBitsOffset, as: UInt32.self)
                let qh1 = second.loadUnaligned(fromByteOffset: format.highBitsOffset, as: UInt32.self)
                highBits = SmallBlocks.blend(SIMD8(repeating: qh0), SIMD8(repeating: qh1))
            } else {
                highBits = SIMD8()
            }
        }

        /// Nibble `n` of every lane, with its fifth bit, as the float
        /// `1 + q / 2^bits` (`bits` = 4 or 5): `q` is moved right under the
        /// exponent of 1.0, which takes fewer operations than
        /// ``values(_:)``'s integer-to-float conversion; the kernel removes
        /// the 1 and the zero point with the block's activation sum.
        /// `laneHighBits` is ``highBits`` shifted right by `4·(j mod 4)`
        /// in lane `j` (``laneShiftedHighBits``), computed once per pair.
        @inline(__always)
        func unitValues(_ n: Int, laneHighBits: SIMD8<UInt32>) -> SIMD8<Float> {
            // The four nibble bits go to mantissa bits 19...22 (Q4_0) or
            // 18...21 (Q5_0, whose fifth bit goes to bit 22).
            let top = format.hasHighBits ? 18 : 19
            let shift = top - 4 * n
            let moved = shift >= 0 ? words &<< UInt32(shift) : words &>> UInt32(-shift)
            var bits = (moved & (UInt32(0x0F) &<< UInt32(top))) | 0x3F80_0000
            if format.hasHighBits {
                // Lane j's fifth bit is bit 16·(n mod 2) + n/2 of laneHighBits.
                let bit = 16 * (n & 1) + n / 2
                bits |= (laneHighBits &<< UInt32(22 - bit)) & 0x0040_0000
            }
            return unsafeBitCast(bits, to: SIMD8<Float>.self)
        }

        /// ``highBits`` shifted right by `4·(j mod 4)` in lane `j`, for
        /// ``unitValues(_:laneHighBits:)``.
        @inline(__always)
        var laneShiftedHighBits: SIMD8<UInt32> {
            highBits &>> SIMD8<UInt32>(0, 4, 8, 12, 0, 4, 8, 12)
        }

        /// Nibble `n` of every lane, with its fifth bit, as `q − zero`
        /// (not yet times `d`).
        @inline(__always)
        func values(_ n: Int) -> SIMD8<Float> {
            var q = (words &>> UInt32(4 * n)) & 0x0F
            if format.hasHighBits {
                // Lane j needs bit 16·(n mod 2) + 4·(j mod 4) + n/2 of its qh.
                let bit = UInt32(16 * (n & 1) + n / 2)
                let shifts = SIMD8<UInt32>(bit, bit + 4, bit + 8, bit + 12, bit, bit + 4, bit + 8, bit + 12)
                q |= ((highBits &>> shifts) & 1) &<< 4
            }
            return Lanes.float(unsigned: q, minus: format.zero)
        }
    }

    /// A lone block at `block`, in four lanes.
    struct Single {
        let words: SIMD4<UInt32>
        let highBits: SIMD4<UInt32>
        let scale: Float
        /// The block's `m` (zero for Q4_0 and Q5_0).
        let min: Float
        let format: SmallBlocks

        @inline(__always)
        init(_ block: UnsafeRawPointer, _ format: SmallBlocks) {
            self.format = format
            words = block.loadUnaligned(fromByteOffset: format.nibbleOffset, as: SIMD4<UInt32>.self)
            scale = HalfPrecision.f16(block)
            min = format.hasMin ? HalfPrecision.f16(block, 2) : 0
            if format.hasHighBits {
                highBits = SIMD4(repeating: block.loadUnaligned(fromByteOffset: format.highBitsOffset, as: UInt32.self))
                    &>> SIMD4<UInt32>(0, 4, 8, 12)
            } else {
                highBits = SIMD4()
            }
        }

        @inline(__always)
        func values(_ n: Int) -> SIMD4<Float> {
            var q = (words &>> UInt32(4 * n)) & 0x0F
            if format.hasHighBits {
                let bit = 16 * (n & 1) + n / 2
                q |= ((highBits &>> UInt32(bit)) & 1) &<< 4
            }
            return Lanes.float(unsigned: q, minus: format.zero)
        }
    }
}
