import CKernels
import Testing

@testable import Backend
@testable import Kernels

/// The decode products with 16-bit activations (CKernels'
/// `lmgate_integer_dot16_kernel`: Q4_1 on AVX2 and AVX-512 VNNI) through
/// ``MatrixMultiply/matVec(_:x:y:pool:activations:)`` and
/// ``MatrixMultiply/matMul(_:x:tokens:y:pool:activations:eachTokenAlone:)``,
/// against a `Double` reference on the random and adversarial weights and
/// activations of ``KernelsTokens16Tests`` (largest F16 `d` and `m` of
/// either sign with extreme values, subnormal and zero `d` and `m`,
/// minimums that nearly cancel `d·q`, positive rows; activation blocks that
/// are huge, tiny, subnormal, zero, one large value among small ones, or
/// whose rounding errors align).
///
/// The bound is the prompt kernels' (``KernelsTokens16Tests/reference(_:_:)``):
/// each activation moves by at most half its block's step
/// `max|x_b| / 32767`; the weights and the integer products are exact; so
/// `|y − Σ w·x| ≤ Σ_b (max|x_b| / 65534) · Σ_{k in b} |w_k|`, plus the
/// `Float` rounding of scaling and adding the block sums, `1e-5 · Σ|w·x|`,
/// plus 1e-30 for blocks whose scale is subnormal. (`w = d·q + m`, and `m`
/// multiplies the quantized block's sum, so the same bound holds.)
@Suite("Kernels: Q4_1 decode products with 16-bit activations")
struct KernelsIntegerDot16Tests {
    static let paths = KernelsIntegerDotTests.paths
    /// The types that decode with 16-bit activations on the integer paths.
    static let types: [GGMLType] = [.q4_1]
    static let rows = KernelsTokens16Tests.rows
    /// Decode vectors: enough for every kind of activation block of
    /// ``KernelsTokens16Tests/activations(tokens:columns:seed:)`` on several
    /// vectors, and tiles of four plus a remainder.
    static let vectors = 11

    @Test("Q4_1 alone has the 16-bit kernel, on the AVX2 and AVX-512 VNNI paths, and then no 8-bit one")
    func dispatch() {
        for path in KernelPath.allCases {
            for type in KernelsIntegerDotTests.types + [.q2_K, .f16, .bf16, .f32] {
                let code = Int32(type.rawValue)
                let sixteen = lmgate_integer_dot16_kernel(code, path.code) != nil
                let sixteenVectors = lmgate_integer_dot16_vectors_kernel(code, path.code) != nil
                let expected = path != .portable && Self.types.contains(type)
                #expect(sixteen == expected, "\(type.name) on \(path.rawValue)")
                #expect(sixteenVectors == expected, "\(type.name) on \(path.rawValue)")
                if sixteen {
                    #expect(lmgate_integer_dot_kernel(code, path.code) == nil, "\(type.name) on \(path.rawValue)")
                    #expect(lmgate_integer_dot_vectors_kernel(code, path.code) == nil, "\(type.name) on \(path.rawValue)")
                }
            }
        }
    }

    /// Each vector's `matVec` (one decode step) is within the bound of
    /// exact, is the 16-bit kernel's (bitwise what quantizing and calling
    /// it directly gives, and not the `Float` product), and `matMul` of the
    /// vectors decoded together gives each bitwise the same.
    @Test("a decode step's product is within the 16-bit bound of exact, alone and beside others",
          arguments: types, paths)
    func withinBound(type: GGMLType, path: KernelPath) throws {
        let bytes = KernelsTokens16Tests.weights(type, seed: 47)
        let pool = ComputePool(threadCount: 2)
        let rows = Self.rows, columns = KernelsTokens16Tests.columns(type), count = Self.vectors
        let kernel = try #require(lmgate_integer_dot16_kernel(Int32(type.rawValue), path.code))
        try bytes.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: type, data: raw.baseAddress!, rows: rows, columns: columns)
            let weights = KernelsTokens16Tests.dequantizedRows(matrix)
            let x = KernelsTokens16Tests.activations(tokens: count, columns: columns, seed: 53)
            x.withUnsafeBufferPointer { x in
                let x = x.baseAddress!
                var worst = 0.0
                var alone = [Float](repeating: .nan, count: count * rows)
                var together = alone
                KernelPath.$override.withValue(path) {
                    alone.withUnsafeMutableBufferPointer { y in
                        for v in 0..<count {
                            MatrixMultiply.matVec(matrix, x: x + v * columns, y: y.baseAddress! + v * rows, pool: pool)
                        }
                    }
                    together.withUnsafeMutableBufferPointer { y in
                        MatrixMultiply.matMul(matrix, x: x, tokens: count, y: y.baseAddress!, pool: pool, eachTokenAlone: true)
                    }
                }
                for v in 0..<count {
                    let direct = Self.direct(kernel, matrix, x + v * columns)
                    var exact = [Float](repeating: .nan, count: rows)
                    KernelPath.$override.withValue(path) {
                        exact.withUnsafeMutableBufferPointer {
                            MatrixMultiply.matVec(matrix, x: x + v * columns, y: $0.baseAddress!, pool: pool, activations: .exact)
                        }
                    }
                    let results = Array(alone[(v * rows)..<((v + 1) * rows)])
                    #expect(results.map(\.bitPattern) == direct.map(\.bitPattern), "vector \(v): not the kernel's product")
                    #expect(results != exact, "vector \(v): the Float product")
                    for row in 0..<rows {
                        let (value, bound) = KernelsTokens16Tests.reference(weights[row], x + v * columns)
                        let error = abs(Double(results[row]) - value) / bound
                        worst = max(worst, error.isNaN ? .infinity : error)
                    }
                }
                print("\(type.name) 16-bit decode product on \(path.rawValue): worst error \(worst) of the bound")
                #expect(worst <= 1, "\(path.rawValue): worst error \(worst) of the bound")
                #expect(together.map(\.bitPattern) == alone.map(\.bitPattern), "\(path.rawValue): decoded together")
            }
        }
    }

    /// A NaN or an infinity among a vector's activations makes that vector's
    /// results NaN, as in `Float`, and leaves the vectors beside it alone.
    @Test("a NaN or an infinity stays in its vector", arguments: types, paths)
    func nonFiniteActivations(type: GGMLType, path: KernelPath) throws {
        let bytes = KernelsTokens16Tests.weights(type, seed: 59)
        let rows = Self.rows, columns = KernelsTokens16Tests.columns(type), count = 6
        var x = RandomWeights.floats(count: count * columns, seed: 61)
        x[1 * columns + 100] = .nan
        x[4 * columns + 5] = -.infinity
        try bytes.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: type, data: raw.baseAddress!, rows: rows, columns: columns)
            let together = try x.withUnsafeBufferPointer { x in
                try #require(QuantizedActivations(type, x.baseAddress!, columns: columns, count: count, path: path))
            }
            defer { together.deallocate() }
            #expect(together.hasSixteenBits)
            var y = [Float](repeating: 0, count: count * rows)
            y.withUnsafeMutableBufferPointer { y in
                for row in 0..<rows { together.dots(matrix.rowData(row), into: y.baseAddress! + row, stride: rows) }
            }
            for v in 0..<count {
                let results = y[(v * rows)..<((v + 1) * rows)]
                if v == 1 || v == 4 {
                    #expect(results.allSatisfy { $0.isNaN }, "vector \(v)")
                } else {
                    #expect(results.allSatisfy { $0.isFinite }, "vector \(v)")
                }
            }
        }
    }

    /// The kernel called on each row, on one vector quantized here.
    static func direct(_ kernel: lmgate_dot16_kernel, _ matrix: WeightMatrix, _ x: UnsafePointer<Float>) -> [Float] {
        let columns = matrix.columns
        var quants = [Int16](repeating: 0, count: columns)
        var scales = [Float](repeating: 0, count: columns / 32)
        var sums = scales
        lmgate_quantize_blocks32_16(x, Int64(columns), &quants, &scales, &sums)
        return (0..<matrix.rows).map { kernel(matrix.rowData($0), quants, scales, sums, Int64(columns)) }
    }
}
