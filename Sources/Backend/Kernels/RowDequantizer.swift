/// Expands one stored row of any supported type to `Float`.
///
/// Used by ``WeightMatrix/dequantizeRow(_:into:)`` and by the tiles that
/// ``MatrixMultiply/matMul(_:x:tokens:y:pool:)`` hands to BLAS; the
/// bandwidth-bound decode path reads the stored bytes directly instead.
enum RowDequantizer {
    static func dequantize(type: GGMLType, row: UnsafeRawPointer, columns: Int, into out: UnsafeMutablePointer<Float>) {
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
            for block in 0..<(columns / 32) {
                q4_0(row + block * BlockFormats.q4_0Bytes, out + block * 32)
            }
        case .q4_K:
            for block in 0..<(columns / 256) {
                q4_K(row + block * BlockFormats.q4_KBytes, out + block * 256)
            }
        case .q6_K:
            for block in 0..<(columns / 256) {
                q6_K(row + block * BlockFormats.q6_KBytes, out + block * 256)
            }
        default:
            // WeightMatrix.init only admits the types above.
            preconditionFailure("no dequantizer for \(type.name)")
        }
    }

    @inline(__always)
    private static func store<V: SIMD>(_ value: V, _ out: UnsafeMutablePointer<Float>) where V.Scalar == Float {
        UnsafeMutableRawPointer(out).storeBytes(of: value, as: V.self)
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
        while column + 8 <= columns {
            store(HalfPrecision.bf16x8(row, column * 2), out + column)
            column += 8
        }
        while column < columns {
            out[column] = HalfPrecision.bf16(row, column * 2)
            column += 1
        }
    }

    @inline(__always)
    static func q8_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.f16(block)
        let q = block.loadUnaligned(fromByteOffset: 2, as: SIMD32<Int8>.self)
        store(SIMD32<Float>(SIMD32<Int32>(truncatingIfNeeded: q)) * d, out)
    }

    @inline(__always)
    static func q4_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.f16(block)
        let packed = block.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
        store(((packed & 0x0F).floats - 8) * d, out)
        store(((packed &>> 4).floats - 8) * d, out + 16)
    }

    @inline(__always)
    static func q4_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.f16(block)
        let dmin = HalfPrecision.f16(block, 2)
        let (scales, mins) = BlockFormats.q4_KScalesAndMins(block + 4)
        let factors = scales * d
        let offsets = mins * dmin
        let qs = block + 16
        for group in 0..<4 {
            let packed = qs.loadUnaligned(fromByteOffset: group * 32, as: SIMD32<UInt8>.self)
            let lowFactor = factors[2 * group], lowOffset = offsets[2 * group]
            let highFactor = factors[2 * group + 1], highOffset = offsets[2 * group + 1]
            store((packed & 0x0F).floats * lowFactor - lowOffset, out + group * 64)
            store((packed &>> 4).floats * highFactor - highOffset, out + group * 64 + 32)
        }
    }

    @inline(__always)
    static func q6_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.f16(block, 208)
        for half in 0..<2 {
            let ql = block + half * 64
            let qh = block + 128 + half * 32
            let scales = block + 192 + half * 8
            let base = out + half * 128
            // Weights l, l+32, l+64, l+96 share one qh byte; 16 at a time.
            for part in 0..<2 {
                let low = ql.loadUnaligned(fromByteOffset: part * 16, as: SIMD16<UInt8>.self)
                let low32 = ql.loadUnaligned(fromByteOffset: 32 + part * 16, as: SIMD16<UInt8>.self)
                let high = qh.loadUnaligned(fromByteOffset: part * 16, as: SIMD16<UInt8>.self)
                let q1 = (low & 0x0F) | ((high & 3) &<< 4)
                let q2 = (low32 & 0x0F) | (((high &>> 2) & 3) &<< 4)
                let q3 = (low &>> 4) | (((high &>> 4) & 3) &<< 4)
                let q4 = (low32 &>> 4) | (((high &>> 6) & 3) &<< 4)
                func scale(_ index: Int) -> Float {
                    d * Float(scales.load(fromByteOffset: index, as: Int8.self))
                }
                store((q1.floats - 32) * scale(part), base + part * 16)
                store((q2.floats - 32) * scale(part + 2), base + 32 + part * 16)
                store((q3.floats - 32) * scale(part + 4), base + 64 + part * 16)
                store((q4.floats - 32) * scale(part + 6), base + 96 + part * 16)
            }
        }
    }
}
