import COpenBLAS

/// OpenBLAS's x86-64 kernel sets ("cores") by the name `OPENBLAS_CORETYPE`
/// takes and `openblas_get_corename()` returns, ranked by the widest vector
/// instructions they use, and which of them a CPU can run.
public enum OpenBLASCore {
    /// The vector width a core's kernels use: 0 SSE, 1 AVX, 2 AVX2+FMA, 3 AVX-512.
    /// Names are lower-cased (OpenBLAS compares them without case). A name
    /// not listed is one this table does not know: lmgate leaves it alone.
    static let levels: [String: Int] = [
        "prescott": 0, "katmai": 0, "coppermine": 0, "northwood": 0, "core2": 0, "penryn": 0, "dunnington": 0,
        "nehalem": 0, "atom": 0, "opteron": 0, "opteron_sse3": 0, "barcelona": 0, "nano": 0,
        "sandybridge": 1, "bulldozer": 1, "piledriver": 1, "steamroller": 1,
        "haswell": 2, "zen": 2, "excavator": 2,
        "skylakex": 3, "cooperlake": 3, "sapphirerapids": 3,
    ]

    /// The core's level in ``levels``, or `nil` for a name not known here.
    static func level(of core: String) -> Int? { levels[core.lowercased()] }

    /// Whether two core names are the same core.
    static func same(_ a: String, _ b: String) -> Bool { a.lowercased() == b.lowercased() }

    /// The cores a CPU with these flags runs, best first. Cooperlake comes
    /// first where the CPU has BF16, but an older OpenBLAS may not know it:
    /// ``BLASCoreDecision`` then falls back to the next one.
    static func candidates(for flags: Set<String>) -> [String] {
        var cores: [String] = []
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) {
            if flags.contains("avx512_bf16") { cores.append("Cooperlake") }
            cores.append("SkylakeX")
        }
        if flags.isSuperset(of: ["avx2", "fma"]) { cores.append("Haswell") }
        return cores
    }

    /// The core the loaded OpenBLAS runs (chosen when the library loaded).
    public static var loaded: String {
        // OpenBLAS returns a pointer to one of its static name strings.
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }
}
