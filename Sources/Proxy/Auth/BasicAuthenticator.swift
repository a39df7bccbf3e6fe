import HtpasswdKit
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Checks HTTP Basic credentials against one loaded htpasswd file.
///
/// Hashing never runs on an event loop: a pair not yet in the
/// ``VerifiedCredentialCache`` is verified on a `NIOThreadPool`, and
/// concurrent checks of the same pair share one verification
/// (``SingleFlight``). An unknown user costs as much as a known one:
/// `HtpasswdFile.verify` hashes against the file's strongest hash and throws
/// the answer away.
final class BasicAuthenticator: Sendable {
    /// The outcome of a check, now or once the hash is done.
    enum Check {
        case decided(verified: Bool)
        case pending(EventLoopFuture<Bool>)
        /// No hash was started: too many are queued, or `mayHash` said no.
        case refused
    }

    /// Most hashes queued or running at once. Past this, new (uncached)
    /// credentials are refused rather than queued, so a flood of guesses from
    /// many addresses cannot build a queue that delays everyone for minutes.
    static let maxPendingHashes = 256

    let file: HtpasswdFile
    let cache: VerifiedCredentialCache
    private let hmac: ProcessKeyedHMAC
    private let flights = SingleFlight<Bool>()
    private let threadPool: NIOThreadPool
    private let pendingHashes = NIOLockedValueBox(0)

    init(file: HtpasswdFile, cacheCapacity: Int, hmac: ProcessKeyedHMAC, threadPool: NIOThreadPool) {
        self.file = file
        self.cache = VerifiedCredentialCache(capacity: cacheCapacity)
        self.hmac = hmac
        self.threadPool = threadPool
    }

    /// Checks `password` for `user`; cached successes are answered at once.
    /// - Parameter mayHash: asked before a hash is queued (for a pair not in
    ///   the cache); returning `false` refuses the check.
    func check(user: String, password: [UInt8], on eventLoop: any EventLoop, mayHash: () -> Bool = { true }) -> Check {
        let digest = self.hmac.digest(Array(user.utf8), password)
        if self.cache.user(for: digest) == user { return .decided(verified: true) }
        let admitted = self.pendingHashes.withLockedValue { pending in
            guard pending < Self.maxPendingHashes else { return false }
            pending += 1
            return true
        }
        guard admitted else { return .refused }
        guard mayHash() else {
            self.pendingHashes.withLockedValue { $0 -= 1 }
            return .refused
        }
        let (file, cache, pool) = (self.file, self.cache, self.threadPool)
        let future = self.flights.run(digest) {
            pool.runIfActive(eventLoop: eventLoop) {
                let verified = file.verify(user: user, password: password).isVerified
                if verified { cache.insert(digest, user: user) }
                return verified
            }
        }
        future.whenComplete { _ in self.pendingHashes.withLockedValue { $0 -= 1 } }
        return .pending(future)
    }

    /// Checks queued or running now.
    var pendingCount: Int { self.pendingHashes.withLockedValue { $0 } }
}

/// The user name and password of an `Authorization: Basic` header.
struct BasicCredentials {
    var user: String
    var password: [UInt8]

    /// Decodes the base64 `user:password` after `Basic `; nil if malformed.
    init?(headerValue: Substring) {
        guard let bytes = Base64.decode(headerValue.drop { $0 == " " }),
            let colon = bytes.firstIndex(of: UInt8(ascii: ":"))
        else { return nil }
        guard let user = String(validating: bytes[..<colon], as: UTF8.self) else { return nil }
        self.user = user
        self.password = Array(bytes[(colon + 1)...])
    }
}

/// Standard base64 (RFC 4648 §4), padding optional.
enum Base64 {
    static func decode(_ text: Substring) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        var padding = 0
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="):
                padding += 1
                continue
            default: return nil
            }
            guard padding == 0 else { return nil }  // data after padding
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return padding <= 2 ? output : nil
    }
}
