import CKernels
import Testing

@testable import Backend
@testable import Kernels

/// The several-vector integer-dot kernels (`lmgate_dot_vectors_kernel`)
/// against the single-vector kernel of the same type and path: a decode
/// step of several sequences must give each sequence bitwise what it gets
/// decoding alone, so equality here is exact, not within a bound. Random
/// and adversarial weight blocks (those of ``KernelsIntegerDotTests``),
/// vectors of every activation kind side by side, and vector counts that
/// fill the kernels' tiles of four and leave each remainder.
@Suite("Kernels: several-vector integer-dot kernels equal the single-vector kernel bit for bit")
struct KernelsIntegerDotVectorsTests {
    typealias Weights = KernelsIntegerDotTests.Weights
    typealias Activations = KernelsIntegerDotTests.Activations

    struct Case: CustomTestStringConvertible, Sendable {
        let path: KernelPath
        let type: GGMLType
        let weights: Weights
        var testDescription: String { "\(path.rawValue) \(type.name) \(weights.rawValue) weights" }
    }

    static let cases: [Case] = KernelsIntegerDotTests.paths.flatMap { path in
        KernelsIntegerDotTests.types.flatMap { type in
            Weights.allCases.map { Case(path: path, type: type, weights: $0) }
        }
    }

    static let counts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11]

    /// `count` vectors, row-major: vector v of activation kind v mod 4 (so
    /// all-zero, one-huge and mixed-magnitude vectors sit beside random ones
    /// in every tile), each with its own seed.
    static func vectors(count: Int) -> [Float] {
        (0..<count).flatMap { vector in
            let kind = Activations.allCases[vector % Activations.allCases.count]
            return KernelsIntegerDotTests.activations(kind, seed: 100 + UInt64(vector))
        }
    }

    @Test("each vector's result equals the single-vector kernel's for that vector alone", arguments: cases)
    func equalsSingleVectorKernel(testCase: Case) throws {
        let rows = KernelsIntegerDotTests.rows, columns = KernelsIntegerDotTests.columns
        let bytes = KernelsIntegerDotTests.weightBytes(testCase.type, testCase.weights, seed: 41)
        try bytes.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: testCase.type, data: raw.baseAddress!, rows: rows, columns: columns)
            for count in Self.counts {
                let x = Self.vectors(count: count)
                try x.withUnsafeBufferPointer { x in
                    let together = try #require(QuantizedActivations(
                        testCase.type, x.baseAddress!, columns: columns, count: count, path: testCase.path))
                    defer { together.deallocate() }
                    // Results in the product's layout: row r of vector v at v·rows + r.
                    var y = [Float](repeating: .nan, count: count * rows)
                    y.withUnsafeMutableBufferPointer { y in
                        for row in 0..<rows { together.dots(matrix.rowData(row), into: y.baseAddress! + row, stride: rows) }
                    }
                    for vector in 0..<count {
                        let alone = try #require(QuantizedActivations(
                            testCase.type, x.baseAddress! + vector * columns, columns: columns, path: testCase.path))
                        defer { alone.deallocate() }
                        for row in 0..<rows {
                            let expected = alone.dot(matrix.rowData(row))
                            let actual = y[vector * rows + row]
                            #expect(actual.bitPattern == expected.bitPattern,
                                    "\(count) vectors, vector \(vector), row \(row): \(actual) vs \(expected) alone")
                        }
                    }
                }
            }
        }
    }

    @Test("matMul of one-token decodes equals matVec of each token, bit for bit, on every integer-dot path and type",
          arguments: KernelsIntegerDotTests.paths)
    func matMulTokensAloneEqualsMatVec(path: KernelPath) throws {
        let rows = KernelsIntegerDotTests.rows, columns = KernelsIntegerDotTests.columns
        let pool = ComputePool(threadCount: 2)
        let tokens = 7
        let x = Self.vectors(count: tokens)
        for type in KernelsIntegerDotTests.types {
            let bytes = KernelsIntegerDotTests.weightBytes(type, .random, seed: 43)
            try bytes.withUnsafeBytes { raw in
                let matrix = try WeightMatrix(type: type, data: raw.baseAddress!, rows: rows, columns: columns)
                var together = [Float](repeating: .nan, count: tokens * rows)
                var alone = [Float](repeating: .nan, count: tokens * rows)
                KernelPath.$override.withValue(path) {
                    together.withUnsafeMutableBufferPointer { y in
                        MatrixMultiply.matMul(matrix, x: x, tokens: tokens, y: y.baseAddress!, pool: pool, eachTokenAlone: true)
                    }
                    x.withUnsafeBufferPointer { x in
                        alone.withUnsafeMutableBufferPointer { y in
                            for token in 0..<tokens {
                                MatrixMultiply.matVec(matrix, x: x.baseAddress! + token * columns, y: y.baseAddress! + token * rows, pool: pool)
                            }
                        }
                    }
                }
                #expect(together.map(\.bitPattern) == alone.map(\.bitPattern), "\(type.name) on \(path.rawValue)")
            }
        }
    }

    @Test("the portable path has no several-vector kernel (nor a single one): its products stay in Float")
    func portableHasNone() {
        for type in KernelsIntegerDotTests.types {
            #expect(lmgate_integer_dot_vectors_kernel(Int32(type.rawValue), KernelPath.portable.code) == nil)
            #expect(lmgate_integer_dot_kernel(Int32(type.rawValue), KernelPath.portable.code) == nil)
        }
        // Q2_K (no integer kernel, see KernelPath) has none on any path.
        for path in KernelsIntegerDotTests.paths {
            #expect(lmgate_integer_dot_vectors_kernel(Int32(GGMLType.q2_K.rawValue), path.code) == nil)
        }
    }
}
