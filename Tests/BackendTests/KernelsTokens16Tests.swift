import CKernels
import Testing
@testable import Backend
@testable import Kernels

/// The prompt products with 16-bit activations (CKernels'
/// `lmgate_tokens16_kernel_for`, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K and
/// Q6_K on AVX-512 VNNI) against a `Double` reference on random and
/// adversarial weights and activations.
///
/// The bound, per token t and row r: each activation is rounded to a
/// multiple of its block's step `max|x_b| / 32767`, so it moves by at most
/// half a step; the weights and the integer products are exact; so
/// `|y − Σ w·x| ≤ Σ_b (max|x_b| / 65534) · Σ_{k in b} |w_k|`, plus the
/// `Float` rounding of scaling and adding the block sums, `1e-5 · Σ|w·x|`
/// as for the float kernels (KernelsMatrixMultiplyTests), plus 1e-30 for
/// blocks whose scale is subnormal. (For Q4_K, `w = d·scale·q − dmin·min`
/// and the minimums multiply the quantized block sums, so the same bound
/// holds; for Q6_K, `w = d·scale·(q − 32)` with a scale per 16 weights,
/// each half-block's integer sum scaled by its own: the same bound. For
/// Q4_0 and Q5_0, `w = d·(q − 8)` and `d·(q − 16)` are exact in int16;
/// for Q4_1 and Q5_1, `w = d·q + m` and `m` multiplies the quantized block
/// sums, as Q4_K's minimums: the same bound.)
@Suite("Kernels: 32-block types, Q4_K and Q6_K prompt products with 16-bit activations")
struct KernelsTokens16Tests {
    /// Rows: not a multiple of the kernel's 4. Columns: more than one
    /// 32-block pass (1024 columns), 37 blocks for the 32-block types, five
    /// super-blocks for Q4_K and Q6_K. Tokens: one group and a part, and two whole groups and a
    /// part (a tile of two groups, then one).
    static let rows = 71
    static let types: [GGMLType] = [.q8_0] + blocks32WithNibbles + [.q4_K, .q6_K]
    /// The 32-block types whose weights are nibbles (and fifth bits).
    static let blocks32WithNibbles: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1]
    static func columns(_ type: GGMLType) -> Int { type.layout!.elementsPerBlock == 32 ? 37 * 32 : 5 * 256 }
    static let tokenCounts = [MatrixMultiply.blasMinimumTokens + 3, 37]

    /// One Q8_0 block: an F16 scale and 32 signed bytes.
    static func block(scale: Float16, quants: [Int8]) -> [UInt8] {
        let bits = scale.bitPattern
        return [UInt8(bits & 0xFF), UInt8(bits >> 8)] + quants.map { UInt8(bitPattern: $0) }
    }

    /// Random blocks (Q4_K: RandomWeights') with, for Q8_0, on some rows, the extremes: the largest F16
    /// scale with all quants at −128 or 127, subnormal F16 scales, zero
    /// scales and zero quants; and rows of positive weights only, on which
    /// the rounding errors of ``activations(tokens:seed:)``'s aligned
    /// blocks add up.
    static func weights(_ type: GGMLType, seed: UInt64) -> [UInt8] {
        let columns = Self.columns(type)
        if type == .q6_K { return q6_KWeights(seed: seed) }
        if blocks32WithNibbles.contains(type) { return blocks32Weights(type, seed: seed) }
        guard type == .q8_0 else { return RandomWeights.bytes(type: type, rows: rows, columns: columns, seed: seed) }
        var random = SeededRandom(seed: seed)
        var bytes: [UInt8] = []
        for row in 0..<rows {
            for _ in 0..<(columns / 32) {
                let quants = (0..<32).map { _ in Int8.random(in: -128...127, using: &random) }
                switch row % 8 {
                case 1: bytes += block(scale: .greatestFiniteMagnitude, quants: (0..<32).map { _ in Bool.random(using: &random) ? -128 : 127 })
                case 3: bytes += block(scale: Float16(bitPattern: UInt16.random(in: 1...0x03FF, using: &random)), quants: quants)
                case 5: bytes += block(scale: Bool.random(using: &random) ? 0 : 0.01, quants: Bool.random(using: &random) ? quants : Array(repeating: 0, count: 32))
                case 7: bytes += block(scale: 0.01, quants: (0..<32).map { _ in Int8.random(in: 1...127, using: &random) })
                default: bytes += block(scale: Float16(Float.random(in: -0.05...0.05, using: &random)), quants: quants)
                }
            }
        }
        return bytes
    }

    /// Q6_K rows (210-byte super-blocks: ql[128], qh[64], int8 scales[16],
    /// F16 d) from RandomWeights', with on some rows the extremes: the
    /// largest F16 d with scales of −128 or 127 and every value at 0 or 63
    /// (−32 or 31 after the offset), subnormal d, zero d, and rows of positive
    /// weights only (positive scales, values 33…63), on which the rounding
    /// errors of aligned activation blocks add up.
    static func q6_KWeights(seed: UInt64) -> [UInt8] {
        let columns = Self.columns(.q6_K), superBlocks = columns / 256
        var bytes = RandomWeights.bytes(type: .q6_K, rows: rows, columns: columns, seed: seed)
        var random = SeededRandom(seed: seed &+ 1)
        /// Sets weight `e` (0…255) of the super-block at `base` to the 6-bit `value`.
        func set(_ base: Int, _ e: Int, _ value: Int) {
            let half = e / 128, j = e % 128 / 32, i = e % 32
            let low = base + 64 * half + 32 * (j % 2) + i, high = base + 128 + 32 * half + i
            let shift = j < 2 ? 0 : 4
            bytes[low] = bytes[low] & ~UInt8(0x0F << shift) | UInt8((value & 0x0F) << shift)
            bytes[high] = bytes[high] & ~UInt8(0x03 << (2 * j)) | UInt8((value >> 4) << (2 * j))
        }
        func setD(_ base: Int, _ d: Float16) {
            bytes[base + 208] = UInt8(d.bitPattern & 0xFF)
            bytes[base + 209] = UInt8(d.bitPattern >> 8)
        }
        for row in 0..<rows {
            for block in 0..<superBlocks {
                let base = (row * superBlocks + block) * 210
                switch row % 8 {
                case 1:
                    setD(base, .greatestFiniteMagnitude)
                    for k in 0..<16 { bytes[base + 192 + k] = Bool.random(using: &random) ? 0x80 : 0x7F }
                    for e in 0..<256 { set(base, e, Bool.random(using: &random) ? 0 : 63) }
                case 3:
                    setD(base, Float16(bitPattern: UInt16.random(in: 1...0x03FF, using: &random)))
                case 5:
                    setD(base, 0)
                case 7:
                    setD(base, 0.01)
                    for k in 0..<16 { bytes[base + 192 + k] = UInt8.random(in: 1...127, using: &random) }
                    for e in 0..<256 { set(base, e, Int.random(in: 33...63, using: &random)) }
                default: break
                }
            }
        }
        return bytes
    }

    /// One block of Q4_0, Q4_1, Q5_0 or Q5_1: F16 `d`, F16 `m` (Q4_1,
    /// Q5_1), the fifth bits (Q5_0, Q5_1; bit i of weight i), and the
    /// nibbles (byte j: value j low, value j + 16 high) of the stored
    /// `values` (0…15 or 0…31; the offset 8 or 16 is the kernel's).
    static func block32(_ type: GGMLType, d: Float16, m: Float16 = 0, values: [Int]) -> [UInt8] {
        func half(_ value: Float16) -> [UInt8] { [UInt8(value.bitPattern & 0xFF), UInt8(value.bitPattern >> 8)] }
        var bytes = half(d)
        if type == .q4_1 || type == .q5_1 { bytes += half(m) }
        if type == .q5_0 || type == .q5_1 {
            let bits = values.indices.reduce(UInt32(0)) { $0 | UInt32((values[$1] >> 4) & 1) << UInt32($1) }
            bytes += (0..<4).map { UInt8(truncatingIfNeeded: bits >> (8 * UInt32($0))) }
        }
        bytes += (0..<16).map { UInt8(values[$0] & 0x0F) | UInt8(values[$0 + 16] & 0x0F) << 4 }
        return bytes
    }

    /// Q4_0, Q4_1, Q5_0 and Q5_1 rows: random blocks (RandomWeights') with,
    /// on some rows, the extremes: the largest F16 `d` (and `m` of either
    /// sign) with every value at 0 or the largest; subnormal `d` and `m`;
    /// zero `d` (with, for Q4_1 and Q5_1, a minimum alone), zero values;
    /// minimums that nearly cancel `d·q` (`m = −d·(largest / 2)`, the
    /// weights then as Q4_0's or Q5_0's); and rows of positive weights
    /// only, on which the rounding errors of aligned activation blocks add
    /// up.
    static func blocks32Weights(_ type: GGMLType, seed: UInt64) -> [UInt8] {
        let columns = Self.columns(type), blocks = columns / 32, blockBytes = type.layout!.bytesPerBlock
        let largest = type == .q4_0 || type == .q4_1 ? 15 : 31
        var bytes = RandomWeights.bytes(type: type, rows: rows, columns: columns, seed: seed)
        var random = SeededRandom(seed: seed &+ 1)
        func values(_ range: ClosedRange<Int>) -> [Int] { (0..<32).map { _ in Int.random(in: range, using: &random) } }
        func subnormal() -> Float16 {
            Float16(bitPattern: UInt16.random(in: 1...0x03FF, using: &random) | (Bool.random(using: &random) ? 0x8000 : 0))
        }
        for row in 0..<rows {
            for block in 0..<blocks {
                let replacement: [UInt8]
                switch row % 8 {
                case 1:
                    let m: Float16 = Bool.random(using: &random) ? .greatestFiniteMagnitude : -.greatestFiniteMagnitude
                    replacement = block32(type, d: .greatestFiniteMagnitude, m: m,
                                          values: (0..<32).map { _ in Bool.random(using: &random) ? 0 : largest })
                case 2:
                    let d = Float16(Float.random(in: 0.001...0.05, using: &random))
                    replacement = block32(type, d: d, m: -d * Float16(largest / 2), values: values(0...largest))
                case 3:
                    replacement = block32(type, d: subnormal(), m: subnormal(), values: values(0...largest))
                case 5:
                    let zeroValues = Bool.random(using: &random)
                    replacement = block32(type, d: Bool.random(using: &random) ? 0 : 0.01, m: 0.02,
                                          values: zeroValues ? Array(repeating: 0, count: 32) : values(0...largest))
                case 7:
                    // Positive weights: values above the offset (Q4_0, Q5_0), or a positive minimum.
                    replacement = block32(type, d: 0.01, m: 0.01, values: values((largest / 2 + 2)...largest))
                default: continue
                }
                let base = (row * blocks + block) * blockBytes
                bytes.replaceSubrange(base..<(base + blockBytes), with: replacement)
            }
        }
        return bytes
    }

    /// Random activations in [−1, 1], on some tokens blocks that are huge
    /// (1e20), tiny (1e-30), subnormal (1.1e-41), zero, or one large value
    /// among small ones, and on others blocks whose rounding errors align.
    static func activations(tokens: Int, columns: Int, seed: UInt64) -> [Float] {
        var random = SeededRandom(seed: seed)
        var x = RandomWeights.floats(count: tokens * columns, seed: seed)
        for token in 0..<tokens where token % 3 == 1 {
            for block in 0..<(columns / 32) {
                let base = token * columns + block * 32
                let factor: Float
                switch Int.random(in: 0..<6, using: &random) {
                case 0: factor = 1e20
                case 1: factor = 1e-30
                case 2: factor = Float.leastNormalMagnitude / 1024
                case 3: factor = 0
                case 4: factor = 1e-6
                default: factor = 1
                }
                for index in base..<(base + 32) { x[index] *= factor }
                if factor == 1e-6 { x[base + Int.random(in: 0..<32, using: &random)] = 3 }
            }
        }
        // Aligned blocks: 1 and then activations 0.6 of a step (1 / 32767)
        // above a multiple of it, so that rounding to nearest moves each by
        // 0.4 of a step, down, and rounding toward zero (a wrong kernel) by
        // 0.6, past the bound on rows of positive weights.
        for token in 0..<tokens where token % 3 == 2 {
            for block in 0..<(columns / 32) {
                let base = token * columns + block * 32
                x[base] = 1
                for index in (base + 1)..<(base + 32) { x[index] = (Float(Int.random(in: 0..<100, using: &random)) + 0.6) / 32767 }
            }
        }
        return x
    }

    /// Every row of `matrix`, dequantized (exactly).
    static func dequantizedRows(_ matrix: WeightMatrix) -> [[Float]] {
        (0..<matrix.rows).map { row in
            var w = [Float](repeating: 0, count: matrix.columns)
            w.withUnsafeMutableBufferPointer { matrix.dequantizeRow(row, into: $0.baseAddress!) }
            return w
        }
    }

    /// `Σ w·x` in `Double` from the dequantized row (exact for Q8_0), and
    /// the bound above.
    static func reference(_ weights: [Float], _ x: UnsafePointer<Float>) -> (value: Double, bound: Double) {
        let columns = weights.count
        var value = 0.0, magnitude = 0.0, rounding = 0.0
        for block in 0..<(columns / 32) {
            var largest = 0.0, weightSum = 0.0
            for k in (block * 32)..<(block * 32 + 32) {
                let term = Double(weights[k]) * Double(x[k])
                value += term
                magnitude += abs(term)
                largest = max(largest, abs(Double(x[k])))
                weightSum += abs(Double(weights[k]))
            }
            rounding += largest / 65534 * weightSum
        }
        return (value, rounding * (1 + 1e-6) + 1e-5 * magnitude + 1e-30)
    }

    @Test("only the 32-block types, Q4_K and Q6_K on the AVX-512 VNNI path have the kernel")
    func dispatch() {
        for path in KernelPath.allCases {
            for type in Self.types + [.iq4_nl, .q2_K, .q3_K, .q5_K, .iq4_xs, .f16, .bf16, .f32] {
                let hasKernel = lmgate_tokens16_kernel_for(Int32(type.rawValue), path.code) != nil
                #expect(hasKernel == (path == .avx512vnni && Self.types.contains(type)), "\(type.name) on \(path.rawValue)")
            }
        }
    }

    /// On AVX-512 VNNI a prompt's product is the kernel's (bitwise what
    /// quantizing and calling it directly gives) and within the bound of
    /// the exact result; elsewhere, and for `.exact` activations, it is
    /// the `Float` product of the tiles.
    @Test("a prompt's product is within the 16-bit bound of exact", arguments: types, KernelPath.allCases.filter(\.isSupported))
    func withinBound(type: GGMLType, path: KernelPath) throws {
        let bytes = Self.weights(type, seed: 41)
        let pool = ComputePool(threadCount: 2)
        let rows = Self.rows, columns = Self.columns(type)
        try bytes.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: type, data: raw.baseAddress!, rows: rows, columns: columns)
            let weights = Self.dequantizedRows(matrix)
            for tokens in Self.tokenCounts {
                let x = Self.activations(tokens: tokens, columns: columns, seed: UInt64(tokens))
                let kernel = lmgate_tokens16_kernel_for(Int32(type.rawValue), path.code)
                let (worst, fast, exact, direct) = x.withUnsafeBufferPointer { x in
                    let x = x.baseAddress!
                    let (fast, exact) = KernelPath.$override.withValue(path) {
                        (Self.product(matrix, x, tokens, pool, .quantizedWhereFaster), Self.product(matrix, x, tokens, pool, .exact))
                    }
                    var worst = 0.0
                    for token in 0..<tokens {
                        for row in 0..<rows {
                            let (value, bound) = Self.reference(weights[row], x + token * columns)
                            let error = abs(Double(fast[token * rows + row]) - value) / bound
                            worst = max(worst, error.isNaN ? .infinity : error)
                        }
                    }
                    return (worst, fast, exact, kernel.map { Self.direct($0, matrix, x, tokens) })
                }
                print("\(type.name) 16-bit prompt product on \(path.rawValue), \(tokens) tokens: worst error \(worst) of the bound")
                #expect(worst <= 1, "\(path.rawValue), \(tokens) tokens: worst error \(worst) of the bound")
                if let direct {
                    #expect(fast != exact, "\(path.rawValue): the Float product")
                    #expect(fast == direct, "\(path.rawValue), \(tokens) tokens: not the kernel's product")
                } else {
                    #expect(fast == exact, "\(path.rawValue): not the Float product")
                }
            }
        }
    }

    /// A NaN or an infinity among a token's activations makes that token's
    /// results NaN, as in `Float`, and leaves the other tokens' alone.
    @Test("a NaN or an infinity stays in its token")
    func nonFiniteActivations() throws {
        guard let kernel = lmgate_tokens16_kernel_for(Int32(GGMLType.q8_0.rawValue), KernelPath.avx512vnni.code),
              KernelPath.avx512vnni.isSupported else {
            #expect(!KernelPath.avx512vnni.isSupported)
            return
        }
        let bytes = Self.weights(.q8_0, seed: 43)
        let tokens = 20, rows = Self.rows, columns = Self.columns(.q8_0)
        var x = RandomWeights.floats(count: tokens * columns, seed: 7)
        x[3 * columns + 100] = .nan
        x[17 * columns + 5] = .infinity
        try bytes.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: .q8_0, data: raw.baseAddress!, rows: rows, columns: columns)
            let y = x.withUnsafeBufferPointer { Self.direct(kernel, matrix, $0.baseAddress!, tokens) }
            for token in 0..<tokens {
                let results = y[token * rows..<(token + 1) * rows]
                if token == 3 || token == 17 {
                    #expect(results.allSatisfy { $0.isNaN }, "token \(token)")
                } else {
                    #expect(results.allSatisfy { $0.isFinite }, "token \(token)")
                }
            }
        }
    }

    static func product(
        _ matrix: WeightMatrix, _ x: UnsafePointer<Float>, _ tokens: Int, _ pool: ComputePool, _ activations: ActivationPrecision
    ) -> [Float] {
        var y = [Float](repeating: .nan, count: tokens * matrix.rows)
        y.withUnsafeMutableBufferPointer {
            MatrixMultiply.matMul(matrix, x: x, tokens: tokens, y: $0.baseAddress!, pool: pool, activations: activations)
        }
        return y
    }

    /// The kernel called once on all rows, on activations quantized here.
    static func direct(_ kernel: lmgate_tokens16_kernel, _ matrix: WeightMatrix, _ x: UnsafePointer<Float>, _ tokens: Int) -> [Float] {
        let padded = (tokens + 15) / 16 * 16
        var quants = [Int16](repeating: 0, count: padded * matrix.columns)
        var scales = [Float](repeating: 0, count: padded * matrix.columns / 32)
        var sums = scales
        lmgate_quantize_tokens16(x, Int64(tokens), Int64(matrix.columns), &quants, &scales, &sums)
        var y = [Float](repeating: .nan, count: tokens * matrix.rows)
        kernel(
            matrix.data, Int64(matrix.rowBytes), Int64(matrix.rows), quants, scales, sums, Int64(tokens), Int64(matrix.columns),
            &y, Int64(matrix.rows))
        return y
    }
}
