/// Dot-product kernels for the K-quants described by ``SuperBlocks``.
extension RowDot {
    /// Per block: `Σ_s d·scale[s]·Σ q·x − Σ_s dmin·min[s]·Σ x`, the second
    /// sum from the 32-column activation sums (as ``q4_K(_:_:_:_:)``).
    static func q5_K(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var minAcc = SIMD8<Float>()
        for block in 0..<(columns / 256) {
            let base = row + block * SuperBlocks.q5_KBytes
            let (scales, mins) = BlockFormats.q4_KScalesAndMins(base + 4)
            let factors = scales * HalfPrecision.f16(base)
            minAcc.accumulate(mins * HalfPrecision.f16(base, 2), load(sums, block * 8))
            let high = Lanes.load(base, 16)
            let xBlock = x + block * 256
            for group in 0..<4 {
                let words = Lanes.load(base, 48 + 32 * group)
                let xLow = xBlock + 64 * group
                // Two chains per sub-block, as in q4_K.
                var low = (SIMD8<Float>(), SIMD8<Float>()), upper = (SIMD8<Float>(), SIMD8<Float>())
                for k in stride(from: 0, to: 4, by: 2) {
                    let (low0, high0) = SuperBlocks.q5_K(words, high: high, group: group, k)
                    let (low1, high1) = SuperBlocks.q5_K(words, high: high, group: group, k + 1)
                    low.0.accumulate(Lanes.float(unsigned: low0), load(xLow, 8 * k))
                    low.1.accumulate(Lanes.float(unsigned: low1), load(xLow, 8 * k + 8))
                    upper.0.accumulate(Lanes.float(unsigned: high0), load(xLow, 32 + 8 * k))
                    upper.1.accumulate(Lanes.float(unsigned: high1), load(xLow, 40 + 8 * k))
                }
                acc0.accumulate(SIMD8(repeating: factors[2 * group]), low.0 + low.1)
                acc1.accumulate(SIMD8(repeating: factors[2 * group + 1]), upper.0 + upper.1)
            }
        }
        return (acc0 + acc1).sum() - minAcc.sum()
    }

    /// Per 16 weights: `d·scale · Σ q·x`; lanes 0–3 of a sub-block's
    /// products belong to its first 16 weights, lanes 4–7 to the second.
    /// Sub-blocks in pairs, one accumulator each, so that the loop body is
    /// straight-line code.
    static func q3_K(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        for block in 0..<(columns / 256) {
            let base = row + block * SuperBlocks.q3_KBytes
            let d = HalfPrecision.f16(base, 108)
            let hmask = Lanes.load(base, 0)
            let scales = SuperBlocks.q3_KScales(base)
            let xBlock = x + block * 256
            @inline(__always) func subBlock(_ low: SIMD8<UInt32>, _ s: Int) -> SIMD8<Float> {
                let xSub = xBlock + 32 * s
                var dot0 = SuperBlocks.q3_KValues(low, hmask: hmask, s, 0) * load(xSub, 0)
                var dot1 = SuperBlocks.q3_KValues(low, hmask: hmask, s, 1) * load(xSub, 8)
                dot0.accumulate(SuperBlocks.q3_KValues(low, hmask: hmask, s, 2), load(xSub, 16))
                dot1.accumulate(SuperBlocks.q3_KValues(low, hmask: hmask, s, 3), load(xSub, 24))
                return dot0 + dot1
            }
            for pair in 0..<4 {
                let low = Lanes.load(base, 32 + 32 * (pair / 2))
                let s = 2 * pair
                acc0.accumulate(SuperBlocks.q3_KLaneScales(scales, d: d, s), subBlock(low, s))
                acc1.accumulate(SuperBlocks.q3_KLaneScales(scales, d: d, s + 1), subBlock(low, s + 1))
            }
        }
        return (acc0 + acc1).sum()
    }

    /// Per 16 weights: `Σ (d·scale·q − dmin·min)·x`, the weight formed in
    /// lanes before the product: summing `x` separately for the minimums
    /// led the compiler into cross-lane shuffles (lanes 0–3 and 4–7 share
    /// their scales), which cost more than the extra multiply-add.
    static func q2_K(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        for block in 0..<(columns / 256) {
            let base = row + block * SuperBlocks.q2_KBytes
            let d = HalfPrecision.f16(base, 80), dmin = HalfPrecision.f16(base, 82)
            let xBlock = x + block * 256
            for half in 0..<2 {
                let low = Lanes.load(base, 16 + 32 * half)
                for quarter in 0..<4 {
                    let s = 4 * half + quarter
                    let xSub = xBlock + 32 * s
                    let (scales, mins) = SuperBlocks.q2_KLaneScales(base, d: d, dmin: dmin, s)
                    @inline(__always) func weights(_ k: Int) -> SIMD8<Float> {
                        (-mins).accumulating(scales, Lanes.float(unsigned: SuperBlocks.twoBits(low, s, k)))
                    }
                    acc0.accumulate(weights(0), load(xSub, 0))
                    acc1.accumulate(weights(1), load(xSub, 8))
                    acc0.accumulate(weights(2), load(xSub, 16))
                    acc1.accumulate(weights(3), load(xSub, 24))
                }
            }
        }
        return (acc0 + acc1).sum()
    }
}
