import Testing
@testable import Backend
@testable import Kernels

@Suite("Kernels: several one-token products in one job")
struct KernelsFusedProductsTests {
    /// Each product of a ``MatrixMultiply/matVecs(_:pool:)`` job, with its
    /// own input vector, is bitwise what ``MatrixMultiply/matVec(_:x:y:pool:activations:)``
    /// gives for it alone: a mixture of experts' down projections may share a
    /// job without changing a logit. Sizes on both sides of
    /// ``MatrixMultiply/parallelMinimumBytes``, so the products are both split
    /// over the pool's threads and run on the calling thread.
    @Test("matVecs with one input per product equals matVec per product", arguments: [GGMLType.q8_0, .f16, .q4_K])
    func equalsSeparateProducts(type: GGMLType) throws {
        let columns = 512
        let pool = ComputePool(threadCount: 2)
        let rowCounts = [4, 300, 8, 257]
        // Copies the matrices can point into for the whole test.
        let buffers = rowCounts.enumerated().map { index, rows in
            let bytes = RandomWeights.bytes(type: type, rows: rows, columns: columns, seed: 40 + UInt64(index))
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
            buffer.copyBytes(from: bytes)
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        let inputs = rowCounts.indices.map { RandomWeights.floats(count: columns, seed: 60 + UInt64($0)) }
        var matrices: [WeightMatrix] = []
        for (index, rows) in rowCounts.enumerated() {
            matrices.append(try WeightMatrix(type: type, data: UnsafeRawPointer(buffers[index].baseAddress!), rows: rows, columns: columns))
        }
        #expect(matrices.contains { $0.byteCount < MatrixMultiply.parallelMinimumBytes })
        #expect(matrices.contains { $0.byteCount >= MatrixMultiply.parallelMinimumBytes })
        let total = rowCounts.reduce(0, +)
        let fused = UnsafeMutablePointer<Float>.allocate(capacity: total)
        let separate = UnsafeMutablePointer<Float>.allocate(capacity: total)
        fused.initialize(repeating: .nan, count: total)
        separate.initialize(repeating: .nan, count: total)
        let x = inputs.map { input in
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: columns)
            pointer.initialize(from: input, count: columns)
            return pointer
        }
        defer {
            fused.deallocate()
            separate.deallocate()
            x.forEach { $0.deallocate() }
        }
        var offset = 0
        var products: [(matrix: WeightMatrix, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>)] = []
        for (index, matrix) in matrices.enumerated() {
            products.append((matrix, UnsafePointer(x[index]), fused + offset))
            MatrixMultiply.matVec(matrix, x: x[index], y: separate + offset, pool: pool)
            offset += matrix.rows
        }
        MatrixMultiply.matVecs(products, pool: pool)
        let differing = (0..<total).filter { fused[$0].bitPattern != separate[$0].bitPattern }
        #expect(differing.isEmpty, "\(type.name): \(differing.count) of \(total) results differ, first at \(differing.first ?? -1)")
    }
}
