/// Whether OpenBLAS runs the kernels this CPU can run, and if not, which core
/// to ask for. OpenBLAS picks its core once, when it loads: an older build
/// that does not know a newer CPU falls back to its SSE3 "Prescott" kernels
/// (a third of the speed on an AVX-512 Xeon), and setting `OPENBLAS_CORETYPE`
/// afterwards does nothing. So the fix is to run the process again with the
/// variable set (``reexecute(core:environment:)``).
///
/// A user's own `OPENBLAS_CORETYPE` always wins. The cores lmgate has asked
/// for are listed in ``markerVariable``; each is asked for at most once, so
/// re-executing ends even when OpenBLAS accepts none of them (a build without
/// `DYNAMIC_ARCH`, or one that does not know the name).
public enum BLASCoreDecision: Equatable, Sendable {
    /// Run on with the loaded core.
    case keep(Reason)
    /// Execute the program again, with `environment`, so that OpenBLAS loads `core`.
    case reexecute(core: String, environment: [String: String])

    /// Who chose the core OpenBLAS runs.
    public enum Reason: String, Sendable {
        case chosenByOpenBLAS = "chosen by OpenBLAS"
        case setByLmgate = "set by lmgate for this CPU"
        case setByUser = "set by the user"
    }

    /// The variable OpenBLAS reads its core from.
    public static let coreVariable = "OPENBLAS_CORETYPE"
    /// The cores lmgate has asked for so far, comma-separated, last one current.
    public static let markerVariable = "LMGATE_OPENBLAS_CORES_TRIED"

    /// Decides from the CPU's flags (`/proc/cpuinfo`), the core OpenBLAS
    /// loaded (`openblas_get_corename()`) and the process environment.
    public init(cpuFlags: Set<String>, loadedCore: String, environment: [String: String]) {
        let requested = environment[Self.coreVariable].flatMap { $0.isEmpty ? nil : $0 }
        let tried = (environment[Self.markerVariable] ?? "").split(separator: ",").map(String.init)
        // lmgate's own request is the variable holding the last core it tried;
        // any other value was set by the user, even beside a leftover marker.
        let requestedByLmgate: Bool
        if let requested, let last = tried.last {
            requestedByLmgate = OpenBLASCore.same(last, requested)
        } else {
            requestedByLmgate = false
        }
        if requested != nil, !requestedByLmgate {
            self = .keep(.setByUser)
            return
        }
        if let requested, OpenBLASCore.same(requested, loadedCore) {
            self = .keep(.setByLmgate)
            return
        }
        // Here either nothing was requested or OpenBLAS did not take lmgate's
        // request. A core this table does not know may be newer than it: keep it.
        guard let loadedLevel = OpenBLASCore.level(of: loadedCore) else {
            self = .keep(.chosenByOpenBLAS)
            return
        }
        let alreadyTried = requestedByLmgate ? tried : []
        let next = OpenBLASCore.candidates(for: cpuFlags).first { core in
            (OpenBLASCore.level(of: core) ?? 0) > loadedLevel && !alreadyTried.contains { OpenBLASCore.same($0, core) }
        }
        guard let next else {
            self = .keep(.chosenByOpenBLAS)
            return
        }
        var environment = environment
        environment[Self.coreVariable] = next
        environment[Self.markerVariable] = (alreadyTried + [next]).joined(separator: ",")
        self = .reexecute(core: next, environment: environment)
    }
}
