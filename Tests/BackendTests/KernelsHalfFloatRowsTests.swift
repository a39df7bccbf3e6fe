import CKernels
import Testing

@testable import Backend
@testable import Kernels

/// CKernels' F16 rows kernel (every F16 product on the AVX2 and AVX-512
/// paths) against the AVX2 copy's Swift `RowDot.f16`, which it replaced:
/// bitwise equal results, on random rows and on rows of F16 extremes,
/// subnormals and zeros, for column counts with and without the 8-column
/// and 1-column tails; and against the dequantized rows multiplied in
/// `Double`.
@Suite("Kernels: F16 rows kernel")
struct KernelsHalfFloatRowsTests {
    static let paths = KernelPath.allCases.filter { $0 != .portable && $0.isSupported }

    enum Weights: String, CaseIterable {
        case random, extremes, subnormals, zeros, infinities
    }

    enum Activations: String, CaseIterable {
        case random, huge, tiny
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let weights: Weights
        let activations: Activations
        var testDescription: String { "\(weights.rawValue) weights, \(activations.rawValue) x" }
    }

    static let cases: [Case] = Weights.allCases.flatMap { weights in Activations.allCases.map { Case(weights: weights, activations: $0) } }

    /// 768: the bench model's rows (24 steps of 32); 565: steps of 32, one
    /// of 8 and 5 single columns; 7: single columns only; 40: one step of
    /// each width.
    static let columnCounts = [768, 565, 7, 40]
    /// Row counts of a call: the kernel's loop over rows must give each
    /// row the result it gives alone.
    static let rowCounts = [1, 9, 14, 40]

    /// F16 bit patterns of one row.
    static func halves(_ kind: Weights, count: Int, random: inout SeededRandom) -> [UInt16] {
        (0..<count).map { _ in
            let sign: UInt16 = Bool.random(using: &random) ? 0x8000 : 0
            switch kind {
            case .random: return Float16(Float.random(in: -2...2, using: &random)).bitPattern
            // ±65504 (the largest finite F16) and ±2⁻¹⁴ (the smallest normal).
            case .extremes: return sign | (Bool.random(using: &random) ? 0x7BFF : 0x0400)
            // Exponent 0: 2⁻²⁴ … 2⁻¹⁴ − 2⁻²⁴, and ±0 among them.
            case .subnormals: return sign | UInt16.random(in: 0...0x03FF, using: &random)
            case .zeros: return sign
            // A few infinities of either sign among random weights: the sums
            // are ±∞ or NaN (∞ − ∞), the same in both kernels.
            case .infinities:
                return UInt16.random(in: 0..<16, using: &random) == 0
                    ? sign | 0x7C00 : Float16(Float.random(in: -2...2, using: &random)).bitPattern
            }
        }
    }

    static func activations(_ kind: Activations, count: Int, random: inout SeededRandom) -> [Float] {
        (0..<count).map { _ in
            let value = Float.random(in: -1...1, using: &random)
            switch kind {
            case .random: return value
            // Products near Float's largest finite value with ±65504.
            case .huge: return value * 0x1p110
            // Products with subnormal weights below Float's normal range.
            case .tiny: return value * 0x1p-110
            }
        }
    }

    /// The kernel's results for `rows` rows of `columns` weights.
    static func kernelResults(
        _ kernel: lmgate_float_dot_rows_kernel, weights: [UInt16], x: [Float], rows: Int, columns: Int
    ) -> [Float] {
        var y = [Float](repeating: .nan, count: rows)
        weights.withUnsafeBytes { w in
            x.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    kernel(w.baseAddress!, Int64(2 * columns), Int64(rows), x.baseAddress!, Int64(columns), y.baseAddress!)
                }
            }
        }
        return y
    }

    @Test("the kernel's results are bitwise the Swift kernel's", arguments: cases)
    func equalsSwiftKernel(testCase: Case) throws {
        let swiftKernel = RowKernelVariant.avx2.dotKernel(.f16)
        var random = SeededRandom(seed: 7)
        for path in Self.paths {
            let kernel = try #require(lmgate_float_dot_rows_kernel_for(Int32(GGMLType.f16.rawValue), path.code))
            for columns in Self.columnCounts {
                for rows in Self.rowCounts {
                    let weights = Self.halves(testCase.weights, count: rows * columns, random: &random)
                    let x = Self.activations(testCase.activations, count: columns, random: &random)
                    let y = Self.kernelResults(kernel, weights: weights, x: x, rows: rows, columns: columns)
                    let expected = weights.withUnsafeBytes { w in
                        x.withUnsafeBufferPointer { x in
                            (0..<rows).map { swiftKernel(w.baseAddress! + $0 * 2 * columns, x.baseAddress!, x.baseAddress!, columns) }
                        }
                    }
                    for row in 0..<rows {
                        // Which NaN an ∞ − ∞ leaves may depend on operand
                        // order; that both are NaN is what matters.
                        let same = y[row].bitPattern == expected[row].bitPattern || (y[row].isNaN && expected[row].isNaN)
                        #expect(same, "\(path.rawValue), \(columns) columns, row \(row) of \(rows): \(y[row]) against \(expected[row])")
                    }
                }
            }
        }
    }

    /// The kernel on finite rows against the exact dot product: within
    /// `Float` rounding of `Σ|w·x|` (as the other float kernels).
    @Test("finite rows agree with the dot product in Double", arguments: [Weights.random, .extremes, .subnormals, .zeros])
    func agreesWithDouble(weights kind: Weights) throws {
        var random = SeededRandom(seed: 19)
        for path in Self.paths {
            let kernel = try #require(lmgate_float_dot_rows_kernel_for(Int32(GGMLType.f16.rawValue), path.code))
            for columns in Self.columnCounts {
                for rows in Self.rowCounts {
                    let weights = Self.halves(kind, count: rows * columns, random: &random)
                    let x = Self.activations(.random, count: columns, random: &random)
                    let y = Self.kernelResults(kernel, weights: weights, x: x, rows: rows, columns: columns)
                    for row in 0..<rows {
                        var value = 0.0, scale = 0.0
                        for column in 0..<columns {
                            let term = Double(Float(Float16(bitPattern: weights[row * columns + column]))) * Double(x[column])
                            value += term
                            scale += abs(term)
                        }
                        #expect(abs(Double(y[row]) - value) <= 1e-5 * scale,
                                "\(path.rawValue) \(kind.rawValue), \(columns) columns, row \(row) of \(rows): \(y[row]) against \(value)")
                    }
                }
            }
        }
    }

    @Test("the dispatcher offers the kernel for F16 on the AVX2 and AVX-512 paths only")
    func dispatcher() {
        for path in KernelPath.allCases {
            let f16 = lmgate_float_dot_rows_kernel_for(Int32(GGMLType.f16.rawValue), path.code)
            #if arch(x86_64)
            #expect((f16 != nil) == (path != .portable), "\(path.rawValue)")
            #else
            #expect(f16 == nil, "\(path.rawValue)")
            #endif
            for type in [GGMLType.f32, .bf16, .q8_0, .q4_K] {
                #expect(lmgate_float_dot_rows_kernel_for(Int32(type.rawValue), path.code) == nil, "\(path.rawValue) \(type.name)")
            }
        }
    }
}
