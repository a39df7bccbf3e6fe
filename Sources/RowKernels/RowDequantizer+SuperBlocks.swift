/// Dequantization of the K-quants described by ``SuperBlocks``, in the
/// byte-lane order; the products are formed as gguf-py forms them
/// (`(d·scale)·q − dmin·min`), so the results equal its `dequantize`.
extension RowDequantizer {
    @inline(__always)
    private static func store(_ value: SIMD8<Float>, _ out: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(out).storeBytes(of: value, as: SIMD8<Float>.self)
    }

    static func q5_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let (scales, mins) = BlockFormats.q4_KScalesAndMins(block + 4)
        let factors = scales * HalfPrecision.f16(block)
        let offsets = mins * HalfPrecision.f16(block, 2)
        let high = Lanes.load(block, 16)
        for group in 0..<4 {
            let words = Lanes.load(block, 48 + 32 * group)
            let lowFactor = factors[2 * group], lowOffset = offsets[2 * group]
            let highFactor = factors[2 * group + 1], highOffset = offsets[2 * group + 1]
            for k in 0..<4 {
                let (low, upper) = SuperBlocks.q5_K(words, high: high, group: group, k)
                store(Lanes.float(unsigned: low) * lowFactor - lowOffset, out + 64 * group + 8 * k)
                store(Lanes.float(unsigned: upper) * highFactor - highOffset, out + 64 * group + 32 + 8 * k)
            }
        }
    }

    static func q3_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.f16(block, 108)
        let hmask = Lanes.load(block, 0)
        let packedScales = SuperBlocks.q3_KScales(block)
        for half in 0..<2 {
            let low = Lanes.load(block, 32 + 32 * half)
            for quarter in 0..<4 {
                let s = 4 * half + quarter
                let scales = SuperBlocks.q3_KLaneScales(packedScales, d: d, s)
                for k in 0..<4 {
                    store(scales * SuperBlocks.q3_KValues(low, hmask: hmask, s, k), out + 32 * s + 8 * k)
                }
            }
        }
    }

    static func q2_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.f16(block, 80), dmin = HalfPrecision.f16(block, 82)
        for half in 0..<2 {
            let low = Lanes.load(block, 16 + 32 * half)
            for quarter in 0..<4 {
                let s = 4 * half + quarter
                let (scales, mins) = SuperBlocks.q2_KLaneScales(block, d: d, dmin: dmin, s)
                for k in 0..<4 {
                    store(scales * Lanes.float(unsigned: SuperBlocks.twoBits(low, s, k)) - mins, out + 32 * s + 8 * k)
                }
            }
        }
    }
}
