import Dispatch
import Foundation

/// The signals `lmgate backend` waits for: SIGTERM and SIGINT stop it
/// gracefully. (`serve` and `proxy` run as services: ``GatewayServices``.)
enum ProcessSignals {
    /// Suspends until SIGTERM or SIGINT arrives.
    static func termination() async {
        let (signals, continuation) = AsyncStream<Int32>.makeStream()
        let sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        for await _ in signals { return }
    }

    /// Suspends until SIGTERM or SIGINT arrives or the parent process is gone
    /// (this process was re-parented), checked every second.
    static func terminationOrParentExit() async {
        let parent = getppid()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await termination() }
            group.addTask {
                while getppid() == parent, !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
