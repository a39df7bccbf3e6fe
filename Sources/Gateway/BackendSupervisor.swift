import Foundation
import Logging
import NIOConcurrencyHelpers

/// Runs the inference backend (`lmgate backend …`) as a child process and
/// starts it again whenever it stops, until told to stop.
///
/// A separate process rather than a task in the gateway's own: a model that
/// crashes the backend (or a kernel that kills it for memory) takes down only
/// the backend, while the proxy keeps answering — 502 until the backend is
/// back, as an upstream that is down. Restarts back off from 1 s doubling to
/// 30 s, and the backoff resets once a run has lasted a minute.
public final class BackendSupervisor: Sendable {
    private struct State {
        var process: Process?
        var stopping = false
        var nextDelay: Duration = .seconds(1)
        var startedAt: ContinuousClock.Instant?
    }

    private let executable: String
    private let arguments: [String]
    private let environment: [String: String]
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    /// - Parameters:
    ///   - executable: the program to run (the `lmgate` executable itself).
    ///   - arguments: its arguments, e.g. `["backend", "--model", path]`.
    ///   - environment: variables set for the child only, on top of this
    ///     process's own (secrets go here, not in `arguments`, which `ps` shows).
    public init(executable: String, arguments: [String], environment: [String: String] = [:], logger: Logger) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.logger = logger
    }

    /// Starts the backend; it is restarted whenever it exits until ``stop(grace:)``.
    public func start() throws {
        try self.launch()
    }

    /// Stops the backend: SIGTERM (it finishes what it is generating), then
    /// SIGKILL if it has not exited within `grace`.
    public func stop(grace: Duration) async {
        let process = self.state.withLockedValue { state -> Process? in
            state.stopping = true
            return state.process
        }
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning {
            self.logger.warning("backend did not stop in time, killing it")
            kill(process.processIdentifier, SIGKILL)
        }
    }

    private func launch() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: self.executable)
        process.arguments = self.arguments
        process.environment = ProcessInfo.processInfo.environment.merging(self.environment) { _, child in child }
        // The child shares the gateway's stdout and stderr: its log lines
        // (model loading progress among them) appear with the gateway's.
        process.terminationHandler = { [weak self] finished in
            self?.exited(finished)
        }
        try process.run()
        self.state.withLockedValue { state in
            state.process = process
            state.startedAt = .now
        }
        self.logger.info("backend started", metadata: ["pid": "\(process.processIdentifier)"])
    }

    private func exited(_ process: Process) {
        let delay = self.state.withLockedValue { state -> Duration? in
            guard !state.stopping, state.process === process else { return nil }
            if let started = state.startedAt, ContinuousClock.now - started > .seconds(60) {
                state.nextDelay = .seconds(1)
            }
            let delay = state.nextDelay
            state.nextDelay = min(state.nextDelay * 2, .seconds(30))
            return delay
        }
        guard let delay else { return }
        self.logger.error(
            "backend stopped, starting it again",
            metadata: [
                "status": "\(process.terminationStatus)",
                "reason": "\(process.terminationReason == .uncaughtSignal ? "signal" : "exit")",
                "restart_in": "\(delay)",
            ])
        Task {
            try? await Task.sleep(for: delay)
            guard !self.state.withLockedValue({ $0.stopping }) else { return }
            do {
                try self.launch()
            } catch {
                self.logger.error("backend could not be started", metadata: ["error": "\(error)"])
                self.exited(process)
            }
        }
    }
}
