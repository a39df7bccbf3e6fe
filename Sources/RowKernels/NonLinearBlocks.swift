/// The non-linear 4-bit formats, whose nibbles index a 16-entry table
/// rather than being values themselves (as in ggml-common.h).
///
/// A table lookup per weight has no lane-wise form in portable SIMD, so
/// these kernels look up whole bytes: ``pairs`` maps a byte to the values of
/// both its nibbles, weights `i` and `i + 16` of a 32-weight group, which
/// the kernels read next to each other (``ColumnOrder``'s interleaved
/// halves).
///
/// - IQ4_NL, 32 weights in 18 bytes: `d: f16`, `qs: [UInt8; 16]`; weight
///   `i` (`i < 16`) is the low nibble of `qs[i]`, weight `i + 16` the high
///   one; `w = d·table[q]`.
/// - IQ4_XS, 256 weights in 136 bytes: `d: f16`, `scales_h: UInt16`,
///   `scales_l: [UInt8; 4]`, `qs: [UInt8; 128]`. Sub-block `s` of 32 weights
///   has the 6-bit scale `ls` (low 4 bits: nibble `s mod 2` of
///   `scales_l[s/2]`; high 2 bits: bits `2s…2s+1` of `scales_h`) and its 16
///   bytes of `qs` at `16s`, laid out as IQ4_NL's; `w = d·(ls − 32)·table[q]`.
enum NonLinearBlocks {
    static let iq4_nlBytes = 18
    static let iq4_xsBytes = 136

    /// The values IQ4_NL and IQ4_XS nibbles stand for.
    static let table: [Float] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    /// For each byte, the values of its low and high nibble.
    static let pairs: [SIMD2<Float>] = (0..<256).map { SIMD2(table[$0 & 0x0F], table[$0 >> 4]) }

    /// `d·(ls − 32)` for the eight IQ4_XS sub-blocks of `block`, lane `s`
    /// for sub-block `s`: its low 4 bits are bits `4s…4s+3` of the word of
    /// `scales_l`, its high 2 bits bits `2s…2s+1` of `scales_h`.
    @inline(__always)
    static func iq4_xsScales(_ block: UnsafeRawPointer, d: Float) -> SIMD8<Float> {
        let low = SIMD8(repeating: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let high = SIMD8(repeating: UInt32(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)
        let scales = ((low &>> (lanes &* 4)) & 0x0F) | (((high &>> (lanes &* 2)) & 0x03) &<< 4)
        return Lanes.float(unsigned: scales, minus: 32) * d
    }

    /// Writes the 32 weights of the 16 bytes at `qs`, times `scale`, in
    /// kernel order (weights `i` and `i + 16` at `2i` and `2i + 1`).
    @inline(__always)
    static func dequantize32(_ qs: UnsafeRawPointer, scale: Float, _ pairs: UnsafePointer<SIMD2<Float>>, _ out: UnsafeMutablePointer<Float>) {
        for i in 0..<16 {
            let pair = pairs[Int(qs.load(fromByteOffset: i, as: UInt8.self))] * scale
            UnsafeMutableRawPointer(out + 2 * i).storeBytes(of: pair, as: SIMD2<Float>.self)
        }
    }

    /// `Σ table[q]·x` over the 32 weights of the 16 bytes at `qs`, with `x`
    /// in kernel order, as four lanes still to be added (the caller
    /// accumulates them, scaled, across blocks, so that no block waits on
    /// the previous one's horizontal sum).
    @inline(__always)
    static func dot32(_ qs: UnsafeRawPointer, _ pairs: UnsafePointer<SIMD2<Float>>, _ x: UnsafePointer<Float>) -> SIMD4<Float> {
        var acc0 = SIMD4<Float>(), acc1 = SIMD4<Float>()
        for i in stride(from: 0, to: 16, by: 4) {
            @inline(__always) func weights(_ byte: Int) -> SIMD4<Float> {
                SIMD4(lowHalf: pairs[Int(qs.load(fromByteOffset: byte, as: UInt8.self))],
                      highHalf: pairs[Int(qs.load(fromByteOffset: byte + 1, as: UInt8.self))])
            }
            acc0.accumulate(weights(i), UnsafeRawPointer(x + 2 * i).loadUnaligned(as: SIMD4<Float>.self))
            acc1.accumulate(weights(i + 2), UnsafeRawPointer(x + 2 * i + 4).loadUnaligned(as: SIMD4<Float>.self))
        }
        return acc0 + acc1
    }
}

extension RowDequantizer {
    static func iq4_nl(_ row: UnsafeRawPointer, _ columns: Int, _ out: UnsafeMutablePointer<Float>) {
        NonLinearBlocks.pairs.withUnsafeBufferPointer { pairs in
            for block in 0..<(columns / 32) {
                let base = row + block * NonLinearBlocks.iq4_nlBytes
                NonLinearBlocks.dequantize32(base + 2, scale: HalfPrecision.f16(base), pairs.baseAddress!, out + 32 * block)
            }
        }
    }

    static func iq4_xs(_ row: UnsafeRawPointer, _ columns: Int, _ out: UnsafeMutablePointer<Float>) {
        NonLinearBlocks.pairs.withUnsafeBufferPointer { pairs in
            for block in 0..<(columns / 256) {
                let base = row + block * NonLinearBlocks.iq4_xsBytes
                let scales = NonLinearBlocks.iq4_xsScales(base, d: HalfPrecision.f16(base))
                for s in 0..<8 {
                    NonLinearBlocks.dequantize32(base + 8 + 16 * s, scale: scales[s], pairs.baseAddress!, out + 256 * block + 32 * s)
                }
            }
        }
    }
}

extension RowDot {
    /// Per block: `d · Σ table[q]·x`.
    static func iq4_nl(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        NonLinearBlocks.pairs.withUnsafeBufferPointer { pairs in
            var acc0 = SIMD4<Float>(), acc1 = SIMD4<Float>()
            var block = 0
            let blocks = columns / 32
            while block < blocks {
                let base = row + block * NonLinearBlocks.iq4_nlBytes
                let dot = NonLinearBlocks.dot32(base + 2, pairs.baseAddress!, x + 32 * block)
                if block & 1 == 0 {
                    acc0.accumulate(SIMD4(repeating: HalfPrecision.f16(base)), dot)
                } else {
                    acc1.accumulate(SIMD4(repeating: HalfPrecision.f16(base)), dot)
                }
                block += 1
            }
            return (acc0 + acc1).sum()
        }
    }

    /// Per sub-block: `d·(ls − 32) · Σ table[q]·x`.
    static func iq4_xs(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        NonLinearBlocks.pairs.withUnsafeBufferPointer { pairs in
            var acc0 = SIMD4<Float>(), acc1 = SIMD4<Float>()
            for block in 0..<(columns / 256) {
                let base = row + block * NonLinearBlocks.iq4_xsBytes
                let scales = NonLinearBlocks.iq4_xsScales(base, d: HalfPrecision.f16(base))
                for pair in 0..<4 {
                    let s = 2 * pair
                    let xSub = x + 256 * block + 32 * s
                    acc0.accumulate(SIMD4(repeating: scales[s]), NonLinearBlocks.dot32(base + 8 + 16 * s, pairs.baseAddress!, xSub))
                    acc1.accumulate(SIMD4(repeating: scales[s + 1]), NonLinearBlocks.dot32(base + 24 + 16 * s, pairs.baseAddress!, xSub + 32))
                }
            }
            return (acc0 + acc1).sum()
        }
    }
}
