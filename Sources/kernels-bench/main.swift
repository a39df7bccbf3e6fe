// kernels-bench: speed of lmgate's matrix kernels on Qwen2.5-0.5B-shaped
// matrices with random weights. Run through scripts/bench-kernels (release).
//
// matVec is reported in GB/s of weights streamed (decode is bandwidth-bound);
// enough copies of each matrix are cycled through that they do not fit in
// the last-level cache, as in a real forward pass. matMul (prefill) is
// reported in GFLOP/s. "decode est." turns the matVec speeds into the
// tokens/s the matrix work of a whole Qwen2.5-0.5B forward pass would allow.
import Kernels
import Foundation

struct Shape {
    let name: String
    let rows: Int
    let columns: Int
}

var arguments = CommandLine.arguments.dropFirst()
var threads = ComputePool.availableCores
var typeNames = ["F16", "Q8_0", "Q5_0", "Q4_K", "Q6_K", "Q4_0", "BF16", "F32"]
var promptTokens = 128
var minimumSeconds = 0.5
// matVec in Float (ActivationPrecision.exact), as the output projection runs
// for exact logits, instead of the integer-dot kernels where the path has one.
var exactActivations = false
// matVec and matMul with activations rounded to 16 bits
// (ActivationPrecision.roundedTo16Bits), as the output projection runs now.
var roundedActivations = false
var outputColumns = 896
while let argument = arguments.popFirst() {
    switch argument {
    case "--threads": threads = Int(arguments.popFirst() ?? "") ?? threads
    case "--types": typeNames = (arguments.popFirst() ?? "").split(separator: ",").map(String.init)
    case "--tokens": promptTokens = Int(arguments.popFirst() ?? "") ?? promptTokens
    case "--seconds": minimumSeconds = Double(arguments.popFirst() ?? "") ?? minimumSeconds
    case "--exact": exactActivations = true
    case "--logits16": roundedActivations = true
    case "--output-columns": outputColumns = Int(arguments.popFirst() ?? "") ?? outputColumns
    default:
        print("usage: kernels-bench [--threads N] [--types F16,Q8_0,...] [--tokens N] [--seconds S] [--exact | --logits16] [--output-columns N]")
        exit(2)
    }
}
/// The weight matrices of one Qwen2.5-0.5B layer and its output head, with
/// how many of each one token's forward pass multiplies. (`--output-columns`
/// widens the head, e.g. to 1536 as Qwen2.5-1.5B's: 896 columns are no
/// whole number of 256-blocks, so a Q6_K head needs another width.)
let qwenPass: [(Shape, count: Int)] = [
    (Shape(name: "attn q/o 896x896", rows: 896, columns: 896), 2 * 24),
    (Shape(name: "attn k/v 128x896", rows: 128, columns: 896), 2 * 24),
    (Shape(name: "ffn gate/up 4864x896", rows: 4864, columns: 896), 2 * 24),
    (Shape(name: "ffn down 896x4864", rows: 896, columns: 4864), 24),
    (Shape(name: "output 151936x\(outputColumns)", rows: 151936, columns: outputColumns), 1),
]
let reportedShapes = [2, 3, 4].map { qwenPass[$0].0 }
let types = typeNames.compactMap { name in GGMLType.allCases.first { $0.name == name.uppercased() } }
let pool = ComputePool(threadCount: threads)

/// Random stored weights with finite 16-bit float fields (block scales and
/// F16/BF16 elements), so that the arithmetic is that of real weights.
func randomWeights(type: GGMLType, rows: Int, columns: Int, seed: UInt64) -> UnsafeMutableRawBufferPointer {
    let layout = type.layout!
    let count = rows * columns / layout.elementsPerBlock * layout.bytesPerBlock
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 64)
    var state = seed
    let words = buffer.bindMemory(to: UInt64.self)
    for index in 0..<(count / 8) {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        words[index] = z ^ (z >> 27)
    }
    let raw = UnsafeMutableRawPointer(buffer.baseAddress!)
    // A half with exponent bits 0b01xxx is finite and in [2^-15, 2); sign and
    // mantissa stay random.
    func tame(_ offset: Int) {
        let bits = raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
        raw.storeBytes(of: (bits & 0x83FF) | 0x2000, toByteOffset: offset, as: UInt16.self)
    }
    switch type {
    case .f32:
        let floats = buffer.bindMemory(to: UInt32.self)
        for index in 0..<floats.count { floats[index] = (floats[index] & 0x807F_FFFF) | 0x3F00_0000 }
    case .f16:
        for offset in stride(from: 0, to: count, by: 2) { tame(offset) }
    case .bf16:
        for offset in stride(from: 0, to: count, by: 2) {
            let bits = raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
            raw.storeBytes(of: (bits & 0x807F) | 0x3F00, toByteOffset: offset, as: UInt16.self)
        }
    case .q8_0, .q4_0, .q5_0, .iq4_nl, .iq4_xs:
        for offset in stride(from: 0, to: count, by: layout.bytesPerBlock) { tame(offset) }
    case .q4_K, .q5_K, .q4_1, .q5_1:
        for offset in stride(from: 0, to: count, by: layout.bytesPerBlock) { tame(offset); tame(offset + 2) }
    case .q6_K:
        for offset in stride(from: 0, to: count, by: layout.bytesPerBlock) { tame(offset + 208) }
    case .q3_K:
        for offset in stride(from: 0, to: count, by: layout.bytesPerBlock) { tame(offset + 108) }
    case .q2_K:
        for offset in stride(from: 0, to: count, by: layout.bytesPerBlock) { tame(offset + 80); tame(offset + 82) }
    default:
        fatalError("no generator for \(type.name)")
    }
    return buffer
}

func randomFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    let pointer = UnsafeMutablePointer<Float>.allocate(capacity: count)
    for index in 0..<count { pointer[index] = Float.random(in: -1...1) }
    return pointer
}

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}

/// Runs `body` repeatedly for at least `minimumSeconds`, in bursts of about
/// 20 ms, and returns the seconds per run of the fastest burst: these
/// machines are shared, and the best burst is the one least disturbed.
@MainActor func measure(_ body: (Int) -> Void) -> Double {
    body(0)
    var runs = 0
    var best = Double.infinity
    let start = now()
    repeat {
        let burstStart = now()
        var burstRuns = 0
        repeat {
            body(runs)
            runs += 1
            burstRuns += 1
        } while now() - burstStart < 0.02
        best = min(best, (now() - burstStart) / Double(burstRuns))
    } while now() - start < minimumSeconds
    return best
}

/// Enough copies of a matrix to exceed the 32 MiB last-level cache.
func copies(of shape: Shape, type: GGMLType) -> [WeightMatrix] {
    let layout = type.layout!
    // K-quants need rows of whole 256-weight blocks; llama.cpp stores such
    // Qwen2.5-0.5B matrices (896 columns) in another type.
    guard shape.columns % layout.elementsPerBlock == 0 else { return [] }
    let bytes = shape.rows * shape.columns / layout.elementsPerBlock * layout.bytesPerBlock
    let count = max(1, min(16, (96 << 20) / bytes + 1))
    return (0..<count).map { index in
        let buffer = randomWeights(type: type, rows: shape.rows, columns: shape.columns, seed: UInt64(index + 1))
        return try! WeightMatrix(type: type, data: UnsafeRawPointer(buffer.baseAddress!), rows: shape.rows, columns: shape.columns)
    }
}

print("kernels-bench: \(threads) thread(s), prefill \(promptTokens) tokens, kernels \(KernelPath.active.rawValue)"
      + (exactActivations ? ", matVec with Float activations (--exact)" : "")
      + (roundedActivations ? ", matVec and matMul with 16-bit activations (--logits16)" : ""))
let vectorPrecision: ActivationPrecision =
    roundedActivations ? .roundedTo16Bits : exactActivations ? .exact : .quantizedWhereFaster
let overhead = measure { _ in pool.parallelFor(count: 1024, granularity: 4) { _ in } }
print(String(format: "ComputePool.parallelFor round trip (empty body): %.2f µs", overhead * 1e6))

/// Seconds per call, by type name and shape name.
var vecSeconds: [String: [String: Double]] = [:]
var mulSeconds: [String: [String: Double]] = [:]

for type in types {
    for (shape, _) in qwenPass {
        let matrices = copies(of: shape, type: type)
        if matrices.isEmpty { continue }
        let x = randomFloats(shape.columns * promptTokens)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: shape.rows * promptTokens)
        let vec = measure { run in
            MatrixMultiply.matVec(matrices[run % matrices.count], x: x, y: y, pool: pool,
                                  activations: vectorPrecision)
        }
        let mul = measure { run in
            MatrixMultiply.matMul(matrices[run % matrices.count], x: x, tokens: promptTokens, y: y, pool: pool,
                                  activations: roundedActivations ? .roundedTo16Bits : .quantizedWhereFaster)
        }
        vecSeconds[type.name, default: [:]][shape.name] = vec
        mulSeconds[type.name, default: [:]][shape.name] = mul
        if reportedShapes.contains(where: { $0.name == shape.name }) {
            print(String(format: "%-5@ %-22@ matVec %6.1f GB/s   matMul %6.1f GFLOP/s",
                         type.name as NSString, shape.name as NSString,
                         Double(matrices[0].byteCount) / vec / 1e9,
                         2 * Double(shape.rows * shape.columns * promptTokens) / mul / 1e9))
        }
        for matrix in matrices { UnsafeMutableRawPointer(mutating: matrix.data).deallocate() }
        x.deallocate()
        y.deallocate()
    }
}

/// The matrix work of one Qwen2.5-0.5B forward pass with the given type per
/// matrix: decode tokens/s (matVec) and prefill tokens/s (matMul of
/// `promptTokens`), or nil if a type was not measured.
@MainActor func passEstimate(_ typeOf: (Shape) -> [String]) -> (decode: Double, prefill: Double)? {
    var decode = 0.0, prefill = 0.0
    for (shape, count) in qwenPass {
        // Several types: the file alternates them between layers; average.
        let names = typeOf(shape)
        var vec = 0.0, mul = 0.0
        for name in names {
            guard let v = vecSeconds[name]?[shape.name], let m = mulSeconds[name]?[shape.name] else { return nil }
            vec += v / Double(names.count)
            mul += m / Double(names.count)
        }
        decode += vec * Double(count)
        prefill += mul * Double(count)
    }
    return (1 / decode, Double(promptTokens) / prefill)
}

print("Matrix work of a whole Qwen2.5-0.5B pass (attention, norms, sampling not included):")
var mixes: [(String, (Shape) -> [String], peer: String)] = [
    ("F16", { _ in ["F16"] }, "llama.cpp F16: tg 25.4, pp128 224"),
    ("Q8_0", { _ in ["Q8_0"] }, "llama.cpp Q8_0: tg 40.2, pp128 182"),
    // What llama-quantize writes for Q4_K_M at 896 columns: Q5_0 instead of
    // Q4_K, Q8_0 instead of Q6_K; ffn_down (4864 columns) alternates Q4_K/Q6_K.
    ("Q4_K_M mix", { shape in
        switch shape.columns {
        case 4864: ["Q4_K", "Q6_K"]
        default: shape.rows == 151936 ? ["Q8_0"] : ["Q5_0"]
        }
    }, "llama.cpp Q4_K_M: tg 44.0, pp128 135"),
]
for name in ["BF16", "F32", "Q4_0"] { mixes.append((name, { _ in [name] }, "")) }
for (name, typeOf, peer) in mixes {
    guard let estimate = passEstimate(typeOf) else { continue }
    print(String(format: "  %-11@ decode %6.1f tok/s   prefill %6.1f tok/s   %@",
                 name as NSString, estimate.decode, estimate.prefill, peer as NSString))
}
