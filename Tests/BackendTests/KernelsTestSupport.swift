import Foundation
@testable import Backend
@testable import Kernels

/// One path per compiled copy of the row kernels this CPU runs: `portable`
/// (the baseline copy, forced on this CPU by the test) and, where the CPU
/// has it, `avx2` (the AVX2 copy, which `avx512vnni` shares). The float
/// kernel tests run on each.
enum RowKernelPaths {
    static let supported: [KernelPath] = [.portable, .avx2].filter(\.isSupported)
}

/// A small seeded generator (SplitMix64), so a failing case can be replayed.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random stored rows of a GGML type: random quantized bits, with every
/// 16-bit float field (block scales, F16 and BF16 elements) set to a finite
/// random value so that the expected results are finite.
enum RandomWeights {
    static func bytes(type: GGMLType, rows: Int, columns: Int, seed: UInt64) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        let layout = type.layout!
        let blocksPerRow = columns / layout.elementsPerBlock
        var bytes = (0..<(rows * blocksPerRow * layout.bytesPerBlock)).map { _ in UInt8.random(in: 0...255, using: &random) }

        func putHalf(_ value: Float, at offset: Int) {
            let bits = Float16(value).bitPattern
            bytes[offset] = UInt8(bits & 0xFF)
            bytes[offset + 1] = UInt8(bits >> 8)
        }
        func putFloat(_ value: Float, at offset: Int) {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { raw in
                for index in 0..<4 { bytes[offset + index] = raw[index] }
            }
        }

        let blockCount = rows * blocksPerRow
        for block in 0..<blockCount {
            let base = block * layout.bytesPerBlock
            switch type {
            case .f32:
                putFloat(Float.random(in: -2...2, using: &random), at: base)
            case .f16:
                putHalf(Float.random(in: -2...2, using: &random), at: base)
            case .bf16:
                let bits = Float.random(in: -2...2, using: &random).bitPattern >> 16
                bytes[base] = UInt8(bits & 0xFF)
                bytes[base + 1] = UInt8(bits >> 8)
            case .q8_0, .q4_0, .q5_0:
                putHalf(Float.random(in: -0.05...0.05, using: &random), at: base)
            case .q4_K, .q5_K:
                putHalf(Float.random(in: 0.0001...0.01, using: &random), at: base)
                putHalf(Float.random(in: 0.0001...0.01, using: &random), at: base + 2)
            case .q4_1, .q5_1:
                putHalf(Float.random(in: -0.05...0.05, using: &random), at: base)
                putHalf(Float.random(in: -0.5...0.5, using: &random), at: base + 2)
            case .iq4_nl, .iq4_xs:
                putHalf(Float.random(in: -0.01...0.01, using: &random), at: base)
            case .q3_K:
                putHalf(Float.random(in: -0.01...0.01, using: &random), at: base + 108)
            case .q2_K:
                putHalf(Float.random(in: 0.0001...0.01, using: &random), at: base + 80)
                putHalf(Float.random(in: 0.0001...0.01, using: &random), at: base + 82)
            case .q6_K:
                putHalf(Float.random(in: -0.01...0.01, using: &random), at: base + 208)
            default:
                fatalError("no generator for \(type.name)")
            }
        }
        return bytes
    }

    static func floats(count: Int, seed: UInt64) -> [Float] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { _ in Float.random(in: -1...1, using: &random) }
    }
}

/// gguf-py (llama.cpp's Python package), run from the project's `.venv`
/// (created by scripts/setup), as an independent reference for the formats.
enum GGUFPythonReference {
    static let python: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".venv/bin/python")

    private static let script = """
        import sys, numpy as np
        from gguf.quants import dequantize
        from gguf.constants import GGMLQuantizationType
        src, dst, qtype, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        data = np.fromfile(src, dtype=np.uint8).reshape(rows, -1)
        dequantize(data, GGMLQuantizationType(qtype)).astype(np.float32).tofile(dst)
        """

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// gguf-py's `dequantize` of `rows` stored rows of `type`.
    static func dequantize(_ bytes: [UInt8], type: GGMLType, rows: Int) throws -> [Float] {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("lmgate-kernels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("rows.bin")
        let destination = directory.appendingPathComponent("floats.bin")
        let scriptFile = directory.appendingPathComponent("dequantize.py")
        try Data(bytes).write(to: source)
        try script.write(to: scriptFile, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = python
        process.arguments = [scriptFile.path, source.path, destination.path, String(type.rawValue), String(rows)]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "gguf-py failed: " + String(decoding: message, as: UTF8.self))
        }
        let data = try Data(contentsOf: destination)
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}
