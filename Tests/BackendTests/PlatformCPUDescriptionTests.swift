import Testing

@testable import Backend

@Suite("Platform: CPU description")
struct PlatformCPUDescriptionTests {
    @Test("the first processor's model name and flags are read from /proc/cpuinfo text")
    func readsModelAndFlags() {
        let text = """
            processor\t: 0
            vendor_id\t: GenuineIntel
            model name\t: Intel(R) Xeon(R) Processor @ 2.70GHz
            flags\t\t: fpu sse3 avx2 fma avx512f avx512_bf16
            bugs\t\t: spectre_v1

            processor\t: 1
            model name\t: Another One
            flags\t\t: fpu
            """
        let cpu = CPUDescription(cpuinfo: text)
        #expect(cpu.model == "Intel(R) Xeon(R) Processor @ 2.70GHz")
        #expect(cpu.flags == ["fpu", "sse3", "avx2", "fma", "avx512f", "avx512_bf16"])
    }

    @Test("text without those lines (arm64 Linux, an empty file) gives no flags and an unknown model")
    func missingLines() {
        let arm = CPUDescription(cpuinfo: "processor\t: 0\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n")
        #expect(arm.flags.isEmpty)
        #expect(arm.model == "unknown")
        #expect(CPUDescription(cpuinfo: "") == CPUDescription(model: "unknown", flags: []))
    }

    @Test("flags give the OpenBLAS cores the CPU runs, best first")
    func candidates() {
        let flags = CPUDescription(cpuinfo: "flags\t: avx2 fma avx512f avx512bw avx512vl avx512dq avx512_bf16").flags
        #expect(OpenBLASCore.candidates(for: flags) == ["Cooperlake", "SkylakeX", "Haswell"])
        #expect(OpenBLASCore.candidates(for: ["avx2", "fma"]) == ["Haswell"])
        #expect(OpenBLASCore.candidates(for: ["avx", "sse3"]).isEmpty)
    }
}
