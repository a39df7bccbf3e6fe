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
        for part in 0..<4 {
            store(Widen.int8(block, 2 + part * 8) * d, out + part * 8)
        }
    }

    @inline(__always)
    static func q4_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.f16(block)
        for part in 0..<2 {
            let packed = Widen.uint8(block, 2 + part * 8)
            store(Widen.float((packed & 0x0F) &- 8) * d, out + part * 8)
            store(Widen.float((packed &>> 4) &- 8) * d, out + 16 + part * 8)
        }
    }

    @inline(__always)
    static func q4_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.f16(block)
        let dmin = HalfPrecision.f16(block, 2)
        let (scales, mins) = BlockFormats.q4_KScalesAndMins(block + 4)
        let factors = scales * d
        let offsets = mins * dmin
        for group in 0..<4 {
            let lowFactor = factors[2 * group], lowOffset = offsets[2 * group]
            let highFactor = factors[2 * group + 1], highOffset = offsets[2 * group + 1]
            for part in 0..<4 {
                let packed = Widen.uint8(block, 16 + group * 32 + part * 8)
                store(Widen.float(packed & 0x0F) * lowFactor - lowOffset, out + group * 64 + part * 8)
                store(Widen.float(packed &>> 4) * highFactor - highOffset, out + group * 64 + 32 + part * 8)
            }
        }
    }

    @inline(__always)
    static func q6_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.f16(block, 208)
        for half in 0..<2 {
            let ql = 64 * half, qh = 128 + 32 * half, scales = 192 + 8 * half
            let base = out + half * 128
            // Weights l, l+32, l+64, l+96 share one qh byte.
            for part in 0..<4 {
                let low = Widen.uint8(block, ql + part * 8)
                let low32 = Widen.uint8(block, ql + 32 + part * 8)
                let high = Widen.uint8(block, qh + part * 8)
                let q1 = ((low & 0x0F) | ((high & 3) &<< 4)) &- 32
                let q2 = ((low32 & 0x0F) | (((high &>> 2) & 3) &<< 4)) &- 32
                let q3 = ((low &>> 4) | (((high &>> 4) & 3) &<< 4)) &- 32
                let q4 = ((low32 &>> 4) | (((high &>> 6) & 3) &<< 4)) &- 32
                // Each scale covers 16 weights: parts 0–1 use the first, 2–3 the second.
                func scale(_ index: Int) -> Float {
                    d * Float(block.load(fromByteOffset: scales + index + part / 2, as: Int8.self))
                }
                store(Widen.float(q1) * scale(0), base + part * 8)
                store(Widen.float(q2) * scale(2), base + 32 + part * 8)
                store(Widen.float(q3) * scale(4), base + 64 + part * 8)
                store(Widen.float(q4) * scale(6), base + 96 + part * 8)
            }
        }
    }
}
