import Foundation
import Testing

@testable import Kernels

/// The dispatcher picks the best path this CPU runs, by flags read here
/// from `/proc/cpuinfo` (independently of CKernels' cpuid), and refuses a
/// forced path the CPU lacks.
@Suite("Kernels: path selection")
struct KernelsPathTests {
    /// The paths the kernel's view of this CPU allows, from `/proc/cpuinfo`.
    static func pathsFromCPUInfo() -> Set<KernelPath> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            return [.portable]
        }
        let flags = Set(line.split(separator: " ").map(String.init))
        var paths: Set<KernelPath> = [.portable]
        if flags.isSuperset(of: ["avx2", "fma", "f16c"]) {
            paths.insert(.avx2)
            if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512_vnni"]) { paths.insert(.avx512vnni) }
        }
        return paths
    }

    @Test("the supported paths are the ones /proc/cpuinfo lists, and the best of them is chosen")
    func picksBestSupported() throws {
        let expected = Self.pathsFromCPUInfo()
        #expect(Set(KernelPath.allCases.filter(\.isSupported)) == expected)
        let best = try #require(expected.max())
        #expect(KernelPath.best == best)
        let selection = try KernelPath.select(environment: [:])
        #expect(selection.path == best)
        #expect(selection.reason == .bestForCPU)
    }

    @Test("an explicit LMGATE_KERNELS wins when the CPU runs it")
    func explicitSettingWins() throws {
        for path in Self.pathsFromCPUInfo() {
            let selection = try KernelPath.select(environment: [KernelPath.variable: path.rawValue])
            #expect(selection.path == path)
            #expect(selection.reason == .setByUser)
        }
    }

    @Test("a forced path the CPU lacks, or an unknown name, is refused")
    func refusesUnsupported() {
        #expect(throws: KernelPath.SelectionError.self) {
            try KernelPath.select(environment: [KernelPath.variable: "avx512vnni"], supports: { $0 == .portable })
        }
        #expect(throws: KernelPath.SelectionError.self) {
            try KernelPath.select(environment: [KernelPath.variable: "avx2"], supports: { $0 == .portable })
        }
        #expect(throws: KernelPath.SelectionError.self) {
            try KernelPath.select(environment: [KernelPath.variable: "sse9"])
        }
        for path in KernelPath.allCases where !Self.pathsFromCPUInfo().contains(path) {
            #expect(throws: KernelPath.SelectionError.self) {
                try KernelPath.select(environment: [KernelPath.variable: path.rawValue])
            }
        }
        // Without the variable, a CPU with only the portable path gets it.
        #expect((try? KernelPath.select(environment: [:], supports: { $0 == .portable }))?.path == .portable)
    }
}
