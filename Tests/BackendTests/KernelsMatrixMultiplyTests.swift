import CKernels
import Testing
@testable import Backend
@testable import Kernels

@Suite("Kernels: matVec and matMul against dequantize-then-dot")
struct KernelsMatrixMultiplyTests {
    struct Case: CustomStringConvertible, Sendable {
        let type: GGMLType
        let threads: Int
        let path: KernelPath
        var description: String { "\(type.name), \(threads) thread(s), \(path.rawValue) row kernels" }
    }

    /// The first eight types (also checked against gguf-py by running it)
    /// and the later ones (checked against gguf-py through fixtures), on
    /// each copy of the row kernels this CPU runs.
    static let cases: [Case] = (KernelsDequantizeTests.types + KernelsQuantFixtureTests.types).flatMap { type in
        RowKernelPaths.supported.flatMap { path in [1, 2].map { Case(type: type, threads: $0, path: path) } }
    }

    /// Rows: odd, and not a multiple of the pool's 4-row granularity nor of
    /// the BLAS tile. Columns: for the plain types, a tail shorter than one
    /// SIMD step after the permuted groups; for the 32-weight blocks, an odd
    /// number of blocks (Q4_0/Q5_0/Q4_1/Q5_1 read blocks in pairs plus a lone one);
    /// for the K-quants, two blocks.
    static func shape(for type: GGMLType) -> (rows: Int, columns: Int) {
        switch type {
        case .f32, .f16, .bf16: (rows: 71, columns: 565)
        case .q8_0, .q4_0, .q5_0, .q4_1, .q5_1, .iq4_nl: (rows: 71, columns: 544)
        default: (rows: 71, columns: 512)
        }
    }

    /// The reference: the dequantized row (checked against gguf-py
    /// elsewhere) dotted with `x` in `Double`, and the scale of the terms,
    /// `Σ|w·x|`, that a `Float` computation's error is proportional to.
    static func reference(_ matrix: WeightMatrix, row: Int, x: UnsafePointer<Float>) -> (value: Double, scale: Double) {
        var weights = [Float](repeating: 0, count: matrix.columns)
        weights.withUnsafeMutableBufferPointer { matrix.dequantizeRow(row, into: $0.baseAddress!) }
        var value = 0.0, scale = 0.0
        for column in 0..<matrix.columns {
            let term = Double(weights[column]) * Double(x[column])
            value += term
            scale += abs(term)
        }
        return (value, scale)
    }

    /// The float kernels (exact activations: the integer-dot kernels round
    /// them; KernelsIntegerDotTests bounds those).
    @Test("matVec and matMul agree with the reference", arguments: cases)
    func agreesWithReference(testCase: Case) throws {
        try KernelPath.$override.withValue(testCase.path) { try floatKernelsAgree(testCase) }
    }

    func floatKernelsAgree(_ testCase: Case) throws {
        let (rows, columns) = Self.shape(for: testCase.type)
        let bytes = RandomWeights.bytes(type: testCase.type, rows: rows, columns: columns, seed: 11 + UInt64(testCase.type.rawValue))
        let pool = ComputePool(threadCount: testCase.threads)
        let maxTokens = MatrixMultiply.blasMinimumTokens + 3
        let x = RandomWeights.floats(count: maxTokens * columns, seed: 3)

        try bytes.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: testCase.type, data: raw.baseAddress!, rows: rows, columns: columns)
            x.withUnsafeBufferPointer { x in
                let x = x.baseAddress!
                var expected: [[(value: Double, scale: Double)]] = []
                for token in 0..<maxTokens {
                    expected.append((0..<rows).map { Self.reference(matrix, row: $0, x: x + token * columns) })
                }
                // 1: matVec; 3: rows reused from cache; 5: four tokens per
                // pass over a row plus one; blasMinimumTokens + 3: BLAS tiles.
                for tokens in [1, 3, 5, maxTokens] {
                    var y = [Float](repeating: .nan, count: tokens * rows)
                    y.withUnsafeMutableBufferPointer { y in
                        MatrixMultiply.matMul(matrix, x: x, tokens: tokens, y: y.baseAddress!, pool: pool, activations: .exact)
                    }
                    var worst = 0.0
                    for token in 0..<tokens {
                        for row in 0..<rows {
                            let (value, scale) = expected[token][row]
                            let error = abs(Double(y[token * rows + row]) - value) / scale
                            worst = max(worst, error.isNaN ? .infinity : error)
                        }
                    }
                    #expect(worst <= 1e-5, "\(testCase), \(tokens) token(s): worst relative error \(worst)")
                }
                var y = [Float](repeating: .nan, count: rows)
                y.withUnsafeMutableBufferPointer { y in
                    MatrixMultiply.matVec(matrix, x: x, y: y.baseAddress!, pool: pool, activations: .exact)
                }
                let worst = (0..<rows).map { abs(Double(y[$0]) - expected[0][$0].value) / expected[0][$0].scale }.max()!
                #expect(worst <= 1e-5, "\(testCase), matVec: worst relative error \(worst)")
            }
        }
    }

    /// Where the path has CKernels' several-vector `Float` kernel (Q8_0 on
    /// AVX2 and AVX-512), a few tokens' exact product gives each token
    /// bitwise what its one-token product gives (the single-vector kernel),
    /// for every count of vectors the kernel takes (1…4) and a tail of
    /// blocks after the last group of four (17 blocks).
    @Test("Q8_0's several-vector Float kernel equals the single-vector kernel per token", arguments: RowKernelPaths.supported)
    func q8_0SeveralVectorsEqualOne(path: KernelPath) throws {
        let hasKernel = lmgate_float_dot_vectors_kernel_for(Int32(GGMLType.q8_0.rawValue), path.code) != nil
        #expect(hasKernel == (path != .portable), "\(path.rawValue)")
        guard hasKernel else { return }
        let (rows, columns) = Self.shape(for: .q8_0)
        let bytes = RandomWeights.bytes(type: .q8_0, rows: rows, columns: columns, seed: 29)
        let pool = ComputePool(threadCount: 2)
        let maxTokens = 7
        let x = RandomWeights.floats(count: maxTokens * columns, seed: 5)
        try KernelPath.$override.withValue(path) {
            try bytes.withUnsafeBytes { raw in
                let matrix = try WeightMatrix(type: .q8_0, data: raw.baseAddress!, rows: rows, columns: columns)
                x.withUnsafeBufferPointer { x in
                    let x = x.baseAddress!
                    let single: [[Float]] = (0..<maxTokens).map { token in
                        var y = [Float](repeating: .nan, count: rows)
                        y.withUnsafeMutableBufferPointer {
                            MatrixMultiply.matVec(matrix, x: x + token * columns, y: $0.baseAddress!, pool: pool, activations: .exact)
                        }
                        return y
                    }
                    for tokens in 2...maxTokens {
                        var y = [Float](repeating: .nan, count: tokens * rows)
                        y.withUnsafeMutableBufferPointer {
                            MatrixMultiply.matMul(matrix, x: x, tokens: tokens, y: $0.baseAddress!, pool: pool, activations: .exact)
                        }
                        for token in 0..<tokens {
                            #expect(Array(y[token * rows..<(token + 1) * rows]) == single[token],
                                    "\(path.rawValue), \(tokens) tokens, token \(token)")
                        }
                    }
                }
            }
        }
    }
}
