import CCrypt

/// libcrypt's re-entrant `crypt_rn` and `crypt_gensalt_rn`.
///
/// `struct crypt_data` is about 32 KiB, too large to put on a thread's stack
/// safely when callers run on small-stack threads, so it lives on the heap.
enum Crypt {
    /// Hashes `password` with the setting (prefix and salt) taken from `setting`,
    /// which may be a full stored hash. Returns nil when libcrypt refuses.
    static func hash(password: [UInt8], setting: String) -> String? {
        // crypt(3) reads the password as a C string: a NUL would cut it short.
        guard !password.contains(0) else { return nil }
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer {
            // Clear what crypt left behind, which is derived from the password.
            UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
            data.deallocate()
        }
        UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
        let result: String? = (password + [0]).withUnsafeBufferPointer { phrase in
            phrase.withMemoryRebound(to: CChar.self) { phrase in
                guard let output = crypt_rn(phrase.baseAddress, setting, data, Int32(MemoryLayout<crypt_data>.size)) else {
                    return nil
                }
                return String(cString: output)
            }
        }
        // libcrypt reports failure as a string starting with "*".
        guard let result, !result.hasPrefix("*") else { return nil }
        return result
    }

    /// A new setting string for `prefix` (`"$2y$"`, `"$6$"`, …) with salt from the system CSPRNG.
    static func generateSetting(prefix: String, count: UInt, randomByteCount: Int) throws(HtpasswdError) -> String {
        let random = try SecureBytes.random(count: randomByteCount)
        var output = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        let result = random.withUnsafeBytes { random in
            output.withUnsafeMutableBufferPointer { out in
                crypt_gensalt_rn(prefix, count, random.baseAddress?.assumingMemoryBound(to: CChar.self),
                                 Int32(random.count), out.baseAddress, Int32(out.count))
            }
        }
        guard result != nil else {
            throw HtpasswdError(.hashingFailed, "libcrypt could not make a \(prefix) salt")
        }
        return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
