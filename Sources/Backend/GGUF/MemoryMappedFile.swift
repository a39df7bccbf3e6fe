#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory; unmapped when released.
///
/// Model weights are read straight from this mapping, never copied, so the
/// operating system pages them in on demand and shares them between processes.
final class MemoryMappedFile: @unchecked Sendable {
    // @unchecked Sendable: the mapping is read-only and never changes after
    // init, so any thread may read it.

    /// The mapped bytes (empty for an empty file).
    let bytes: UnsafeRawBufferPointer

    /// Maps the file at `path`.
    init(path: String) throws(GGUFError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw GGUFError(.cannotOpen, "cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw GGUFError(.cannotOpen, "cannot stat '\(path)': \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw GGUFError(.cannotOpen, "'\(path)' is not a regular file")
        }
        let size = Int(status.st_size)
        guard size > 0 else {
            // mmap refuses a zero length; an empty file is simply truncated.
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw GGUFError(.cannotOpen, "cannot map '\(path)': \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}
