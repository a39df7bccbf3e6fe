import Foundation
import Testing

@testable import Backend
@testable import Kernels

/// The integer-dot kernels of every path this CPU runs, through
/// ``MatrixMultiply/matVec(_:x:y:pool:)``, against the exactly dequantized
/// weights multiplied in `Double`, on random and adversarial blocks.
///
/// The bound is the activations' quantization: each activation moves by at
/// most half its block's step (`max|x| / 254` over 32 or 256 activations),
/// so `|Δ| ≤ Σ |w|·step/2`, plus `Float` rounding.
@Suite("Kernels: integer-dot paths against a float reference")
struct KernelsIntegerDotTests {
    static let paths = KernelPath.allCases.filter { $0 != .portable && $0.isSupported }
    /// Every type with an integer-dot kernel (Q2_K has none, see KernelPath).
    static let types: [GGMLType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .iq4_nl, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs]

    enum Weights: String, CaseIterable {
        case random, allMaximum, zeros, subnormalScales
    }

    enum Activations: String, CaseIterable {
        case random, allZero, oneHuge, mixedMagnitudes
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let path: KernelPath
        let type: GGMLType
        let weights: Weights
        let activations: Activations
        var testDescription: String { "\(path.rawValue) \(type.name) \(weights.rawValue) weights, \(activations.rawValue) x" }
    }

    static let cases: [Case] = paths.flatMap { path in
        types.flatMap { type in
            Weights.allCases.flatMap { weights in
                Activations.allCases.map { Case(path: path, type: type, weights: weights, activations: $0) }
            }
        }
    }

    static let rows = 6
    static let columns = 768

    /// The byte offsets of a block's F16 scale fields.
    static func halfFields(_ type: GGMLType) -> [Int] {
        switch type {
        case .q8_0, .q4_0, .q5_0, .iq4_nl, .iq4_xs: [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: [0, 2]
        case .q6_K: [208]
        case .q3_K: [108]
        default: []
        }
    }

    static func weightBytes(_ type: GGMLType, _ kind: Weights, seed: UInt64) -> [UInt8] {
        var bytes = RandomWeights.bytes(type: type, rows: rows, columns: columns, seed: seed)
        let layout = type.layout!
        func setHalf(_ bits: UInt16) {
            for block in stride(from: 0, to: bytes.count, by: layout.bytesPerBlock) {
                for field in halfFields(type) {
                    bytes[block + field] = UInt8(bits & 0xFF)
                    bytes[block + field + 1] = UInt8(bits >> 8)
                }
            }
        }
        switch kind {
        case .random:
            break
        case .zeros:
            bytes = [UInt8](repeating: 0, count: bytes.count)
        case .subnormalScales:
            // 2⁻²⁴, the smallest F16 subnormal.
            setHalf(0x0001)
        case .allMaximum:
            for block in stride(from: 0, to: bytes.count, by: layout.bytesPerBlock) {
                switch type {
                case .q8_0:
                    // Alternating +127 and −128, the extremes of a signed byte.
                    for index in 2..<34 { bytes[block + index] = index % 2 == 0 ? 0x7F : 0x80 }
                case .q4_0, .iq4_nl:
                    // Every nibble 0: the most negative weight (−8, −127).
                    for index in 2..<18 { bytes[block + index] = 0x00 }
                case .q5_0:
                    // Every nibble 15 and fifth bit set: the largest weight, 15.
                    for index in 2..<22 { bytes[block + index] = 0xFF }
                case .q4_1, .q5_1:
                    // Every value 15 (31 with the fifth bits), and the largest minimum.
                    for index in 4..<layout.bytesPerBlock { bytes[block + index] = 0xFF }
                case .q5_K:
                    // Every 6-bit scale and minimum 63, every value 31.
                    for index in 4..<176 { bytes[block + index] = 0xFF }
                case .q3_K:
                    // Every value −4 (no hmask bit, bits 0) and every scale −32 (stored 0).
                    for index in 0..<108 { bytes[block + index] = 0x00 }
                case .iq4_xs:
                    // Every scale −32 (ls 0) and every nibble 0 (−127): the largest product.
                    for index in 2..<136 { bytes[block + index] = 0x00 }
                case .q4_K:
                    // Every 6-bit scale and minimum 63, every nibble 15.
                    for index in 4..<144 { bytes[block + index] = 0xFF }
                case .q6_K:
                    // Every value 63 (stored q + 32), every scale 127 then −128.
                    for index in 0..<192 { bytes[block + index] = 0xFF }
                    for index in 192..<208 { bytes[block + index] = index % 2 == 0 ? 0x7F : 0x80 }
                default:
                    break
                }
            }
            // 65504, the largest finite F16.
            setHalf(0x7BFF)
        }
        return bytes
    }

    static func activations(_ kind: Activations, seed: UInt64) -> [Float] {
        var random = SeededRandom(seed: seed)
        var x = (0..<columns).map { _ in Float.random(in: -1...1, using: &random) }
        switch kind {
        case .random:
            break
        case .allZero:
            x = [Float](repeating: 0, count: columns)
        case .oneHuge:
            x[300] = 1e6
        case .mixedMagnitudes:
            for index in x.indices where index % 7 == 0 { x[index] *= 1e4 }
            for index in x.indices where index % 5 == 0 { x[index] *= 1e-6 }
        }
        return x
    }

    /// `Σ w·x` in `Double` and its bound (see the suite's comment).
    static func reference(_ matrix: WeightMatrix, row: Int, x: [Float]) -> (value: Double, bound: Double) {
        var weights = [Float](repeating: 0, count: matrix.columns)
        weights.withUnsafeMutableBufferPointer { matrix.dequantizeRow(row, into: $0.baseAddress!) }
        return reference(weights: weights[...], block: matrix.type.layout!.elementsPerBlock, x: x)
    }

    /// `Σ w·x` for a row's dequantized `weights` (quantized in blocks of
    /// `block`) and the bound of an integer-dot product of it.
    static func reference(weights: ArraySlice<Float>, block: Int, x: [Float]) -> (value: Double, bound: Double) {
        let weights = Array(weights)
        var value = 0.0, quantization = 0.0, magnitude = 0.0
        for start in stride(from: 0, to: weights.count, by: block) {
            let step = Double(x[start..<start + block].map(abs).max()!) / 127
            for index in start..<start + block {
                let w = Double(weights[index])
                value += w * Double(x[index])
                quantization += abs(w) * step / 2
                magnitude += abs(w) * (abs(Double(x[index])) + step)
            }
        }
        return (value, quantization * (1 + 1e-4) + magnitude * 1e-5)
    }

    @Test("matVec on an integer-dot path agrees with the reference", arguments: cases)
    func agreesWithReference(testCase: Case) throws {
        let bytes = Self.weightBytes(testCase.type, testCase.weights, seed: 17)
        let x = Self.activations(testCase.activations, seed: 29)
        let pool = ComputePool(threadCount: 2)
        try bytes.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: testCase.type, data: raw.baseAddress!, rows: Self.rows, columns: Self.columns)
            var y = [Float](repeating: .nan, count: Self.rows)
            KernelPath.$override.withValue(testCase.path) {
                y.withUnsafeMutableBufferPointer { MatrixMultiply.matVec(matrix, x: x, y: $0.baseAddress!, pool: pool) }
            }
            for row in 0..<Self.rows {
                let (value, bound) = Self.reference(matrix, row: row, x: x)
                #expect(y[row].isFinite)
                #expect(abs(Double(y[row]) - value) <= bound, "row \(row): \(y[row]) vs \(value), bound \(bound)")
                if testCase.activations == .allZero || testCase.weights == .zeros {
                    #expect(y[row] == 0)
                }
            }
        }
    }

    @Test("the integer-dot path really runs: its result differs from the float kernel's by the activations' rounding",
          arguments: paths)
    func integerPathRuns(path: KernelPath) throws {
        let bytes = Self.weightBytes(.q8_0, .random, seed: 5)
        let x = Self.activations(.random, seed: 6)
        try bytes.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: .q8_0, data: raw.baseAddress!, rows: Self.rows, columns: Self.columns)
            let integer = x.withUnsafeBufferPointer { PreparedVector(matrix, $0.baseAddress!, path: path) }
            let float = x.withUnsafeBufferPointer { PreparedVector(matrix, $0.baseAddress!, path: .portable) }
            defer { integer.deallocate(); float.deallocate() }
            #expect(integer.integer != nil)
            #expect(float.integer == nil)
            #expect(integer.dot(matrix.rowData(0)) != float.dot(matrix.rowData(0)))
        }
    }

    @Test("exact activations (the logits' product) stay in Float on every path: within the float kernels' error",
          arguments: paths)
    func exactActivationsStayInFloat(path: KernelPath) throws {
        let pool = ComputePool(threadCount: 2)
        let x = Self.activations(.random, seed: 8)
        for type in Self.types {
            let bytes = Self.weightBytes(type, .random, seed: 7)
            try bytes.withUnsafeBytes { raw in
                let matrix = try WeightMatrix(type: type, data: raw.baseAddress!, rows: Self.rows, columns: Self.columns)
                func product(_ path: KernelPath, _ activations: ActivationPrecision) -> [Float] {
                    var y = [Float](repeating: .nan, count: Self.rows)
                    KernelPath.$override.withValue(path) {
                        y.withUnsafeMutableBufferPointer {
                            MatrixMultiply.matMul(matrix, x: x, tokens: 1, y: $0.baseAddress!, pool: pool, activations: activations)
                        }
                    }
                    return y
                }
                // The path's float kernels are its own copy of the row
                // kernels (AVX2's fuse multiply-adds, the baseline copy does
                // not), so its result is bounded, not equal to portable's.
                let exact = product(path, .exact)
                x.withUnsafeBufferPointer { x in
                    for row in 0..<Self.rows {
                        let (value, scale) = KernelsMatrixMultiplyTests.reference(matrix, row: row, x: x.baseAddress!)
                        #expect(abs(Double(exact[row]) - value) <= 1e-5 * scale, "\(type.name) on \(path.rawValue), row \(row)")
                    }
                }
                #expect(product(path, .quantizedWhereFaster) != exact, "\(type.name) on \(path.rawValue) should use its integer kernel")
            }
        }
    }
}
