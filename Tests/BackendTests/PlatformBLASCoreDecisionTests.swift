import Testing

@testable import Backend

@Suite("Platform: OpenBLAS core decision")
struct PlatformBLASCoreDecisionTests {
    static let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"]
    static let avx512BF16 = avx512.union(["avx512_bf16", "avx512_vnni"])
    static let avx2: Set<String> = ["sse3", "avx", "avx2", "fma"]
    static let core = BLASCoreDecision.coreVariable
    static let marker = BLASCoreDecision.markerVariable

    /// The core a decision re-executes with, or `nil` for keep.
    private func requested(_ decision: BLASCoreDecision) -> String? {
        if case .reexecute(let core, _) = decision { return core }
        return nil
    }

    @Test(
        "a weaker core than the CPU runs is replaced by the best one it runs",
        arguments: [
            (avx512BF16, "Prescott", "Cooperlake"),
            (avx512, "Prescott", "SkylakeX"),
            (avx512, "Haswell", "SkylakeX"),
            (avx512, "Sandybridge", "SkylakeX"),
            (avx512, "Zen", "SkylakeX"),
            (avx2, "Prescott", "Haswell"),
            (avx2, "Nehalem", "Haswell"),
            (avx2, "Sandybridge", "Haswell"),
        ])
    func weakCoreIsReplaced(flags: Set<String>, loaded: String, expected: String) {
        let decision = BLASCoreDecision(cpuFlags: flags, loadedCore: loaded, environment: ["PATH": "/usr/bin"])
        guard case .reexecute(let core, let environment) = decision else {
            Issue.record("expected a re-exec for \(loaded), got \(decision)")
            return
        }
        #expect(core == expected)
        #expect(environment[Self.core] == expected)
        #expect(environment[Self.marker] == expected)
        #expect(environment["PATH"] == "/usr/bin", "the rest of the environment is passed on")
    }

    @Test(
        "a core as good as the CPU's, or one this table does not know, is kept as OpenBLAS chose it",
        arguments: [
            (avx512, "SkylakeX"), (avx512BF16, "Cooperlake"), (avx512BF16, "SkylakeX"), (avx512, "cooperlake"),
            (avx2, "Haswell"), (avx2, "Zen"), (avx512, "SapphireRapids"), (avx512, "SomeFutureCore"),
        ])
    func goodOrUnknownCoreIsKept(flags: Set<String>, loaded: String) {
        #expect(BLASCoreDecision(cpuFlags: flags, loadedCore: loaded, environment: [:]) == .keep(.chosenByOpenBLAS))
    }

    @Test(
        "a CPU without AVX2 and FMA, or with no flags known (no /proc/cpuinfo), keeps any core",
        arguments: [Set<String>(), ["sse3", "avx"], ["avx2"], ["avx512f", "avx512bw"]])
    func oldOrUnknownCPUKeeps(flags: Set<String>) {
        #expect(BLASCoreDecision(cpuFlags: flags, loadedCore: "Prescott", environment: [:]) == .keep(.chosenByOpenBLAS))
    }

    @Test(
        "the user's OPENBLAS_CORETYPE always wins, also beside a leftover marker",
        arguments: [
            [core: "Prescott"], [core: "SkylakeX"], [core: "nonsense"],
            [core: "Prescott", marker: "SkylakeX"], [core: "Prescott", marker: "Cooperlake,SkylakeX"],
        ])
    func userSettingWins(environment: [String: String]) {
        let decision = BLASCoreDecision(cpuFlags: Self.avx512BF16, loadedCore: "Prescott", environment: environment)
        #expect(decision == .keep(.setByUser))
    }

    @Test("an empty OPENBLAS_CORETYPE counts as not set")
    func emptySettingIsNotSet() {
        let decision = BLASCoreDecision(cpuFlags: Self.avx512, loadedCore: "Prescott", environment: [Self.core: ""])
        #expect(requested(decision) == "SkylakeX")
    }

    @Test("after the re-exec, the core lmgate asked for and OpenBLAS took is kept as lmgate's (any case)",
          arguments: ["SkylakeX", "skylakex"])
    func takenRequestIsKept(loaded: String) {
        let environment = [Self.core: "SkylakeX", Self.marker: "SkylakeX"]
        let decision = BLASCoreDecision(cpuFlags: Self.avx512, loadedCore: loaded, environment: environment)
        #expect(decision == .keep(.setByLmgate))
    }

    @Test("a core this OpenBLAS does not accept leads to the next one, each asked for once")
    func rejectedRequestFallsBack() {
        // This OpenBLAS ignored Cooperlake and fell back to Prescott: try SkylakeX.
        var environment = [Self.core: "Cooperlake", Self.marker: "Cooperlake"]
        var decision = BLASCoreDecision(cpuFlags: Self.avx512BF16, loadedCore: "Prescott", environment: environment)
        guard case .reexecute(let second, let secondEnvironment) = decision else {
            Issue.record("expected a second try, got \(decision)")
            return
        }
        #expect(second == "SkylakeX")
        #expect(secondEnvironment[Self.marker] == "Cooperlake,SkylakeX")

        // SkylakeX ignored too (say, a build without DYNAMIC_ARCH): Haswell, then stop.
        environment = secondEnvironment
        decision = BLASCoreDecision(cpuFlags: Self.avx512BF16, loadedCore: "Prescott", environment: environment)
        #expect(requested(decision) == "Haswell")
        environment = [Self.core: "Haswell", Self.marker: "Cooperlake,SkylakeX,Haswell"]
        decision = BLASCoreDecision(cpuFlags: Self.avx512BF16, loadedCore: "Prescott", environment: environment)
        #expect(decision == .keep(.chosenByOpenBLAS))
    }

    @Test("a request OpenBLAS answered with another core still better than the rest is not replaced by a weaker one")
    func rejectedRequestWithGoodFallback() {
        // Asked for Cooperlake, OpenBLAS detected SkylakeX on its own: nothing better remains.
        let environment = [Self.core: "Cooperlake", Self.marker: "Cooperlake"]
        let decision = BLASCoreDecision(cpuFlags: Self.avx512BF16, loadedCore: "SkylakeX", environment: environment)
        #expect(decision == .keep(.chosenByOpenBLAS))
    }

    @Test("a marker without OPENBLAS_CORETYPE is stale and ignored")
    func staleMarkerIsIgnored() {
        let environment = [Self.marker: "SkylakeX"]
        let decision = BLASCoreDecision(cpuFlags: Self.avx512, loadedCore: "Prescott", environment: environment)
        #expect(requested(decision) == "SkylakeX")
    }

    @Test("re-executing always ends: following the decisions from any loaded core takes at most one step per candidate")
    func reexecutionEnds() {
        for flags in [Self.avx512BF16, Self.avx512, Self.avx2] {
            for loaded in ["Prescott", "Haswell", "Sandybridge", "Zen"] {
                var environment: [String: String] = [:]
                var steps = 0
                // An OpenBLAS that takes no request: the worst case.
                while case .reexecute(_, let next) = BLASCoreDecision(cpuFlags: flags, loadedCore: loaded, environment: environment) {
                    environment = next
                    steps += 1
                    if steps > 3 { break }
                }
                #expect(steps <= OpenBLASCore.candidates(for: flags).count, "\(loaded) on \(flags.sorted())")
            }
        }
    }
}
