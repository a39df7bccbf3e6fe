import Foundation
import Logging

/// The CPU the engine computes on and the OpenBLAS core serving it: logged
/// at start, printed by `lmgate bench`, exposed as `lmgate_backend_info`.
public struct EnginePlatform: Sendable, Equatable {
    /// The CPU's model name.
    public var cpuModel: String
    /// The core OpenBLAS runs (`openblas_get_corename()`).
    public var blasCore: String
    /// Who chose that core.
    public var blasCoreReason: BLASCoreDecision.Reason
    /// The kernels the engine's own products run (``KernelPath``).
    public var kernelPath: KernelPath
    /// Who chose them.
    public var kernelPathReason: KernelPath.Reason

    public init(
        cpuModel: String, blasCore: String, blasCoreReason: BLASCoreDecision.Reason,
        kernelPath: KernelPath = .portable, kernelPathReason: KernelPath.Reason = .bestForCPU
    ) {
        self.cpuModel = cpuModel
        self.blasCore = blasCore
        self.blasCoreReason = blasCoreReason
        self.kernelPath = kernelPath
        self.kernelPathReason = kernelPathReason
    }

    /// This process's platform. The reason is decided again from the same
    /// inputs ``BLASCoreStartup`` used; a decision to re-execute that was not
    /// carried out leaves the core OpenBLAS chose.
    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment) -> EnginePlatform {
        let cpu = CPUDescription.current()
        let core = OpenBLASCore.loaded
        let reason: BLASCoreDecision.Reason
        switch BLASCoreDecision(cpuFlags: cpu.flags, loadedCore: core, environment: environment) {
        case .keep(let kept): reason = kept
        case .reexecute: reason = .chosenByOpenBLAS
        }
        let kernels = KernelPath.processSelection
        return EnginePlatform(
            cpuModel: cpu.model, blasCore: core, blasCoreReason: reason,
            kernelPath: kernels.path, kernelPathReason: kernels.reason)
    }

    /// The fields of the start-up log line.
    public var logMetadata: Logger.Metadata {
        [
            "blas.core": "\(blasCore)", "blas.core_reason": "\(blasCoreReason.rawValue)", "cpu": "\(cpuModel)",
            "kernels.path": "\(kernelPath.rawValue)", "kernels.path_reason": "\(kernelPathReason.rawValue)",
        ]
    }
}
