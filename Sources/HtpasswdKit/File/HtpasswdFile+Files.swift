#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension HtpasswdFile {
    /// Reads and parses the file at `path`.
    ///
    /// Throws ``HtpasswdError/Code/fileUnreadable`` when it cannot be opened
    /// or read (missing, a directory, no permission). Problems inside the file
    /// are not errors: they are in ``diagnostics``.
    public init(contentsOfFile path: String) throws(HtpasswdError) {
        self.init(contents: try Self.readBytes(path))
    }

    /// Writes the file to `path` atomically; a new file gets mode 0600.
    public func write(to path: String) throws(HtpasswdError) {
        try AtomicFileWriter.replaceContents(of: path, with: serialized())
    }

    static func readBytes(_ path: String) throws(HtpasswdError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw unreadable(path) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw unreadable(path)
            }
            if count == 0 { return bytes }
            bytes += buffer[..<count]
        }
    }

    private static func unreadable(_ path: String) -> HtpasswdError {
        HtpasswdError(.fileUnreadable, "cannot read \(path): \(String(cString: strerror(errno)))")
    }
}
