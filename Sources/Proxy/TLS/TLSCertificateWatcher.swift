#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reloads a ``TLSCertificateStore`` when its certificate or key files change.
///
/// Polls the files' inode, size and modification time (so that both edits in
/// place and `mv`/symlink swaps, as certbot does, are seen). A failed reload
/// is not retried until a file changes again: writing the certificate and
/// then the key makes one failed attempt in between, then a good one.
public struct TLSCertificateWatcher: Sendable {
    private let store: TLSCertificateStore
    private let interval: Duration
    private let initial: [FileIdentity?]

    /// Records the files' current state: changes from here on trigger a
    /// reload, so make the watcher right after the store.
    public init(store: TLSCertificateStore, interval: Duration = .seconds(1)) {
        self.store = store
        self.interval = interval
        self.initial = Self.snapshot(store.configuration)
    }

    /// Watches until the task is cancelled.
    public func run() async {
        var last = initial
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return  // cancelled
            }
            let now = Self.snapshot(store.configuration)
            if now != last {
                last = now
                _ = try? store.reload()  // the store logs the outcome
            }
        }
    }

    private struct FileIdentity: Equatable, Sendable {
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
    }

    private static func snapshot(_ configuration: TLSServerConfiguration) -> [FileIdentity?] {
        configuration.certificates.flatMap { [$0.certificateChainPath, $0.privateKeyPath] }.map { path in
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            #if canImport(Darwin)
            let modified = info.st_mtimespec
            #else
            let modified = info.st_mtim
            #endif
            return FileIdentity(
                inode: UInt64(info.st_ino), size: Int64(info.st_size),
                modifiedSeconds: Int(modified.tv_sec), modifiedNanoseconds: Int(modified.tv_nsec))
        }
    }
}
