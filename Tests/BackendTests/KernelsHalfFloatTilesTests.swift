import CKernels
import Testing

@testable import Backend
@testable import Kernels

/// CKernels' F16 prompt kernel (`lmgate_f16_tiles_kernel`, F16 prompts on
/// the AVX-512 path) against the product in `Double` of the exactly
/// converted weights: random weights and F16 extremes, subnormals, zeros
/// and infinities, activations that are random, huge, tiny or hold a NaN;
/// rows and tokens that are and are not multiples of the 4 × 6 register
/// tile, columns that are and are not multiples of 16. Also: each result
/// is the same whatever the other tokens and rows of the call, and
/// ``MatrixMultiply`` routes F16 prompts to it on that path.
@Suite("Kernels: F16 prompt tiles")
struct KernelsHalfFloatTilesTests {
    static let kernel = lmgate_f16_tiles_kernel_for(KernelPath.avx512vnni.code)
    static var runs: Bool { KernelPath.avx512vnni.isSupported && kernel != nil }

    typealias Weights = KernelsHalfFloatRowsTests.Weights

    enum Activations: String, CaseIterable {
        case random, huge, tiny, nan
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let weights: Weights
        let activations: Activations
        var testDescription: String { "\(weights.rawValue) weights, \(activations.rawValue) x" }
    }

    static let cases: [Case] = Weights.allCases.flatMap { weights in Activations.allCases.map { Case(weights: weights, activations: $0) } }

    /// (rows, tokens, columns): one of everything; whole tiles and whole
    /// 16-column steps; partial tiles of 1, 2 and 3 rows and of 1 to 5
    /// tokens at the edges, with a column tail of 1, 15, 5 or 8 columns; the
    /// bench model's 896.
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

    static func run(_ weights: [UInt16], x: [Float], rows: Int, tokens: Int, columns: Int) -> [Float] {
        var y = [Float](repeating: .nan, count: tokens * rows)
        weights.withUnsafeBytes { w in
            x.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    kernel!(w.baseAddress!, Int64(2 * columns), Int64(rows), x.baseAddress!, Int64(tokens), Int64(columns),
                            y.baseAddress!, Int64(rows))
                }
            }
        }
        return y
    }

    @Test("results agree with the product in Double", .enabled(if: runs), arguments: cases)
    func agreesWithDouble(testCase: Case) {
        var random = SeededRandom(seed: 23)
        for (rows, tokens, columns) in Self.shapes {
            let weights = KernelsHalfFloatRowsTests.halves(testCase.weights, count: rows * columns, random: &random)
            let x = Self.activations(testCase.activations, tokens: tokens, columns: columns, random: &random)
            let y = Self.run(weights, x: x, rows: rows, tokens: tokens, columns: columns)
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
    @Test("each result is bitwise the same in a call of one row and one token", .enabled(if: runs))
    func independentOfTheTile() {
        var random = SeededRandom(seed: 29)
        let (rows, tokens, columns) = (9, 15, 75)
        let weights = KernelsHalfFloatRowsTests.halves(.random, count: rows * columns, random: &random)
        let x = Self.activations(.random, tokens: tokens, columns: columns, random: &random)
        let y = Self.run(weights, x: x, rows: rows, tokens: tokens, columns: columns)
        for token in 0..<tokens {
            for row in 0..<rows {
                let alone = Self.run(
                    Array(weights[(row * columns)..<((row + 1) * columns)]),
                    x: Array(x[(token * columns)..<((token + 1) * columns)]), rows: 1, tokens: 1, columns: columns)
                #expect(y[token * rows + row].bitPattern == alone[0].bitPattern, "row \(row), token \(token)")
            }
        }
    }

    /// On the AVX-512 path a prompt's F16 product is the kernel's, over the
    /// pool's row ranges (ranges whose length is not a multiple of the tile).
    @Test("MatrixMultiply.matMul runs F16 prompts through the kernel", .enabled(if: runs), arguments: [1, 2])
    func matMulUsesKernel(threads: Int) throws {
        var random = SeededRandom(seed: 31)
        let (rows, tokens, columns) = (71, MatrixMultiply.blasMinimumTokens + 3, 565)
        let weights = KernelsHalfFloatRowsTests.halves(.random, count: rows * columns, random: &random)
        let x = Self.activations(.random, tokens: tokens, columns: columns, random: &random)
        let expected = Self.run(weights, x: x, rows: rows, tokens: tokens, columns: columns)
        let pool = ComputePool(threadCount: threads)
        try weights.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: .f16, data: raw.baseAddress!, rows: rows, columns: columns)
            for activations in [ActivationPrecision.exact, .quantizedWhereFaster] {
                var y = [Float](repeating: .nan, count: tokens * rows)
                KernelPath.$override.withValue(.avx512vnni) {
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

    @Test("the kernel is offered on the AVX-512 path only")
    func dispatcher() {
        for path in KernelPath.allCases {
            #if arch(x86_64)
            #expect((lmgate_f16_tiles_kernel_for(path.code) != nil) == (path == .avx512vnni), "\(path.rawValue)")
            #else
            #expect(lmgate_f16_tiles_kernel_for(path.code) == nil, "\(path.rawValue)")
            #endif
        }
    }
}
