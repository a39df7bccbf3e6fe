import GGMLTypes

/// Expands one stored row of any supported type to `Float`, in the order
/// the kernels read columns (``ColumnOrder``).
///
/// Used for the tiles that ``MatrixMultiply/matMul(_:x:tokens:y:pool:)``
/// hands to BLAS (whose activations are permuted the same way) and, put back
/// in column order, by ``WeightMatrix/dequantizeRow(_:into:)``. The
/// bandwidth-bound decode path reads the stored bytes directly instead.
public enum RowDequantizer {
    public static func dequantizeInKernelOrder(
        type: GGMLType, row: UnsafeRawPointer, columns: Int, into out: UnsafeMutablePointer<Float>
    ) {
        /// Expands the row's 256-weight super-blocks one by one.
        func superBlocks(_ bytes: Int, _ dequantize: (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void) {
            for block in 0..<(columns / 256) {
                dequantize(row + block * bytes, out + block * 256)
            }
        }
        switch type {
        case .f32:
            UnsafeMutableRawPointer(out).copyMemory(from: row, byteCount: columns * 4)
        case .f16:
            f16(row, columns, out)
        case .bf16:
            bf16(row, columns, out)
        case .q8_0:
            for block in 0..<(columns / 32) {
                q8_0(row + block * BlockFormats.q8_0Bytes, out + block * 32)
            }
        case .q4_0:
            smallBlocks(.q4_0, row, columns, out)
        case .q5_0:
            smallBlocks(.q5_0, row, columns, out)
        case .q4_1:
            smallBlocks(.q4_1, row, columns, out)
        case .q5_1:
            smallBlocks(.q5_1, row, columns, out)
        case .q4_K:
            superBlocks(BlockFormats.q4_KBytes, q4_K)
        case .q6_K:
            superBlocks(BlockFormats.q6_KBytes, q6_K)
        case .q5_K:
            superBlocks(SuperBlocks.q5_KBytes, q5_K)
        case .q3_K:
            superBlocks(SuperBlocks.q3_KBytes, q3_K)
        case .q2_K:
            superBlocks(SuperBlocks.q2_KBytes, q2_K)
        case .iq4_nl:
            iq4_nl(row, columns, out)
        case .iq4_xs:
            iq4_xs(row, columns, out)
        default:
            // WeightMatrix.init only admits the types above.
            preconditionFailure("no dequantizer for \(type.name)")
        }
    }

    @inline(__always)
    private static func store(_ value: SIMD8<Float>, _ out: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(out).storeBytes(of: value, as: SIMD8<Float>.self)
    }

    private static func f16(_ row: UnsafeRawPointer, _ columns: Int, _ out: UnsafeMutablePointer<Float>) {
        var column = 0
        while column + 8 <= columns {
            store(HalfPrecision.f16x8(row, column * 2), out + column)
            column += 8
        }
        while column < columns {
            out[column] = HalfPrecision.f16(row, column * 2)
            column += 1
        }
    }

    private static func bf16(_ row: UnsafeRawPointer, _ columns: Int, _ out: UnsafeMutablePointer<Float>) {
        var column = 0
        // Whole groups of 32 only: ColumnOrder leaves the tail in column order.
        while column + 32 <= columns {
            for half in 0..<2 {
                let (even, odd) = HalfPrecision.bf16Pairs(row, (column + 16 * half) * 2)
                store(even, out + column + 16 * half)
                store(odd, out + column + 16 * half + 8)
            }
            column += 32
        }
        while column < columns {
            out[column] = HalfPrecision.bf16(row, column * 2)
            column += 1
        }
    }

    @inline(__always)
    static func q8_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.f16(block)
        let words = Lanes.load(block, 2)
        for k in 0..<4 {
            store(Lanes.signedByte(words, k) * d, out + 8 * k)
        }
    }

    private static func smallBlocks(_ format: SmallBlocks, _ row: UnsafeRawPointer, _ columns: Int, _ out: UnsafeMutablePointer<Float>) {
        let blocks = columns / 32
        var block = 0
        while block + 2 <= blocks {
            let pair = SmallBlocks.Pair(row + block * format.blockBytes, format)
            for n in 0..<8 {
                let scaled = pair.values(n) * pair.scales
                store(format.hasMin ? scaled + pair.mins : scaled, out + block * 32 + 8 * n)
            }
            block += 2
        }
        if block < blocks {
            let single = SmallBlocks.Single(row + block * format.blockBytes, format)
            for n in 0..<8 {
                let scaled = single.values(n) * single.scale
                UnsafeMutableRawPointer(out + block * 32 + 4 * n).storeBytes(
                    of: format.hasMin ? scaled + single.min : scaled, as: SIMD4<Float>.self)
            }
        }
    }

    @inline(__always)
    static func q4_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let (scales, mins) = BlockFormats.q4_KScalesAndMins(block + 4)
        let factors = scales * HalfPrecision.f16(block)
        let offsets = mins * HalfPrecision.f16(block, 2)
        for group in 0..<4 {
            let words = Lanes.load(block, 16 + 32 * group)
            let lowFactor = factors[2 * group], lowOffset = offsets[2 * group]
            let highFactor = factors[2 * group + 1], highOffset = offsets[2 * group + 1]
            for k in 0..<4 {
                let (low, high) = Lanes.nibbles(words, k)
                store(Lanes.float(unsigned: low) * lowFactor - lowOffset, out + 64 * group + 8 * k)
                store(Lanes.float(unsigned: high) * highFactor - highOffset, out + 64 * group + 32 + 8 * k)
            }
        }
    }

    @inline(__always)
    static func q6_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.f16(block, 208)
        for half in 0..<2 {
            let low = Lanes.load(block, 64 * half)
            let low32 = Lanes.load(block, 64 * half + 32)
            let high = Lanes.load(block, 128 + 32 * half)
            let scales = BlockFormats.q6_KLaneScales(block + 192 + 8 * half, d: d)
            let base = out + 128 * half
            for k in 0..<4 {
                let (q1, q2, q3, q4) = Lanes.q6_K(low: low, low32: low32, high: high, k)
                store(Lanes.float(unsigned: q1, minus: 32) * scales.0, base + 8 * k)
                store(Lanes.float(unsigned: q2, minus: 32) * scales.1, base + 32 + 8 * k)
                store(Lanes.float(unsigned: q3, minus: 32) * scales.2, base + 64 + 8 * k)
                store(Lanes.float(unsigned: q4, minus: 32) * scales.3, base + 96 + 8 * k)
            }
        }
    }
}
