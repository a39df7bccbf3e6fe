import CKernels
import Foundation

/// The set of kernels the engine multiplies with, chosen once per process
/// by the CPU's features, so that one binary runs the fastest kernels a
/// machine offers and never an instruction it lacks.
///
/// - ``portable``: the Swift row kernels compiled for the baseline CPU
///   (`RowKernels`), multiplying unpacked weights in `Float` (the only path
///   on arm64 and on x86-64 without AVX2).
/// - ``avx2``: integer-dot kernels for every quantized type but Q2_K
///   (CKernels, `vpmaddubsw`; Q4_1 with activations rounded to 16 bits,
///   `vpmaddwd`, since with 8 bits its decode strayed from the exact top-1
///   token more often than llama.cpp's), needing AVX2, FMA and F16C; F32,
///   F16, BF16 and Q2_K (whose 2-bit weights with 8-bit activations strayed
///   from the exact top-1 token more often than llama.cpp) with the Swift row
///   kernels compiled for AVX2, FMA and F16C (`RowKernelsAVX2`), which also
///   expand the tiles prompt processing hands to BLAS; Q8_0 with `Float`
///   activations (``ActivationPrecision/exact``) with CKernels'
///   `q8_0_float_dot_avx2`; and the output projection's Q8_0, Q6_K and Q4_1 logits
///   (``ActivationPrecision/roundedTo16Bits``) with activations rounded to
///   16 bits per 32-block, `vpmaddwd` (CKernels' `lmgate_logits16_kernel`).
/// - ``avx512vnni``: the same kernels with AVX-512 VNNI (`vpdpbusd`, Q4_1's
///   `vpdpwssd`; the logits' 16-bit kernel with `vpdpwssd`, bitwise AVX2's
///   results); the float kernels are AVX2's; and prompts (16 or more tokens)
///   of Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K and Q6_K weights with activations
///   rounded to 16 bits (`vpdpwssd`, ``MatrixMultiply``'s `matMulByTokens16`)
///   instead of `Float` tiles.
///
/// `LMGATE_KERNELS=portable|avx2|avx512vnni` (``variable``) chooses a path
/// explicitly; a path the CPU lacks, or a name not listed, is refused
/// (``select(environment:supports:)``) rather than run into an illegal
/// instruction.
///
/// No code compiled for AVX2 runs before this choice (``RowKernelVariant``),
/// so one binary runs on any x86-64 CPU.
public enum KernelPath: String, CaseIterable, Sendable, Comparable {
    case portable
    case avx2
    case avx512vnni

    /// The environment variable that chooses a path explicitly.
    public static let variable = "LMGATE_KERNELS"

    /// The path's number in CKernels.
    var code: Int32 {
        switch self {
        case .portable: Int32(LMGATE_KERNELS_PORTABLE)
        case .avx2: Int32(LMGATE_KERNELS_AVX2)
        case .avx512vnni: Int32(LMGATE_KERNELS_AVX512VNNI)
        }
    }

    /// Whether this CPU, and the operating system's saved register state,
    /// run the path's instructions (cpuid and `xgetbv`, read in CKernels).
    public var isSupported: Bool { lmgate_cpu_supports(code) != 0 }

    /// The fastest path this CPU runs.
    public static var best: KernelPath { allCases.last { $0.isSupported } ?? .portable }

    public static func < (lhs: KernelPath, rhs: KernelPath) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Who chose a path.
    public enum Reason: String, Sendable {
        case bestForCPU = "best for this CPU"
        case setByUser = "set by LMGATE_KERNELS"
    }

    /// A refused ``variable``.
    public struct SelectionError: Error, CustomStringConvertible, Equatable {
        /// The value that was refused.
        public let requested: String
        /// Why.
        public let description: String
    }

    /// The path for `environment`: the one ``variable`` names, if the CPU
    /// (`supports`) runs it, else the best supported one.
    ///
    /// - Throws: ``SelectionError`` if the variable names an unknown path
    ///   or one this CPU does not run.
    public static func select(
        environment: [String: String], supports: (KernelPath) -> Bool = { $0.isSupported }
    ) throws(SelectionError) -> (path: KernelPath, reason: Reason) {
        if let requested = environment[variable], !requested.isEmpty {
            guard let path = KernelPath(rawValue: requested.lowercased()) else {
                let known = allCases.map(\.rawValue).joined(separator: ", ")
                throw SelectionError(requested: requested, description: "\(variable)=\(requested) is not a kernel path (\(known))")
            }
            guard supports(path) else {
                throw SelectionError(requested: requested, description: "\(variable)=\(requested): this CPU does not run that path")
            }
            return (path, .setByUser)
        }
        let best = allCases.last(where: supports) ?? .portable
        return (best, .bestForCPU)
    }

    /// The process's path and why, chosen on first use. A refused
    /// ``variable`` leaves the best path here; the engine's commands check
    /// ``select(environment:supports:)`` first and stop with its error.
    public static let processSelection: (path: KernelPath, reason: Reason) = {
        (try? select(environment: ProcessInfo.processInfo.environment)) ?? (best, .bestForCPU)
    }()

    /// Set for a scope to run its products on another path (tests compare
    /// paths in one process); read where a product is prepared, on the
    /// calling thread.
    @TaskLocal public static var override: KernelPath?

    /// The path products use now: ``override`` or ``processSelection``.
    public static var active: KernelPath { override ?? processSelection.path }

    /// The weight types this path multiplies with integer-dot kernels.
    public var integerTypes: Set<GGMLType> {
        self == .portable ? [] : [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .iq4_nl, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs]
    }
}
