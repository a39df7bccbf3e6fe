/// Reloads a ``TLSCertificateStore`` when its certificate or key files change
/// (a ``FileChangeWatcher`` over them). A failed reload keeps the previous
/// certificates and is not retried until a file changes again.
public struct TLSCertificateWatcher: Sendable {
    private let watcher: FileChangeWatcher

    /// Records the files' current state: changes from here on trigger a
    /// reload, so make the watcher right after the store.
    public init(store: TLSCertificateStore, interval: Duration = .seconds(1)) {
        let paths = store.configuration.certificates.flatMap { [$0.certificateChainPath, $0.privateKeyPath] }
        self.watcher = FileChangeWatcher(paths: { paths }, interval: interval) {
            _ = try? store.reload()  // the store logs the outcome
        }
    }

    /// Watches until the task is cancelled.
    public func run() async {
        await self.watcher.run()
    }
}
