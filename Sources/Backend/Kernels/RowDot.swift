/// Dot products of one stored row with a vector of `Float` activations,
/// reading the stored bytes directly.
///
/// Decoding is memory-bandwidth-bound: the weights are streamed once per
/// token, so each kernel unpacks a block in registers and multiplies it with
/// the activations in `Float`, never writing an expanded row to memory.
enum RowDot {
    typealias Kernel = (_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float

    /// The kernel for a supported type.
    static func kernel(for type: GGMLType) -> Kernel {
        switch type {
        case .f32: f32
        case .f16: f16
        case .bf16: bf16
        case .q8_0: q8_0
        case .q4_0: q4_0
        case .q4_K: q4_K
        case .q6_K: q6_K
        default: preconditionFailure("no dot kernel for \(type.name)")
        }
    }

    @inline(__always)
    static func load8(_ x: UnsafePointer<Float>, _ offset: Int) -> SIMD8<Float> {
        UnsafeRawPointer(x + offset).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func load32(_ x: UnsafePointer<Float>, _ offset: Int) -> SIMD32<Float> {
        UnsafeRawPointer(x + offset).loadUnaligned(as: SIMD32<Float>.self)
    }

    /// Shared shape of the F32/F16/BF16 kernels: 32 columns per step in four
    /// independent accumulators, then a scalar tail.
    @inline(__always)
    private static func plain(
        _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int, elementBytes: Int,
        load8 loadWeights: (UnsafeRawPointer, Int) -> SIMD8<Float>,
        load1 loadWeight: (UnsafeRawPointer, Int) -> Float
    ) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
        var column = 0
        while column + 32 <= columns {
            acc0.addProduct(loadWeights(row, column * elementBytes), load8(x, column))
            acc1.addProduct(loadWeights(row, (column + 8) * elementBytes), load8(x, column + 8))
            acc2.addProduct(loadWeights(row, (column + 16) * elementBytes), load8(x, column + 16))
            acc3.addProduct(loadWeights(row, (column + 24) * elementBytes), load8(x, column + 24))
            column += 32
        }
        while column + 8 <= columns {
            acc0.addProduct(loadWeights(row, column * elementBytes), load8(x, column))
            column += 8
        }
        var sum = ((acc0 + acc1) + (acc2 + acc3)).sum()
        while column < columns {
            sum += loadWeight(row, column * elementBytes) * x[column]
            column += 1
        }
        return sum
    }

    static func f32(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        plain(row, x, columns, elementBytes: 4,
              load8: { $0.loadUnaligned(fromByteOffset: $1, as: SIMD8<Float>.self) },
              load1: { $0.loadUnaligned(fromByteOffset: $1, as: Float.self) })
    }

    static func f16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        plain(row, x, columns, elementBytes: 2, load8: HalfPrecision.f16x8, load1: HalfPrecision.f16)
    }

    static func bf16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        plain(row, x, columns, elementBytes: 2, load8: HalfPrecision.bf16x8, load1: HalfPrecision.bf16)
    }

    static func q8_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc = SIMD32<Float>()
        for block in 0..<(columns / 32) {
            let base = row + block * BlockFormats.q8_0Bytes
            let d = HalfPrecision.f16(base)
            let q = SIMD32<Float>(SIMD32<Int32>(truncatingIfNeeded: base.loadUnaligned(fromByteOffset: 2, as: SIMD32<Int8>.self)))
            acc.addProduct(SIMD32(repeating: d), q * load32(x, block * 32))
        }
        return acc.sum()
    }

    static func q4_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc = SIMD16<Float>()
        for block in 0..<(columns / 32) {
            let base = row + block * BlockFormats.q4_0Bytes
            let d = HalfPrecision.f16(base)
            let packed = base.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
            let xBlock = x + block * 32
            var blockSum = ((packed & 0x0F).floats - 8) * UnsafeRawPointer(xBlock).loadUnaligned(as: SIMD16<Float>.self)
            blockSum.addProduct((packed &>> 4).floats - 8, UnsafeRawPointer(xBlock + 16).loadUnaligned(as: SIMD16<Float>.self))
            acc.addProduct(SIMD16(repeating: d), blockSum)
        }
        return acc.sum()
    }

    static func q4_K(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc = SIMD32<Float>()
        var minAcc = SIMD32<Float>()
        for block in 0..<(columns / 256) {
            let base = row + block * BlockFormats.q4_KBytes
            let d = HalfPrecision.f16(base)
            let dmin = HalfPrecision.f16(base, 2)
            let (scales, mins) = BlockFormats.q4_KScalesAndMins(base + 4)
            let factors = scales * d
            let offsets = mins * dmin
            let xBlock = x + block * 256
            for group in 0..<4 {
                let packed = base.loadUnaligned(fromByteOffset: 16 + group * 32, as: SIMD32<UInt8>.self)
                let xLow = load32(xBlock, group * 64)
                let xHigh = load32(xBlock, group * 64 + 32)
                acc.addProduct(SIMD32(repeating: factors[2 * group]), (packed & 0x0F).floats * xLow)
                acc.addProduct(SIMD32(repeating: factors[2 * group + 1]), (packed &>> 4).floats * xHigh)
                minAcc.addProduct(SIMD32(repeating: offsets[2 * group]), xLow)
                minAcc.addProduct(SIMD32(repeating: offsets[2 * group + 1]), xHigh)
            }
        }
        return acc.sum() - minAcc.sum()
    }

    static func q6_K(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc = SIMD16<Float>()
        for block in 0..<(columns / 256) {
            let base = row + block * BlockFormats.q6_KBytes
            let d = HalfPrecision.f16(base, 208)
            let xBlock = x + block * 256
            for half in 0..<2 {
                let ql = base + half * 64
                let qh = base + 128 + half * 32
                let scales = base + 192 + half * 8
                let xHalf = xBlock + half * 128
                for part in 0..<2 {
                    let low = ql.loadUnaligned(fromByteOffset: part * 16, as: SIMD16<UInt8>.self)
                    let low32 = ql.loadUnaligned(fromByteOffset: 32 + part * 16, as: SIMD16<UInt8>.self)
                    let high = qh.loadUnaligned(fromByteOffset: part * 16, as: SIMD16<UInt8>.self)
                    let q1 = (low & 0x0F) | ((high & 3) &<< 4)
                    let q2 = (low32 & 0x0F) | (((high &>> 2) & 3) &<< 4)
                    let q3 = (low &>> 4) | (((high &>> 4) & 3) &<< 4)
                    let q4 = (low32 &>> 4) | (((high &>> 6) & 3) &<< 4)
                    func scale(_ index: Int) -> SIMD16<Float> {
                        SIMD16(repeating: d * Float(scales.load(fromByteOffset: index, as: Int8.self)))
                    }
                    func xs(_ offset: Int) -> SIMD16<Float> {
                        UnsafeRawPointer(xHalf + offset + part * 16).loadUnaligned(as: SIMD16<Float>.self)
                    }
                    acc.addProduct(scale(part), (q1.floats - 32) * xs(0))
                    acc.addProduct(scale(part + 2), (q2.floats - 32) * xs(32))
                    acc.addProduct(scale(part + 4), (q3.floats - 32) * xs(64))
                    acc.addProduct(scale(part + 6), (q4.floats - 32) * xs(96))
                }
            }
        }
        return acc.sum()
    }
}
