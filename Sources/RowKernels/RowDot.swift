import GGMLTypes

/// Dot products of one stored row with a vector of `Float` activations,
/// reading the stored bytes directly.
///
/// Decoding is memory-bandwidth-bound: the weights are streamed once per
/// token, so each kernel unpacks a block in registers (see ``Lanes``) and
/// multiplies it with the activations in `Float`, never writing an expanded
/// row to memory. The activations `x` must be in the type's kernel order
/// (``ColumnOrder``).
public enum RowDot {
    /// `sums` holds `Σ x` over each 32 consecutive columns (see
    /// ``activationSums(_:columns:into:)``); Q4_K takes its block minimums
    /// out of the inner loop with it.
    public typealias Kernel = (_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ columns: Int) -> Float

    /// The kernel for a supported type.
    public static func kernel(for type: GGMLType) -> Kernel {
        switch type {
        case .f32: { row, x, _, columns in f32(row, x, columns) }
        case .f16: { row, x, _, columns in f16(row, x, columns) }
        case .bf16: { row, x, _, columns in bf16(row, x, columns) }
        case .q8_0: { row, x, _, columns in q8_0(row, x, columns) }
        case .q4_0: q4_0
        case .q5_0: q5_0
        case .q4_1: q4_1
        case .q5_1: q5_1
        case .q5_K: q5_K
        case .q3_K: { row, x, _, columns in q3_K(row, x, columns) }
        case .q2_K: { row, x, _, columns in q2_K(row, x, columns) }
        case .iq4_nl: { row, x, _, columns in iq4_nl(row, x, columns) }
        case .iq4_xs: { row, x, _, columns in iq4_xs(row, x, columns) }
        case .q4_K: q4_K
        case .q6_K: { row, x, _, columns in q6_K(row, x, columns) }
        default: preconditionFailure("no dot kernel for \(type.name)")
        }
    }

    /// Whether ``Kernel`` reads `sums` for this type.
    public static func needsActivationSums(_ type: GGMLType) -> Bool {
        switch type {
        case .q4_K, .q5_K, .q4_0, .q5_0, .q4_1, .q5_1: true
        default: false
        }
    }

    /// `sums[b] = Σ x[32b ..< 32b + 32]`, from `x` in column order (the
    /// paired Q4_0/Q5_0 order mixes two blocks within 32 positions), so
    /// `sums[b]` is the activation sum of 32-weight block `b`.
    public static func activationSums(_ x: UnsafePointer<Float>, columns: Int, into sums: UnsafeMutablePointer<Float>) {
        for block in 0..<(columns / 32) {
            let base = x + block * 32
            sums[block] = ((load(base, 0) + load(base, 8)) + (load(base, 16) + load(base, 24))).sum()
        }
    }

    @inline(__always)
    static func load(_ x: UnsafePointer<Float>, _ offset: Int) -> SIMD8<Float> {
        UnsafeRawPointer(x + offset).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Shared shape of the F32/F16 kernels: 32 columns per step in four
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
            acc0.accumulate(loadWeights(row, column * elementBytes), load(x, column))
            acc1.accumulate(loadWeights(row, (column + 8) * elementBytes), load(x, column + 8))
            acc2.accumulate(loadWeights(row, (column + 16) * elementBytes), load(x, column + 16))
            acc3.accumulate(loadWeights(row, (column + 24) * elementBytes), load(x, column + 24))
            column += 32
        }
        while column + 8 <= columns {
            acc0.accumulate(loadWeights(row, column * elementBytes), load(x, column))
            column += 8
        }
        var sum = ((acc0 + acc1) + (acc2 + acc3)).sum()
        while column < columns {
            sum += loadWeight(row, column * elementBytes) * x[column]
            column += 1
        }
        return sum
    }

    public static func f32(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        plain(row, x, columns, elementBytes: 4,
              load8: { $0.loadUnaligned(fromByteOffset: $1, as: SIMD8<Float>.self) },
              load1: { $0.loadUnaligned(fromByteOffset: $1, as: Float.self) })
    }

    /// The dot products of one `Float` row with four activation vectors
    /// (`x`, `x + stride`, `x + 2·stride`, `x + 3·stride`): each weight is
    /// loaded once for the four, which is what lets a few sequences decoded
    /// together share one pass over the weights.
    public static func f32x4(_ row: UnsafePointer<Float>, _ x: UnsafePointer<Float>, stride: Int, _ columns: Int) -> SIMD4<Float> {
        let x0 = x, x1 = x + stride, x2 = x + 2 * stride, x3 = x + 3 * stride
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
        var column = 0
        // Two columns groups per step in separate accumulators, so that each
        // chain has an FMA in flight every other step.
        while column + 16 <= columns {
            let w0 = load(row, column), w1 = load(row, column + 8)
            a0.accumulate(w0, load(x0, column)); b0.accumulate(w1, load(x0, column + 8))
            a1.accumulate(w0, load(x1, column)); b1.accumulate(w1, load(x1, column + 8))
            a2.accumulate(w0, load(x2, column)); b2.accumulate(w1, load(x2, column + 8))
            a3.accumulate(w0, load(x3, column)); b3.accumulate(w1, load(x3, column + 8))
            column += 16
        }
        var result = SIMD4<Float>((a0 + b0).sum(), (a1 + b1).sum(), (a2 + b2).sum(), (a3 + b3).sum())
        while column < columns {
            let w = row[column]
            result.accumulate(SIMD4(repeating: w), SIMD4(x0[column], x1[column], x2[column], x3[column]))
            column += 1
        }
        return result
    }

    static func f16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        plain(row, x, columns, elementBytes: 2, load8: HalfPrecision.f16x8, load1: HalfPrecision.f16)
    }

    static func bf16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
        var column = 0
        while column + 32 <= columns {
            let (even0, odd0) = HalfPrecision.bf16Pairs(row, column * 2)
            let (even1, odd1) = HalfPrecision.bf16Pairs(row, column * 2 + 32)
            acc0.accumulate(even0, load(x, column))
            acc1.accumulate(odd0, load(x, column + 8))
            acc2.accumulate(even1, load(x, column + 16))
            acc3.accumulate(odd1, load(x, column + 24))
            column += 32
        }
        var sum = ((acc0 + acc1) + (acc2 + acc3)).sum()
        while column < columns {
            sum += HalfPrecision.bf16(row, column * 2) * x[column]
            column += 1
        }
        return sum
    }

    /// Per block: `d · Σ q·x`.
    static func q8_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var block = 0
        let blocks = columns / 32
        while block < blocks {
            let base = row + block * BlockFormats.q8_0Bytes
            let xBlock = x + block * 32
            let words = Lanes.load(base, 2)
            var dot0 = Lanes.signedByte(words, 0) * load(xBlock, 0)
            var dot1 = Lanes.signedByte(words, 1) * load(xBlock, 8)
            dot0.accumulate(Lanes.signedByte(words, 2), load(xBlock, 16))
            dot1.accumulate(Lanes.signedByte(words, 3), load(xBlock, 24))
            let d = SIMD8(repeating: HalfPrecision.f16(base))
            // Alternate accumulators so consecutive blocks do not wait on each other.
            if block & 1 == 0 {
                acc0.accumulate(d, dot0 + dot1)
            } else {
                acc1.accumulate(d, dot0 + dot1)
            }
            block += 1
        }
        return (acc0 + acc1).sum()
    }

    static func q4_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ columns: Int) -> Float {
        smallBlocks(.q4_0, row, x, sums, columns)
    }

    static func q5_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ columns: Int) -> Float {
        smallBlocks(.q5_0, row, x, sums, columns)
    }

    static func q4_1(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ columns: Int) -> Float {
        smallBlocks(.q4_1, row, x, sums, columns)
    }

    static func q5_1(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ columns: Int) -> Float {
        smallBlocks(.q5_1, row, x, sums, columns)
    }

    /// Q4_0 and Q5_0, per block: `d · Σ (q − zero)·x`, two blocks at a time.
    /// With `v = 1 + q/2^bits` (``SmallBlocks/Pair/unitValues(_:laneHighBits:)``),
    /// `Σ (q − zero)·x = 2^bits·Σ v·x − (2^bits + zero)·Σ x`; the second term
    /// comes from the block's activation sum, outside the inner loop.
    /// Q4_1 and Q5_1 (`zero` = 0) add `m · Σ x` per block, from the same sums.
    /// Inlined into ``q4_0(_:_:_:_:)`` and the others so that the
    /// format is a constant there.
    @inline(__always)
    private static func smallBlocks(
        _ format: SmallBlocks, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ columns: Int
    ) -> Float {
        let blocks = columns / 32
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        // Σ_b d_b · Σ x over block b.
        var offsets: Float = 0
        // Σ_b m_b · Σ x over block b (Q4_1, Q5_1).
        var minTerms: Float = 0
        var block = 0
        while block + 2 <= blocks {
            let pair = SmallBlocks.Pair(row + block * format.blockBytes, format)
            let highBits = format.hasHighBits ? pair.laneShiftedHighBits : SIMD8()
            let xPair = x + block * 32
            var dot0 = pair.unitValues(0, laneHighBits: highBits) * load(xPair, 0)
            var dot1 = pair.unitValues(1, laneHighBits: highBits) * load(xPair, 8)
            for n in stride(from: 2, to: 8, by: 2) {
                dot0.accumulate(pair.unitValues(n, laneHighBits: highBits), load(xPair, 8 * n))
                dot1.accumulate(pair.unitValues(n + 1, laneHighBits: highBits), load(xPair, 8 * n + 8))
            }
            if block & 2 == 0 {
                acc0.accumulate(pair.scales, dot0 + dot1)
            } else {
                acc1.accumulate(pair.scales, dot0 + dot1)
            }
            offsets += pair.scales[0] * sums[block] + pair.scales[4] * sums[block + 1]
            if format.hasMin {
                minTerms += pair.mins[0] * sums[block] + pair.mins[4] * sums[block + 1]
            }
            block += 2
        }
        var sum = format.unitScale * (acc0 + acc1).sum() - (format.unitScale + format.zero) * offsets
        if format.hasMin {
            sum += minTerms
        }
        if block < blocks {
            let single = SmallBlocks.Single(row + block * format.blockBytes, format)
            let xBlock = UnsafeRawPointer(x + block * 32)
            var dot = SIMD4<Float>()
            for n in 0..<8 {
                dot.accumulate(single.values(n), xBlock.loadUnaligned(fromByteOffset: 16 * n, as: SIMD4<Float>.self))
            }
            sum += single.scale * dot.sum()
            if format.hasMin {
                sum += single.min * sums[block]
            }
        }
        return sum
    }

    /// Per block: `Σ_s d·scale[s] · Σ q·x − Σ_s dmin·min[s] · Σ x` over its
    /// eight sub-blocks `s` of 32 weights, with `q = 16·v − 16` for the
    /// unpacked `v = 1 + q/16` (``Lanes/unitNibbles(_:_:)``).
    static func q4_K(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var minAcc = SIMD8<Float>()
        for block in 0..<(columns / 256) {
            let base = row + block * BlockFormats.q4_KBytes
            let (scales, mins) = BlockFormats.q4_KScalesAndMins(base + 4)
            let factors = scales * (16 * HalfPrecision.f16(base))
            let offsets = mins * HalfPrecision.f16(base, 2) + factors
            minAcc.accumulate(offsets, load(sums, block * 8))
            let xBlock = x + block * 256
            for group in 0..<4 {
                let words = Lanes.load(base, 16 + 32 * group)
                let xLow = xBlock + 64 * group
                // Two chains per sub-block: four dependent FMAs per chain
                // would make the loop wait on FMA latency.
                var low = (SIMD8<Float>(), SIMD8<Float>()), high = (SIMD8<Float>(), SIMD8<Float>())
                for k in stride(from: 0, to: 4, by: 2) {
                    let (low0, high0) = Lanes.unitNibbles(words, k)
                    let (low1, high1) = Lanes.unitNibbles(words, k + 1)
                    low.0.accumulate(low0, load(xLow, 8 * k))
                    low.1.accumulate(low1, load(xLow, 8 * k + 8))
                    high.0.accumulate(high0, load(xLow, 32 + 8 * k))
                    high.1.accumulate(high1, load(xLow, 40 + 8 * k))
                }
                acc0.accumulate(SIMD8(repeating: factors[2 * group]), low.0 + low.1)
                acc1.accumulate(SIMD8(repeating: factors[2 * group + 1]), high.0 + high.1)
            }
        }
        return (acc0 + acc1).sum() - minAcc.sum()
    }

    /// Per 16 weights: `d · scale · Σ (q − 32)·x`.
    static func q6_K(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        for block in 0..<(columns / 256) {
            let base = row + block * BlockFormats.q6_KBytes
            let d = HalfPrecision.f16(base, 208)
            for half in 0..<2 {
                let low = Lanes.load(base, 64 * half)
                let low32 = Lanes.load(base, 64 * half + 32)
                let high = Lanes.load(base, 128 + 32 * half)
                let xHalf = x + block * 256 + 128 * half
                var dots = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                for k in 0..<4 {
                    let (q1, q2, q3, q4) = Lanes.q6_K(low: low, low32: low32, high: high, k)
                    dots.0.accumulate(Lanes.float(unsigned: q1, minus: 32), load(xHalf, 8 * k))
                    dots.1.accumulate(Lanes.float(unsigned: q2, minus: 32), load(xHalf, 32 + 8 * k))
                    dots.2.accumulate(Lanes.float(unsigned: q3, minus: 32), load(xHalf, 64 + 8 * k))
                    dots.3.accumulate(Lanes.float(unsigned: q4, minus: 32), load(xHalf, 96 + 8 * k))
                }
                let scales = BlockFormats.q6_KLaneScales(base + 192 + 8 * half, d: d)
                acc0.accumulate(scales.0, dots.0)
                acc1.accumulate(scales.1, dots.1)
                acc0.accumulate(scales.2, dots.2)
                acc1.accumulate(scales.3, dots.3)
            }
        }
        return (acc0 + acc1).sum()
    }
}
