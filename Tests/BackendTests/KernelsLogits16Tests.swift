import CKernels
import Testing
@testable import Backend
@testable import Kernels

/// The logits' products with activations rounded to 16 bits
/// (``ActivationPrecision/roundedTo16Bits``: CKernels' `lmgate_logits16_kernel`,
/// Q8_0, Q6_K and Q4_1 on AVX2 and AVX-512 VNNI) against a `Double`
/// reference on random and adversarial weights and activations
/// (``KernelsTokens16Tests``'s: the largest F16 scales with all quants at
/// their extremes (Q6_K: −32 or 31 with sub-scales of −128 or 127, the
/// kernel's largest widened weights), subnormal and zero scales, rows of
/// positive weights; huge, tiny, subnormal and zero activation blocks, one
/// outlier per block, blocks whose rounding errors align).
///
/// The bound, per vector and row, is the prompt kernels' (the same rounding
/// of the activations; ``KernelsTokens16Tests/reference(_:_:)``): each
/// activation moves by at most half its block's step `max|x_b| / 32767`,
/// the weights and the integer products are exact, so
/// `|y − Σ w·x| ≤ Σ_b (max|x_b| / 65534) · Σ_{k in b} |w_k|`, plus `Float`
/// rounding of scaling and adding the block sums (`1e-5 · Σ|w·x|`), plus
/// 1e-30 for blocks whose `d · s` is subnormal. (Q6_K: the sub-scales are
/// folded into the widened weights, whose integer sums stay exact below
/// 2^29; their conversion to `Float` rounds by 2^-24 of a sum, within the
/// `1e-5 · Σ|w·x|`: the same bound. Q4_1: its decode kernel, as in
/// ``KernelsTokens16Tests``: the same bound.)
@Suite("Kernels: the logits' Q8_0, Q6_K and Q4_1 products with 16-bit activations")
struct KernelsLogits16Tests {
    static let rows = KernelsTokens16Tests.rows
    static let columns = KernelsTokens16Tests.columns(.q8_0)
    /// The types with logits kernels: Q8_0, Q6_K (the output of Q4_K_M
    /// files) and Q4_1 (the default model's).
    static let types: [GGMLType] = [.q8_0, .q6_K, .q4_1]

    /// `vectors` vectors of ``columns`` activations rounded one after
    /// another, as ``QuantizedActivations`` rounds the logits' vectors.
    static func round(_ x: [Float], vectors: Int, quants: inout [Int16], scales: inout [Float]) {
        var sums = [Float](repeating: 0, count: scales.count)
        for vector in 0..<vectors {
            let (start, blockStart) = (vector * columns, vector * columns / 32)
            x.withUnsafeBufferPointer { x in
                quants.withUnsafeMutableBufferPointer { q in
                    scales.withUnsafeMutableBufferPointer { s in
                        sums.withUnsafeMutableBufferPointer { m in
                            lmgate_quantize_blocks32_16(
                                x.baseAddress! + start, Int64(columns), q.baseAddress! + start, s.baseAddress! + blockStart,
                                m.baseAddress! + blockStart)
                        }
                    }
                }
            }
        }
    }

    @Test("only Q8_0, Q6_K and Q4_1 on the AVX2 and AVX-512 VNNI paths have the kernels")
    func dispatch() {
        for path in KernelPath.allCases {
            for type in GGMLType.allCases {
                let single = lmgate_logits16_kernel(Int32(type.rawValue), path.code) != nil
                let several = lmgate_logits16_vectors_kernel(Int32(type.rawValue), path.code) != nil
                let expected = Self.types.contains(type) && path != .portable
                #expect(single == expected && several == expected, "\(type.name) on \(path.rawValue)")
            }
        }
    }

    /// Every block rounded as the rule says: quants within ±32767, the
    /// largest magnitude at 32767 (subnormal blocks too: not quants the
    /// `float` powers of two overflowed), each activation within half a step
    /// of `quant · scale` (where the step is below the smallest `float`,
    /// within what the scale's rounding adds), zero blocks zero, and a NaN
    /// or an infinity a NaN scale.
    @Test("the rounding keeps every block within half its step")
    func rounding() {
        guard KernelPath.avx2.isSupported else { return }
        let vectors = 6
        var x = KernelsTokens16Tests.activations(tokens: vectors, columns: Self.columns, seed: 3)
        x[5 * Self.columns + 40] = .nan
        x[5 * Self.columns + 100] = -.infinity
        var quants = [Int16](repeating: 0, count: x.count)
        var scales = [Float](repeating: 0, count: x.count / 32)
        Self.round(x, vectors: vectors, quants: &quants, scales: &scales)
        var subnormalBlocks = 0
        for block in 0..<(x.count / 32) {
            let values = x[(block * 32)..<(block * 32 + 32)]
            let q = quants[(block * 32)..<(block * 32 + 32)]
            let scale = Double(scales[block])
            if values.contains(where: { !$0.isFinite }) {
                #expect(scale.isNaN && q.allSatisfy { $0 == 0 }, "block \(block)")
                continue
            }
            let largest = values.map { abs(Double($0)) }.max()!
            if largest == 0 {
                #expect(scale == 0 && q.allSatisfy { $0 == 0 }, "block \(block)")
                continue
            }
            if largest < Double(Float.leastNormalMagnitude) { subnormalBlocks += 1 }
            #expect(q.map { abs(Int($0)) }.max() == 32767, "block \(block)")
            // Half a step, plus the `float` roundings of `32767 / f` and of
            // `x · 2^−e · (32767 / f)` (each 2^−24 relative, of at most 32767
            // steps: 0.004 of a step) and of the scale (2^−24 relative, or
            // 2^−150 absolute where it is subnormal, times |q| ≤ 32767).
            let step = largest / 32767
            let worst = zip(values, q).map { abs(Double($0) - Double($1) * scale) }.max()!
            let bound = step * 0.505 + 32767 * 0x1p-150
            #expect(worst <= bound, "block \(block): \(worst) against a step of \(step)")
        }
        #expect(subnormalBlocks > 0, "the activations have subnormal blocks")
    }

    /// Where the AVX-512 VNNI path runs, the rounding is the prompt
    /// kernels' bit for bit on blocks of normal numbers.
    @Test("the rounding is the prompt kernels' rounding")
    func sameAsPromptRounding() {
        guard KernelPath.avx512vnni.isSupported else { return }
        let tokens = 16
        let x = RandomWeights.floats(count: tokens * Self.columns, seed: 11).map { $0 * 3 }
        var quants = [Int16](repeating: 0, count: x.count)
        var scales = [Float](repeating: 0, count: x.count / 32)
        Self.round(x, vectors: tokens, quants: &quants, scales: &scales)
        var promptQuants = quants, promptScales = scales, promptSums = scales
        lmgate_quantize_tokens16(x, Int64(tokens), Int64(Self.columns), &promptQuants, &promptScales, &promptSums)
        let blocks = Self.columns / 32
        for token in 0..<tokens {
            for block in 0..<blocks {
                // The prompt layout: 512 quants per block of 16 tokens, pair k of lane l at k·32 + l·2.
                let prompt = (0..<32).map { promptQuants[block * 512 + ($0 / 2) * 32 + token * 2 + $0 % 2] }
                let here = Array(quants[(token * Self.columns + block * 32)..<(token * Self.columns + block * 32 + 32)])
                #expect(here == prompt, "token \(token), block \(block)")
                #expect(scales[token * blocks + block] == promptScales[block * 16 + token], "token \(token), block \(block)")
            }
        }
    }

    /// On every path: `.roundedTo16Bits` one-token and few-token products
    /// within the bound (and, where the path has the kernel, not the
    /// `Float` product; elsewhere exactly it), with the kernel a few
    /// tokens' results bitwise each token's alone (1…4 vectors per pass and a tail), and
    /// AVX2's results bitwise AVX-512's.
    @Test("the logits' product is within the 16-bit bound of exact", arguments: types, KernelPath.allCases.filter(\.isSupported))
    func withinBound(type: GGMLType, path: KernelPath) throws {
        let bytes = KernelsTokens16Tests.weights(type, seed: 47)
        let pool = ComputePool(threadCount: 2)
        let (rows, columns) = (Self.rows, KernelsTokens16Tests.columns(type))
        let tokens = 7
        let x = KernelsTokens16Tests.activations(tokens: tokens, columns: columns, seed: 9)
        try bytes.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: type, data: raw.baseAddress!, rows: rows, columns: columns)
            let weights: [[Float]] = (0..<rows).map { row in
                var w = [Float](repeating: 0, count: columns)
                w.withUnsafeMutableBufferPointer { matrix.dequantizeRow(row, into: $0.baseAddress!) }
                return w
            }
            try x.withUnsafeBufferPointer { x in
                let x = x.baseAddress!
                let alone = Self.alone(matrix, x, tokens, pool, path, .roundedTo16Bits)
                let exact = Self.alone(matrix, x, tokens, pool, path, .exact)
                var worst = 0.0
                for token in 0..<tokens {
                    for row in 0..<rows {
                        let (value, bound) = KernelsTokens16Tests.reference(weights[row], x + token * columns)
                        let error = abs(Double(alone[token][row]) - value) / bound
                        worst = max(worst, error.isNaN ? .infinity : error)
                    }
                }
                print("\(type.name) 16-bit logits product on \(path.rawValue): worst error \(worst) of the bound")
                #expect(worst <= 1, "\(type.name), \(path.rawValue): worst error \(worst) of the bound")
                let hasKernel = lmgate_logits16_kernel(Int32(type.rawValue), path.code) != nil
                #expect((alone == exact) == !hasKernel, "\(type.name), \(path.rawValue): the Float product only without the kernel")
                // Without the kernel, a few tokens' Float product is not each token's alone (the portable row kernels).
                for count in 2...tokens where hasKernel {
                    var y = [Float](repeating: .nan, count: count * rows)
                    y.withUnsafeMutableBufferPointer { y in
                        KernelPath.$override.withValue(path) {
                            MatrixMultiply.matMul(matrix, x: x, tokens: count, y: y.baseAddress!, pool: pool, activations: .roundedTo16Bits)
                        }
                    }
                    for token in 0..<count {
                        #expect(Array(y[token * rows..<(token + 1) * rows]) == alone[token],
                                "\(type.name), \(path.rawValue), \(count) tokens, token \(token)")
                    }
                }
                // 16 tokens or more (the logits of a teacher-forced prompt):
                // the prompt kernel on AVX-512 VNNI, the vectors kernel on
                // AVX2, `Float` on the portable path; within the bound.
                let many = 19
                let wide = KernelsTokens16Tests.activations(tokens: many, columns: columns, seed: 21)
                let y = wide.withUnsafeBufferPointer { wide in
                    KernelPath.$override.withValue(path) {
                        KernelsTokens16Tests.product(matrix, wide.baseAddress!, many, pool, .roundedTo16Bits)
                    }
                }
                var worstMany = 0.0
                wide.withUnsafeBufferPointer { wide in
                    for token in 0..<many {
                        for row in 0..<rows {
                            let (value, bound) = KernelsTokens16Tests.reference(weights[row], wide.baseAddress! + token * columns)
                            let error = abs(Double(y[token * rows + row]) - value) / bound
                            worstMany = max(worstMany, error.isNaN ? .infinity : error)
                        }
                    }
                }
                #expect(worstMany <= 1, "\(type.name), \(path.rawValue), \(many) tokens: worst error \(worstMany) of the bound")
                if path == .avx512vnni, KernelPath.avx2.isSupported {
                    try #require(Self.alone(matrix, x, tokens, pool, .avx2, .roundedTo16Bits) == alone, "\(type.name): AVX2 against AVX-512")
                }
            }
        }
    }

    /// A NaN or an infinity among a token's activations makes that token's
    /// logits NaN and leaves the other tokens' alone.
    @Test("a NaN or an infinity stays in its token", arguments: types, KernelPath.allCases.filter { $0.isSupported && $0 != .portable })
    func nonFinite(type: GGMLType, path: KernelPath) throws {
        let bytes = KernelsTokens16Tests.weights(type, seed: 53)
        let columns = KernelsTokens16Tests.columns(type)
        var x = RandomWeights.floats(count: 5 * columns, seed: 13)
        x[1 * columns + 70] = .nan
        x[3 * columns + 7] = .infinity
        let pool = ComputePool(threadCount: 2)
        try bytes.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: type, data: raw.baseAddress!, rows: Self.rows, columns: columns)
            var y = [Float](repeating: 0, count: 5 * Self.rows)
            x.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    KernelPath.$override.withValue(path) {
                        MatrixMultiply.matMul(matrix, x: x.baseAddress!, tokens: 5, y: y.baseAddress!, pool: pool, activations: .roundedTo16Bits)
                    }
                }
            }
            for token in 0..<5 {
                let results = y[token * Self.rows..<(token + 1) * Self.rows]
                if token == 1 || token == 3 {
                    #expect(results.allSatisfy { $0.isNaN }, "\(type.name), \(path.rawValue), token \(token)")
                } else {
                    #expect(results.allSatisfy { $0.isFinite }, "\(type.name), \(path.rawValue), token \(token)")
                }
            }
        }
    }

    /// Each token's one-token product on `path`.
    static func alone(
        _ matrix: WeightMatrix, _ x: UnsafePointer<Float>, _ tokens: Int, _ pool: ComputePool, _ path: KernelPath,
        _ activations: ActivationPrecision
    ) -> [[Float]] {
        KernelPath.$override.withValue(path) {
            (0..<tokens).map { token in
                var y = [Float](repeating: .nan, count: matrix.rows)
                y.withUnsafeMutableBufferPointer {
                    MatrixMultiply.matVec(matrix, x: x + token * matrix.columns, y: $0.baseAddress!, pool: pool, activations: activations)
                }
                return y
            }
        }
    }
}
