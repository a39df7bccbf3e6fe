import CKernels
import Testing

@testable import Backend
@testable import Kernels

/// CKernels' F16 prompt kernels (`lmgate_f16_tiles_kernel`, F16 prompts on
/// the AVX2 and AVX-512 paths) against the product in `Double` of the exactly
/// converted weights: random weights and F16 extremes, subnormals, zeros
/// and infinities, activations that are random, huge, tiny or hold a NaN;
/// rows and tokens that are and are not multiples of the register tiles
/// (4 × 6 on AVX-512, 3 × 4 on AVX2), columns that are and are not
/// multiples of 16 and 8. Also: each result is the same whatever the other
/// tokens and rows of the call, and ``MatrixMultiply`` routes F16 prompts
/// to the kernels on those paths.
@Suite("Kernels: F16 prompt tiles")
struct KernelsHalfFloatTilesTests {
    /// The paths this CPU runs that have the kernel.
    static let paths = KernelPath.allCases.filter { $0.isSupported && lmgate_f16_tiles_kernel_for($0.code) != nil }

    typealias Weights = KernelsHalfFloatRowsTests.Weights

    enum Activations: String, CaseIterable {
        case random, huge, tiny, nan
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let path: KernelPath
        let weights: Weights
        let activations: Activations
        var testDescription: String { "\(path.rawValue): \(weights.rawValue) weights, \(activations.rawValue) x" }
    }

    static let cases: [Case] = paths.flatMap { path in
        Weights.allCases.flatMap { weights in Activations.allCases.map { Case(path: path, weights: weights, activations: $0) } }
    }

    /// (rows, tokens, columns): one of everything; whole tiles and whole
    /// 16-column steps; partial tiles of 1, 2 and 3 rows and of 1 to 5
    /// tokens at the edges, with a column tail of 1, 15, 5 or 8 columns (1,
    /// 7, 5 or none on AVX2); the bench model's 896.
    static let shapes: [(rows: Int, tokens: Int, columns: Int)] = [
        (1, 1, 1), (4, 6, 32), (5, 7, 17), (7, 13, 47), (10, 17, 101), (6, 10, 40), (11, 9, 24), (12, 18, 896),
    ]

    /// Activations of `tokens` vectors of `columns`; `huge` stays below
    /// Float's overflow in every sum (|w| ≤ 65504 < 2¹⁶, 2¹⁶ · 2¹⁰⁰ · 896 <
    /// 2¹²⁷); `nan` puts one NaN into the second token.
    static func activations(_ kind: Activations, tokens: Int, columns: Int, random: inout SeededRandom) -> [Float] {
        var x = (0..<(tokens * columns)).map { _ in
            let value = Float.random(in: -1...1, using: &random)
            switch kind {
            case .random, .nan: return value
            case .huge: return value * 0x1p100
            case .tiny: return value * 0x1p-110
            }
        }
        if kind == .nan, tokens > 1 { x[columns + Int.random(in: 0..<columns, using: &random)] = .nan }
        return x
    }

    static func run(_ path: KernelPath, _ weights: [UInt16], x: [Float], rows: Int, tokens: Int, columns: Int) -> [Float] {
        let kernel = lmgate_f16_tiles_kernel_for(path.code)!
        var y = [Float](repeating: .nan, count: tokens * rows)
        weights.withUnsafeBytes { w in
            x.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    kernel(w.baseAddress!, Int64(2 * columns), Int64(rows), x.baseAddress!, Int64(tokens), Int64(columns),
                           y.baseAddress!, Int64(rows))
                }
            }
        }
        return y
    }

    @Test("results agree with the product in Double", arguments: cases)
    func agreesWithDouble(testCase: Case) {
        var random = SeededRandom(seed: 23)
        for (rows, tokens, columns) in Self.shapes {
            let weights = KernelsHalfFloatRowsTests.halves(testCase.weights, count: rows * columns, random: &random)
            let x = Self.activations(testCase.activations, tokens: tokens, columns: columns, random: &random)
            let y = Self.run(testCase.path, weights, x: x, rows: rows, tokens: tokens, columns: columns)
            for token in 0..<tokens {
                for row in 0..<rows {
                    var value = 0.0, scale = 0.0
                    for column in 0..<columns {
                        let w = Double(Float(Float16(bitPattern: weights[row * columns + column])))
                        let term = w * Double(x[token * columns + column])
                        value += term
                        scale += abs(term)
                    }
                    let result = y[token * rows + row]
                    let place = "\(rows)×\(tokens)×\(columns), row \(row), token \(token): \(result) against \(value)"
                    if value.isNaN {
                        #expect(result.isNaN, "\(place)")
                    } else if value.isInfinite {
                        #expect(Double(result) == value, "\(place)")
                    } else {
                        // Float rounding of Σ|w·x|, and below Float's normal
                        // range (tiny activations) at most 2⁻¹⁵⁰ per addition.
                        let bound = 1e-5 * scale + Double(columns) * 0x1p-150
                        #expect(abs(Double(result) - value) <= bound, "\(place)")
                    }
                }
            }
        }
    }

    /// A result depends only on its row and token: the tile shape a row
    /// or token falls into (and so which other tokens are in the call, as
    /// when sequences decode together) leaves it bitwise unchanged.
    @Test("each result is bitwise the same in a call of one row and one token", arguments: paths)
    func independentOfTheTile(path: KernelPath) {
        var random = SeededRandom(seed: 29)
        let (rows, tokens, columns) = (9, 15, 75)
        let weights = KernelsHalfFloatRowsTests.halves(.random, count: rows * columns, random: &random)
        let x = Self.activations(.random, tokens: tokens, columns: columns, random: &random)
        let y = Self.run(path, weights, x: x, rows: rows, tokens: tokens, columns: columns)
        for token in 0..<tokens {
            for row in 0..<rows {
                let alone = Self.run(
                    path, Array(weights[(row * columns)..<((row + 1) * columns)]),
                    x: Array(x[(token * columns)..<((token + 1) * columns)]), rows: 1, tokens: 1, columns: columns)
                #expect(y[token * rows + row].bitPattern == alone[0].bitPattern, "row \(row), token \(token)")
            }
        }
    }

    /// On each path with the kernel a prompt's F16 product is the kernel's,
    /// over the pool's row ranges (71 rows: not a multiple of a tile).
    @Test("MatrixMultiply.matMul runs F16 prompts through the kernel", arguments: paths, [1, 2])
    func matMulUsesKernel(path: KernelPath, threads: Int) throws {
        var random = SeededRandom(seed: 31)
        let (rows, tokens, columns) = (71, MatrixMultiply.blasMinimumTokens + 3, 565)
        let weights = KernelsHalfFloatRowsTests.halves(.random, count: rows * columns, random: &random)
        let x = Self.activations(.random, tokens: tokens, columns: columns, random: &random)
        let expected = Self.run(path, weights, x: x, rows: rows, tokens: tokens, columns: columns)
        let pool = ComputePool(threadCount: threads)
        try weights.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: .f16, data: raw.baseAddress!, rows: rows, columns: columns)
            for activations in [ActivationPrecision.exact, .quantizedWhereFaster] {
                var y = [Float](repeating: .nan, count: tokens * rows)
                KernelPath.$override.withValue(path) {
                    x.withUnsafeBufferPointer { x in
                        y.withUnsafeMutableBufferPointer { y in
                            MatrixMultiply.matMul(matrix, x: x.baseAddress!, tokens: tokens, y: y.baseAddress!, pool: pool,
                                                  activations: activations)
                        }
                    }
                }
                #expect(y.elementsEqual(expected) { $0.bitPattern == $1.bitPattern }, "\(activations)")
            }
        }
    }

    @Test("the kernel is offered on the AVX2 and AVX-512 paths only")
    func dispatcher() {
        for path in KernelPath.allCases {
            #if arch(x86_64)
            #expect((lmgate_f16_tiles_kernel_for(path.code) != nil) == (path != .portable), "\(path.rawValue)")
            #else
            #expect(lmgate_f16_tiles_kernel_for(path.code) == nil, "\(path.rawValue)")
            #endif
        }
    }
}
