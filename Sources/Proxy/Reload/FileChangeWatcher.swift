#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Calls back when any of a set of files changes: the one mechanism behind
/// every reload-on-file-change (TLS certificates, htpasswd and keys files,
/// the configuration file).
///
/// Polls the files' inode, size and modification time (so that both edits in
/// place and `mv`/symlink swaps, as certbot does, are seen). The callback is
/// not repeated until a file changes again: writing a certificate and then
/// its key makes one failed reload in between, then a good one.
public struct FileChangeWatcher: Sendable {
    private let paths: @Sendable () -> [String]
    private let interval: Duration
    private let initial: [FileIdentity?]
    private let onChange: @Sendable () -> Void

    /// Records the files' current state: changes from here on call
    /// `onChange`, so make the watcher right after loading the files.
    /// - Parameter paths: the files to watch, asked again on every poll (a
    ///   reload may change which files they are).
    public init(paths: @escaping @Sendable () -> [String], interval: Duration = .seconds(1), onChange: @escaping @Sendable () -> Void) {
        self.paths = paths
        self.interval = interval
        self.onChange = onChange
        self.initial = Self.snapshot(paths())
    }

    /// Watches until the task is cancelled.
    public func run() async {
        var last = self.initial
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: self.interval)
            } catch {
                return  // cancelled
            }
            let now = Self.snapshot(self.paths())
            if now != last {
                last = now
                self.onChange()
            }
        }
    }

    private struct FileIdentity: Equatable, Sendable {
        var path: String
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
    }

    private static func snapshot(_ paths: [String]) -> [FileIdentity?] {
        paths.map { path in
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            #if canImport(Darwin)
            let modified = info.st_mtimespec
            #else
            let modified = info.st_mtim
            #endif
            return FileIdentity(
                path: path, inode: UInt64(info.st_ino), size: Int64(info.st_size),
                modifiedSeconds: Int(modified.tv_sec), modifiedNanoseconds: Int(modified.tv_nsec))
        }
    }
}
