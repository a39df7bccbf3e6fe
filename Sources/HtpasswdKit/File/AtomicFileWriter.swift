#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces a file's contents so that readers see either the old or the new
/// file, never a half-written one: write a temporary file in the same
/// directory, fsync it, rename it over the target, fsync the directory.
///
/// An existing file keeps its permission bits; a new file gets mode 0600,
/// since it holds password hashes. Public: the proxy writes its other
/// files the console edits (the source allowlist, the keys file) the same way.
public enum AtomicFileWriter {
    /// - Parameter mode: the new file's permission bits whatever the old
    ///   file's were (the keys file is always 0600); `nil` keeps them.
    public static func replaceContents(of path: String, with bytes: [UInt8], mode: mode_t? = nil) throws(HtpasswdError) {
        let directory = Self.directory(of: path)
        var existing = stat()
        let mode: mode_t = mode ?? (stat(path, &existing) == 0 ? existing.st_mode & 0o7777 : 0o600)

        // mkstemp creates the file with mode 0600 and a name nobody else can have.
        var template = Array("\(directory)/.lmgate-write-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw failure(path, "cannot create a temporary file in \(directory)") }
        let temporaryPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var succeeded = false
        defer {
            if !succeeded {
                close(descriptor)
                unlink(temporaryPath)
            }
        }

        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw failure(path, "cannot write the temporary file")
            }
            offset += written
        }
        guard fchmod(descriptor, mode) == 0, fsync(descriptor) == 0 else {
            throw failure(path, "cannot set the mode of or flush the temporary file")
        }
        guard close(descriptor) == 0 else {
            unlink(temporaryPath)
            succeeded = true
            throw failure(path, "cannot close the temporary file")
        }
        guard rename(temporaryPath, path) == 0 else {
            unlink(temporaryPath)
            succeeded = true
            throw failure(path, "cannot rename the temporary file over it")
        }
        succeeded = true
        // Make the rename itself durable.
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func failure(_ path: String, _ reason: String) -> HtpasswdError {
        let detail = String(cString: strerror(errno))
        return HtpasswdError(.fileWriteFailed, "cannot write \(path): \(reason) (\(detail))")
    }
}
