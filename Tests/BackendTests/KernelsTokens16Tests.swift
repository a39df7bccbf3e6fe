import CKernels
import Testing
@testable import Backend
@testable import Kernels

/// The prompt products with 16-bit activations (CKernels'
/// `lmgate_tokens16_kernel_for`, Q8_0 on AVX-512 VNNI) against a `Double`
/// reference on random and adversarial weights and activations.
///
/// The bound, per token t and row r: each activation is rounded to a
/// multiple of its block's step `max|x_b| / 32767`, so it moves by at most
/// half a step; the weights and the integer products are exact; so
/// `|y − Σ w·x| ≤ Σ_b (max|x_b| / 65534) · Σ_{k in b} |w_k|`, plus the
/// `Float` rounding of scaling and adding the block sums, `1e-5 · Σ|w·x|`
/// as for the float kernels (KernelsMatrixMultiplyTests), plus 1e-30 for
/// blocks whose scale is subnormal.
@Suite("Kernels: Q8_0 prompt products with 16-bit activations")
struct KernelsTokens16Tests {
    /// Rows: not a multiple of the kernel's 4. Columns: 37 blocks, more
    /// than one 32-block pass and odd. Tokens: one group and a part, and
    /// two whole groups and a part (a tile of two groups, then one).
    static let rows = 71, columns = 37 * 32
    static let tokenCounts = [MatrixMultiply.blasMinimumTokens + 3, 37]

    /// One Q8_0 block: an F16 scale and 32 signed bytes.
    static func block(scale: Float16, quants: [Int8]) -> [UInt8] {
        let bits = scale.bitPattern
        return [UInt8(bits & 0xFF), UInt8(bits >> 8)] + quants.map { UInt8(bitPattern: $0) }
    }

    /// Random blocks with, on some rows, the extremes: the largest F16
    /// scale with all quants at −128 or 127, subnormal F16 scales, zero
    /// scales and zero quants; and rows of positive weights only, on which
    /// the rounding errors of ``activations(tokens:seed:)``'s aligned
    /// blocks add up.
    static func weights(seed: UInt64) -> [UInt8] {
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

    /// Random activations in [−1, 1], on some tokens blocks that are huge
    /// (1e20), tiny (1e-30), subnormal (1.1e-41), zero, or one large value
    /// among small ones, and on others blocks whose rounding errors align.
    static func activations(tokens: Int, seed: UInt64) -> [Float] {
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

    /// `Σ w·x` in `Double` from the dequantized row (exact for Q8_0), and
    /// the bound above.
    static func reference(_ weights: [Float], _ x: UnsafePointer<Float>) -> (value: Double, bound: Double) {
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

    @Test("only Q8_0 on the AVX-512 VNNI path has the kernel")
    func dispatch() {
        for path in KernelPath.allCases {
            for type in [GGMLType.q8_0, .q4_0, .q4_K, .q6_K, .f16] {
                let hasKernel = lmgate_tokens16_kernel_for(Int32(type.rawValue), path.code) != nil
                #expect(hasKernel == (path == .avx512vnni && type == .q8_0), "\(type.name) on \(path.rawValue)")
            }
        }
    }

    /// On AVX-512 VNNI a prompt's product is the kernel's (bitwise what
    /// quantizing and calling it directly gives) and within the bound of
    /// the exact result; elsewhere, and for `.exact` activations, it is
    /// the `Float` product of the tiles.
    @Test("a prompt's Q8_0 product is within the 16-bit bound of exact", arguments: KernelPath.allCases.filter(\.isSupported))
    func withinBound(path: KernelPath) throws {
        let bytes = Self.weights(seed: 41)
        let pool = ComputePool(threadCount: 2)
        let rows = Self.rows, columns = Self.columns
        try bytes.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: .q8_0, data: raw.baseAddress!, rows: rows, columns: columns)
            let weights: [[Float]] = (0..<rows).map { row in
                var w = [Float](repeating: 0, count: columns)
                w.withUnsafeMutableBufferPointer { matrix.dequantizeRow(row, into: $0.baseAddress!) }
                return w
            }
            for tokens in Self.tokenCounts {
                let x = Self.activations(tokens: tokens, seed: UInt64(tokens))
                let kernel = lmgate_tokens16_kernel_for(Int32(GGMLType.q8_0.rawValue), path.code)
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
                print("Q8_0 16-bit prompt product on \(path.rawValue), \(tokens) tokens: worst error \(worst) of the bound")
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
        let bytes = Self.weights(seed: 43)
        let tokens = 20, rows = Self.rows, columns = Self.columns
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
        lmgate_quantize_tokens16(x, Int64(tokens), Int64(matrix.columns), &quants, &scales)
        var y = [Float](repeating: .nan, count: tokens * matrix.rows)
        kernel(matrix.data, Int64(matrix.rowBytes), Int64(matrix.rows), quants, scales, Int64(tokens), Int64(matrix.columns), &y, Int64(matrix.rows))
        return y
    }
}
