import Foundation
import Logging

/// Carries out a ``BLASCoreDecision`` at start-up: executes `/proc/self/exe`
/// again, with the same arguments and `OPENBLAS_CORETYPE` set, when OpenBLAS
/// loaded a weaker core than the CPU runs. Call it first thing, from the
/// commands that run the engine, before any other work has started.
public enum BLASCoreStartup {
    /// Re-executes the process if the decision says so, logging that it does;
    /// returns only when it did not (nothing to change, or the exec failed,
    /// which is logged and leaves the core OpenBLAS chose).
    public static func reexecuteIfNeeded(
        logger: Logger,
        arguments: [String] = CommandLine.arguments,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        let loaded = OpenBLASCore.loaded
        let decision = BLASCoreDecision(cpuFlags: CPUDescription.current().flags, loadedCore: loaded, environment: environment)
        guard case .reexecute(let core, let newEnvironment) = decision else { return }
        logger.info(
            "OpenBLAS chose a weaker core than this CPU runs; running again with \(BLASCoreDecision.coreVariable) set",
            metadata: ["blas.core_loaded": "\(loaded)", "blas.core_requested": "\(core)"])
        let program = "/proc/self/exe"
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = newEnvironment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        execve(program, argv, envp)
        // Only reached if execve failed.
        let failure = String(cString: strerror(errno))
        argv.forEach { free($0) }
        envp.forEach { free($0) }
        logger.warning("could not run again; OpenBLAS keeps its core", metadata: ["blas.core": "\(loaded)", "error": "\(failure)"])
    }
}
