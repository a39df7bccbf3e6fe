/// Dot products of one stored row with a vector of `Float` activations,
/// reading the stored bytes directly.
///
/// Decoding is memory-bandwidth-bound: the weights are streamed once per
/// token, so each kernel unpacks a block in registers and multiplies it with
/// the activations in `Float`, never writing an expanded row to memory. All
/// vectors are 8 lanes wide (see ``Widen``).
enum RowDot {
    /// `sums` holds `Σ x` over each 32 consecutive columns (see
    /// ``activationSums(_:columns:into:)``): the Q4_0 and Q4_K kernels take
    /// their constant offsets out of the inner loop with it.
    typealias Kernel = (_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ columns: Int) -> Float

    /// The kernel for a supported type.
    static func kernel(for type: GGMLType) -> Kernel {
        switch type {
        case .f32: { row, x, _, columns in f32(row, x, columns) }
        case .f16: { row, x, _, columns in f16(row, x, columns) }
        case .bf16: { row, x, _, columns in bf16(row, x, columns) }
        case .q8_0: { row, x, _, columns in q8_0(row, x, columns) }
        case .q4_0: q4_0
        case .q4_K: q4_K
        case .q6_K: { row, x, _, columns in q6_K(row, x, columns) }
        default: preconditionFailure("no dot kernel for \(type.name)")
        }
    }

    /// Whether ``Kernel`` reads `sums` for this type.
    static func needsActivationSums(_ type: GGMLType) -> Bool {
        type == .q4_0 || type == .q4_K
    }

    /// `sums[b] = Σ x[32b ..< 32b + 32]`.
    static func activationSums(_ x: UnsafePointer<Float>, columns: Int, into sums: UnsafeMutablePointer<Float>) {
        for block in 0..<(columns / 32) {
            let base = x + block * 32
            sums[block] = ((load(base, 0) + load(base, 8)) + (load(base, 16) + load(base, 24))).sum()
        }
    }

    @inline(__always)
    static func load(_ x: UnsafePointer<Float>, _ offset: Int) -> SIMD8<Float> {
        UnsafeRawPointer(x + offset).loadUnaligned(as: SIMD8<Float>.self)
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
            acc0.addProduct(loadWeights(row, column * elementBytes), load(x, column))
            acc1.addProduct(loadWeights(row, (column + 8) * elementBytes), load(x, column + 8))
            acc2.addProduct(loadWeights(row, (column + 16) * elementBytes), load(x, column + 16))
            acc3.addProduct(loadWeights(row, (column + 24) * elementBytes), load(x, column + 24))
            column += 32
        }
        while column + 8 <= columns {
            acc0.addProduct(loadWeights(row, column * elementBytes), load(x, column))
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

    /// Per block: `d · Σ q·x`.
    static func q8_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var block = 0
        let blocks = columns / 32
        while block < blocks {
            let base = row + block * BlockFormats.q8_0Bytes
            let xBlock = x + block * 32
            var dot = Widen.int8(base, 2) * load(xBlock, 0)
            dot.addProduct(Widen.int8(base, 10), load(xBlock, 8))
            var dot2 = Widen.int8(base, 18) * load(xBlock, 16)
            dot2.addProduct(Widen.int8(base, 26), load(xBlock, 24))
            let d = SIMD8(repeating: HalfPrecision.f16(base))
            // Alternate accumulators so consecutive blocks do not wait on each other.
            if block & 1 == 0 {
                acc0.addProduct(d, dot + dot2)
            } else {
                acc1.addProduct(d, dot + dot2)
            }
            block += 1
        }
        return (acc0 + acc1).sum()
    }

    /// Per block: `d · (Σ q·x − 8 · Σ x)`.
    static func q4_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc = SIMD8<Float>()
        var offset: Float = 0
        for block in 0..<(columns / 32) {
            let base = row + block * BlockFormats.q4_0Bytes
            let xBlock = x + block * 32
            let first = Widen.uint8(base, 2)
            let second = Widen.uint8(base, 10)
            var dot = Widen.float(first & 0x0F) * load(xBlock, 0)
            dot.addProduct(Widen.float(second & 0x0F), load(xBlock, 8))
            dot.addProduct(Widen.float(first &>> 4), load(xBlock, 16))
            dot.addProduct(Widen.float(second &>> 4), load(xBlock, 24))
            let d = HalfPrecision.f16(base)
            acc.addProduct(SIMD8(repeating: d), dot)
            offset += d * sums[block]
        }
        return acc.sum() - 8 * offset
    }

    /// Per block: `Σ_s d·scale[s] · Σ q·x − Σ_s dmin·min[s] · Σ x` over its
    /// eight sub-blocks `s` of 32 weights.
    static func q4_K(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc = SIMD8<Float>()
        var minAcc = SIMD8<Float>()
        for block in 0..<(columns / 256) {
            let base = row + block * BlockFormats.q4_KBytes
            let (scales, mins) = BlockFormats.q4_KScalesAndMins(base + 4)
            let factors = scales * HalfPrecision.f16(base)
            minAcc.addProduct(mins * HalfPrecision.f16(base, 2), load(sums, block * 8))
            let xBlock = x + block * 256
            for group in 0..<4 {
                let qs = 16 + group * 32
                let xLow = xBlock + group * 64
                let xHigh = xLow + 32
                let p0 = Widen.uint8(base, qs), p1 = Widen.uint8(base, qs + 8)
                let p2 = Widen.uint8(base, qs + 16), p3 = Widen.uint8(base, qs + 24)
                var low = Widen.float(p0 & 0x0F) * load(xLow, 0)
                low.addProduct(Widen.float(p1 & 0x0F), load(xLow, 8))
                low.addProduct(Widen.float(p2 & 0x0F), load(xLow, 16))
                low.addProduct(Widen.float(p3 & 0x0F), load(xLow, 24))
                var high = Widen.float(p0 &>> 4) * load(xHigh, 0)
                high.addProduct(Widen.float(p1 &>> 4), load(xHigh, 8))
                high.addProduct(Widen.float(p2 &>> 4), load(xHigh, 16))
                high.addProduct(Widen.float(p3 &>> 4), load(xHigh, 24))
                acc.addProduct(SIMD8(repeating: factors[2 * group]), low)
                acc.addProduct(SIMD8(repeating: factors[2 * group + 1]), high)
            }
        }
        return acc.sum() - minAcc.sum()
    }

    /// Per 16 weights: `d · scale · Σ (q − 32)·x`.
    static func q6_K(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        for block in 0..<(columns / 256) {
            let base = row + block * BlockFormats.q6_KBytes
            let d = HalfPrecision.f16(base, 208)
            for half in 0..<2 {
                let ql = 64 * half, qh = 128 + 32 * half, scales = 192 + 8 * half
                let xHalf = x + block * 256 + half * 128
                // Two parts of 8 share each 16-weight scale.
                for pair in 0..<2 {
                    var dots = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                    for step in 0..<2 {
                        let part = pair * 2 + step
                        let low = Widen.uint8(base, ql + part * 8)
                        let low32 = Widen.uint8(base, ql + 32 + part * 8)
                        let high = Widen.uint8(base, qh + part * 8)
                        let q1 = ((low & 0x0F) | ((high & 3) &<< 4)) &- 32
                        let q2 = ((low32 & 0x0F) | (((high &>> 2) & 3) &<< 4)) &- 32
                        let q3 = ((low &>> 4) | (((high &>> 4) & 3) &<< 4)) &- 32
                        let q4 = ((low32 &>> 4) | (((high &>> 6) & 3) &<< 4)) &- 32
                        dots.0.addProduct(Widen.float(q1), load(xHalf, part * 8))
                        dots.1.addProduct(Widen.float(q2), load(xHalf, 32 + part * 8))
                        dots.2.addProduct(Widen.float(q3), load(xHalf, 64 + part * 8))
                        dots.3.addProduct(Widen.float(q4), load(xHalf, 96 + part * 8))
                    }
                    func scale(_ index: Int) -> SIMD8<Float> {
                        SIMD8(repeating: d * Float(base.load(fromByteOffset: scales + index + pair, as: Int8.self)))
                    }
                    acc0.addProduct(scale(0), dots.0)
                    acc1.addProduct(scale(2), dots.1)
                    acc0.addProduct(scale(4), dots.2)
                    acc1.addProduct(scale(6), dots.3)
                }
            }
        }
        return (acc0 + acc1).sum()
    }
}
