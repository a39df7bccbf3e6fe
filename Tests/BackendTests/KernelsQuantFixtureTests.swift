import Foundation
import Testing
@testable import Backend
@testable import Kernels

/// The quantized types added after the first eight, checked against
/// gguf-py's `dequantize` through committed fixtures
/// (`Fixtures/quants/<type>.blocks` and `.expected`, written by
/// `scripts/make-quant-fixtures.py`): adversarial blocks (zero and all-ones
/// quant bits, largest, negative, zero and subnormal F16 scales, every byte
/// value) followed by random ones.
@Suite("Kernels: quantized types against gguf-py fixtures")
struct KernelsQuantFixtureTests {
    static let types: [GGMLType] = [.q4_1, .q5_1, .q5_K, .q3_K, .q2_K, .iq4_nl, .iq4_xs]

    /// Stored rows and gguf-py's floats for them.
    struct Fixture {
        let type: GGMLType
        let bytes: [UInt8]
        let expected: [Float]
        let rows: Int
        let columns: Int

        init(_ type: GGMLType) throws {
            let name = String(describing: type)
            let directory = "Fixtures/quants"
            let blocksURL = try #require(Bundle.module.url(forResource: name, withExtension: "blocks", subdirectory: directory))
            let expectedURL = try #require(Bundle.module.url(forResource: name, withExtension: "expected", subdirectory: directory))
            self.type = type
            bytes = [UInt8](try Data(contentsOf: blocksURL))
            expected = try Data(contentsOf: expectedURL).withUnsafeBytes { raw in
                (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
            let layout = try #require(type.layout)
            // The script writes 17 blocks per row for the 32-weight types (an
            // odd count: pairs and a lone block) and two for the 256-weight ones.
            columns = layout.elementsPerBlock == 32 ? 544 : 512
            let rowBytes = columns / layout.elementsPerBlock * layout.bytesPerBlock
            rows = bytes.count / rowBytes
            try #require(rows * rowBytes == bytes.count && rows * columns == expected.count)
        }

        func withMatrix<T>(_ body: (WeightMatrix) throws -> T) throws -> T {
            try bytes.withUnsafeBytes { raw in
                try body(try WeightMatrix(type: type, data: raw.baseAddress!, rows: rows, columns: columns))
            }
        }
    }

    @Test("dequantizeRows equals gguf-py's dequantize, on each copy of the row kernels",
          arguments: types, RowKernelPaths.supported)
    func dequantizes(type: GGMLType, path: KernelPath) throws {
        let fixture = try Fixture(type)
        var actual = [Float](repeating: .nan, count: fixture.expected.count)
        try fixture.withMatrix { matrix in
            KernelPath.$override.withValue(path) {
                actual.withUnsafeMutableBufferPointer { matrix.dequantizeRows(0..<fixture.rows, into: $0.baseAddress!) }
            }
        }
        var mismatches: [String] = []
        for index in actual.indices where !(abs(actual[index] - fixture.expected[index]) <= 1e-6 * abs(fixture.expected[index])) {
            mismatches.append("[\(index)] \(actual[index]) != \(fixture.expected[index])")
        }
        #expect(mismatches.isEmpty, "\(type.name): \(mismatches.count) mismatches, first \(mismatches.prefix(4))")
    }

    /// The dot path (one token: ``RowDot`` on the stored bytes) and the
    /// tile path (enough tokens for BLAS on ``RowDequantizer`` tiles), each
    /// against the fixture's floats dotted with the activations in `Double`.
    /// On the float kernels of each copy of the row kernels (exact
    /// activations: the integer-dot kernels round them;
    /// KernelsIntegerDotTests bounds those).
    @Test("matVec and matMul equal the dot of gguf-py's floats, on each copy of the row kernels",
          arguments: types, RowKernelPaths.supported)
    func multiplies(type: GGMLType, path: KernelPath) throws {
        try KernelPath.$override.withValue(path) { try floatKernelsMultiply(type: type) }
    }

    func floatKernelsMultiply(type: GGMLType) throws {
        let fixture = try Fixture(type)
        let columns = fixture.columns, rows = fixture.rows
        let tokens = MatrixMultiply.blasMinimumTokens + 3
        let x = RandomWeights.floats(count: tokens * columns, seed: 5 + UInt64(type.rawValue))
        var expected: [(value: Double, scale: Double)] = []
        for token in 0..<tokens {
            for row in 0..<rows {
                var value = 0.0, scale = 0.0
                for column in 0..<columns {
                    let term = Double(fixture.expected[row * columns + column]) * Double(x[token * columns + column])
                    value += term
                    scale += abs(term)
                }
                expected.append((value, scale))
            }
        }
        let pool = ComputePool(threadCount: 2)
        try fixture.withMatrix { matrix in
            x.withUnsafeBufferPointer { x in
                for count in [1, tokens] {
                    var y = [Float](repeating: .nan, count: count * rows)
                    y.withUnsafeMutableBufferPointer { y in
                        if count == 1 {
                            MatrixMultiply.matVec(matrix, x: x.baseAddress!, y: y.baseAddress!, pool: pool, activations: .exact)
                        } else {
                            MatrixMultiply.matMul(matrix, x: x.baseAddress!, tokens: count, y: y.baseAddress!, pool: pool)
                        }
                    }
                    let worst = y.indices.map { abs(Double(y[$0]) - expected[$0].value) / max(expected[$0].scale, .leastNormalMagnitude) }.max()!
                    #expect(worst <= 1e-5, "\(type.name), \(count) token(s): worst relative error \(worst)")
                }
            }
        }
    }

    /// The integer-dot kernels of every path this CPU runs on the same
    /// adversarial and random blocks, against gguf-py's floats: within the
    /// activations' rounding (``KernelsIntegerDotTests/reference(weights:block:x:)``).
    @Test("integer-dot matVec agrees with gguf-py's floats within the activations' rounding",
          arguments: KernelsIntegerDotTests.paths)
    func integerKernelsMultiply(path: KernelPath) throws {
        let pool = ComputePool(threadCount: 2)
        for type in Self.types where path.integerTypes.contains(type) {
            let fixture = try Fixture(type)
            let block = try #require(type.layout).elementsPerBlock
            let x = RandomWeights.floats(count: fixture.columns, seed: 41 + UInt64(type.rawValue))
            try fixture.withMatrix { matrix in
                var y = [Float](repeating: .nan, count: fixture.rows)
                KernelPath.$override.withValue(path) {
                    y.withUnsafeMutableBufferPointer { MatrixMultiply.matVec(matrix, x: x, y: $0.baseAddress!, pool: pool) }
                }
                for row in 0..<fixture.rows {
                    let weights = fixture.expected[(row * fixture.columns)..<((row + 1) * fixture.columns)]
                    let (value, bound) = KernelsIntegerDotTests.reference(weights: weights, block: block, x: x)
                    #expect(abs(Double(y[row]) - value) <= bound, "\(type.name) on \(path.rawValue), row \(row): \(y[row]) vs \(value), bound \(bound)")
                }
            }
        }
    }
}
