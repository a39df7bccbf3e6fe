/// The non-linear 4-bit formats, whose nibbles index a 16-entry table
/// rather than being values themselves (as in ggml-common.h). Read in
/// column order: a table lookup per weight has no lane-wise form in
/// portable SIMD, so these kernels look values up one byte at a time.
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

    /// `d·(ls − 32)` for IQ4_XS sub-block `s` of `block`.
    @inline(__always)
    static func iq4_xsScale(_ block: UnsafeRawPointer, d: Float, _ s: Int) -> Float {
        let low = (UInt32(block.load(fromByteOffset: 4 + s / 2, as: UInt8.self)) &>> UInt32(4 * (s % 2))) & 0x0F
        let high = (UInt32(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)) &>> UInt32(2 * s)) & 0x03
        return d * Float(Int32(low | (high &<< 4)) - 32)
    }

    /// Writes the 32 weights of the 16 bytes at `qs`, times `scale`.
    @inline(__always)
    static func dequantize32(_ qs: UnsafeRawPointer, scale: Float, _ table: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        for i in 0..<16 {
            let byte = Int(qs.load(fromByteOffset: i, as: UInt8.self))
            out[i] = scale * table[byte & 0x0F]
            out[i + 16] = scale * table[byte >> 4]
        }
    }

    /// `Σ table[q]·x` over the 32 weights of the 16 bytes at `qs`, as four
    /// lanes still to be added (the caller accumulates them, scaled, across
    /// blocks, so that no block waits on the previous one's horizontal sum).
    @inline(__always)
    static func dot32(_ qs: UnsafeRawPointer, _ table: UnsafePointer<Float>, _ x: UnsafePointer<Float>) -> SIMD4<Float> {
        var low = SIMD4<Float>(), high = SIMD4<Float>()
        for i in stride(from: 0, to: 16, by: 4) {
            let bytes = qs.loadUnaligned(fromByteOffset: i, as: UInt32.self)
            @inline(__always) func nibble(_ shift: UInt32) -> Float { table[Int((bytes >> shift) & 0x0F)] }
            let lowWeights = SIMD4(nibble(0), nibble(8), nibble(16), nibble(24))
            let highWeights = SIMD4(nibble(4), nibble(12), nibble(20), nibble(28))
            low.addProduct(lowWeights, UnsafeRawPointer(x + i).loadUnaligned(as: SIMD4<Float>.self))
            high.addProduct(highWeights, UnsafeRawPointer(x + 16 + i).loadUnaligned(as: SIMD4<Float>.self))
        }
        return low + high
    }
}

extension RowDequantizer {
    static func iq4_nl(_ row: UnsafeRawPointer, _ columns: Int, _ out: UnsafeMutablePointer<Float>) {
        NonLinearBlocks.table.withUnsafeBufferPointer { table in
            for block in 0..<(columns / 32) {
                let base = row + block * NonLinearBlocks.iq4_nlBytes
                NonLinearBlocks.dequantize32(base + 2, scale: HalfPrecision.f16(base), table.baseAddress!, out + 32 * block)
            }
        }
    }

    static func iq4_xs(_ row: UnsafeRawPointer, _ columns: Int, _ out: UnsafeMutablePointer<Float>) {
        NonLinearBlocks.table.withUnsafeBufferPointer { table in
            for block in 0..<(columns / 256) {
                let base = row + block * NonLinearBlocks.iq4_xsBytes
                let d = HalfPrecision.f16(base)
                for s in 0..<8 {
                    NonLinearBlocks.dequantize32(
                        base + 8 + 16 * s, scale: NonLinearBlocks.iq4_xsScale(base, d: d, s), table.baseAddress!,
                        out + 256 * block + 32 * s)
                }
            }
        }
    }
}

extension RowDot {
    /// Per block: `d · Σ table[q]·x`.
    static func iq4_nl(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        NonLinearBlocks.table.withUnsafeBufferPointer { table in
            var acc0 = SIMD4<Float>(), acc1 = SIMD4<Float>()
            var block = 0
            let blocks = columns / 32
            while block < blocks {
                let base = row + block * NonLinearBlocks.iq4_nlBytes
                let dot = NonLinearBlocks.dot32(base + 2, table.baseAddress!, x + 32 * block)
                if block & 1 == 0 {
                    acc0.addProduct(SIMD4(repeating: HalfPrecision.f16(base)), dot)
                } else {
                    acc1.addProduct(SIMD4(repeating: HalfPrecision.f16(base)), dot)
                }
                block += 1
            }
            return (acc0 + acc1).sum()
        }
    }

    /// Per sub-block: `d·(ls − 32) · Σ table[q]·x`.
    static func iq4_xs(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        NonLinearBlocks.table.withUnsafeBufferPointer { table in
            var acc0 = SIMD4<Float>(), acc1 = SIMD4<Float>()
            for block in 0..<(columns / 256) {
                let base = row + block * NonLinearBlocks.iq4_xsBytes
                let d = HalfPrecision.f16(base)
                for pair in 0..<4 {
                    let s = 2 * pair
                    let xSub = x + 256 * block + 32 * s
                    acc0.addProduct(SIMD4(repeating: NonLinearBlocks.iq4_xsScale(base, d: d, s)),
                                    NonLinearBlocks.dot32(base + 8 + 16 * s, table.baseAddress!, xSub))
                    acc1.addProduct(SIMD4(repeating: NonLinearBlocks.iq4_xsScale(base, d: d, s + 1)),
                                    NonLinearBlocks.dot32(base + 24 + 16 * s, table.baseAddress!, xSub + 32))
                }
            }
            return (acc0 + acc1).sum()
        }
    }
}
