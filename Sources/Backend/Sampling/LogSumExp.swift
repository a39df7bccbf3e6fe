import Foundation

/// `log Σ exp(logitᵢ)` over a whole vocabulary, the normalizer of every
/// log-probability the sampler reports.
///
/// It runs once per generated token over ~150k logits, on the scheduler's
/// thread while the compute pool waits, so it is vectorized: the maximum in
/// `SIMD8<Float>`, then `exp(logit − maximum)` by ``exp(_:)`` eight lanes at
/// a time, summed in `Float` over short blocks and the blocks in `Double`.
/// (With `Foundation.exp` on `Double` per logit, it took ~1 ms a token, a
/// few per cent of a step at 1 stream and more at 8, where every sequence
/// of the step pays it in turn.)
///
/// Its error is far below the logits' own: each term is exact to a few
/// `Float` ulps (the argument rounded to `Float`, then ``exp(_:)``'s ~2 ulp),
/// and a term's error is largest, relative to the sum, near `logit − maximum
/// ≈ −1`; the result is within ~2·10⁻⁷ of the exact value
/// (`SamplingTests` checks it against a `Double` computation).
enum LogSumExp {
    /// Terms summed in `Float` before they are added to the `Double` total:
    /// short enough that `Float` rounding of the partial sum stays near 1 ulp.
    private static let block = 256

    /// `log Σ exp(logits[i])`; `-infinity` when every logit is `-infinity`
    /// (or there are none).
    static func of(_ logits: UnsafeBufferPointer<Float>) -> Double {
        let maximum = self.maximum(logits)
        guard maximum > -.infinity else { return -.infinity }
        guard maximum < .infinity else { return .infinity }
        let shift = SIMD8<Float>(repeating: maximum)
        var total = 0.0
        var index = 0
        let vectorEnd = logits.count - logits.count % 8
        while index < vectorEnd {
            let end = min(vectorEnd, index + block)
            var lanes = SIMD8<Float>()
            while index < end {
                lanes += exp(load(logits, at: index) - shift)
                index += 8
            }
            total += Double(lanes.sum())
        }
        while index < logits.count {
            total += Foundation.exp(Double(logits[index]) - Double(maximum))
            index += 1
        }
        return Double(maximum) + Foundation.log(total)
    }

    /// The largest element (`-infinity` for none).
    static func maximum(_ logits: UnsafeBufferPointer<Float>) -> Float {
        var lanes = SIMD8<Float>(repeating: -.infinity)
        var index = 0
        while index + 8 <= logits.count {
            lanes = pointwiseMax(lanes, load(logits, at: index))
            index += 8
        }
        var result = lanes.max()
        while index < logits.count {
            result = max(result, logits[index])
            index += 1
        }
        return result
    }

    /// `eˣ` per lane for `x ≤ 88`, to about 2 ulp (log-sum-exp asks only
    /// for `x ≤ 0`; from ~88.38 on, `2ⁿ` overflows and the result is
    /// infinite): `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2` (ln 2 split in two
    /// parts so that `n·ln 2` is exact), a degree-6 polynomial for `eʳ`
    /// (the Cephes `expf` coefficients), and `2ⁿ` put into the exponent bits. Below ~−87.7,
    /// where `2ⁿ` would be subnormal, the result is 0; `-infinity` gives 0.
    @inline(__always)  // called per 8 logits: a call would spill the vectors to memory
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // From −88 down, n = −127: the exponent bits are all 0, a factor 0.
        var clamped = x.replacing(with: -88, where: x .< -88)
        clamped.replace(with: 88.5, where: clamped .> 88.5)
        // n = round(x / ln 2) by adding 1.5·2²³, which leaves n in the low
        // mantissa bits (Swift's `rounded` and `Int32` conversion of SIMD
        // vectors are scalar loops on x86-64: six times slower than Foundation).
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let shifted = clamped * 1.442_695_04 + magic
        let n = shifted - magic
        var r = clamped - n * 0.693_359_375
        r = r - n * -2.121_944_4e-4
        var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        p = p * r * r + r + 1
        let exponent = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(exponent, to: SIMD8<Float>.self)
    }

    private static func load(_ buffer: UnsafeBufferPointer<Float>, at index: Int) -> SIMD8<Float> {
        UnsafeRawPointer(buffer.baseAddress! + index).loadUnaligned(as: SIMD8<Float>.self)
    }
}
