import Testing
@testable import Backend
@testable import Kernels

@Suite("Kernels: dequantization against gguf-py")
struct KernelsDequantizeTests {
    static let types: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q5_0, .q4_K, .q6_K]

    @Test("dequantizeRow matches gguf-py, on each copy of the row kernels", arguments: types, RowKernelPaths.supported)
    func matchesReference(type: GGMLType, path: KernelPath) throws {
        try KernelPath.$override.withValue(path) { try dequantizesLikeReference(type: type) }
    }

    func dequantizesLikeReference(type: GGMLType) throws {
        let rows = 5
        let columns = KernelsMatrixMultiplyTests.shape(for: type).columns
        let bytes = RandomWeights.bytes(type: type, rows: rows, columns: columns, seed: 7 + UInt64(type.rawValue))
        let expected = try GGUFPythonReference.dequantize(bytes, type: type, rows: rows)
        try #require(expected.count == rows * columns)

        var actual = [Float](repeating: .nan, count: rows * columns)
        try bytes.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: type, data: raw.baseAddress!, rows: rows, columns: columns)
            try #require(matrix.rowBytes * rows == bytes.count)
            actual.withUnsafeMutableBufferPointer { out in
                matrix.dequantizeRow(0, into: out.baseAddress!)
                matrix.dequantizeRows(1..<rows, into: out.baseAddress! + columns)
            }
        }
        var worst: Float = 0
        for index in 0..<actual.count {
            let error = abs(actual[index] - expected[index]) / max(abs(expected[index]), 1e-3)
            worst = max(worst, error.isNaN ? .infinity : error)
        }
        #expect(worst <= 1e-6, "worst relative difference \(worst) for \(type.name)")
    }

    @Test("unsupported types and ragged rows are refused with an error")
    func refusesBadShapes() {
        let bytes = [UInt8](repeating: 0, count: 1024)
        bytes.withUnsafeBytes { raw in
            #expect(throws: KernelError.unsupportedType(.iq2_xxs)) {
                try WeightMatrix(type: .iq2_xxs, data: raw.baseAddress!, rows: 1, columns: 256)
            }
            #expect(throws: KernelError.columnsNotMultipleOfBlock(type: .q4_K, columns: 320, blockSize: 256)) {
                try WeightMatrix(type: .q4_K, data: raw.baseAddress!, rows: 1, columns: 320)
            }
            #expect(throws: KernelError.invalidShape(rows: 0, columns: 32)) {
                try WeightMatrix(type: .q8_0, data: raw.baseAddress!, rows: 0, columns: 32)
            }
            #expect(throws: KernelError.invalidShape(rows: Int.max / 2, columns: 64)) {
                try WeightMatrix(type: .f32, data: raw.baseAddress!, rows: Int.max / 2, columns: 64)
            }
        }
    }
}
