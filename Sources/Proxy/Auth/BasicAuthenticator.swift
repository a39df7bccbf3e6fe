import HtpasswdKit
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Checks HTTP Basic credentials against one loaded htpasswd file.
///
/// Hashing never runs on an event loop: a pair not yet in the
/// ``VerifiedCredentialCache`` is verified on a `NIOThreadPool`, in the fair
/// order of a ``PasswordHashScheduler`` (an address flooding guesses waits
/// behind its own guesses, not in front of everyone's), and concurrent checks
/// of the same pair share one verification (``SingleFlight``). An unknown
/// user costs as much as a known one: `HtpasswdFile.verify` hashes against
/// the file's strongest hash and throws the answer away.
final class BasicAuthenticator: Sendable {
    /// The outcome of a check, now or once the hash is done.
    enum Check {
        case decided(verified: Bool)
        case pending(EventLoopFuture<Bool>)
        /// No hash was started because `mayHash` said no.
        case notPermitted
        /// No hash was started because the queue, or this client's share of
        /// it, is full (after `mayHash` said yes).
        case busy
    }

    /// Most hashes queued or running at once. Past this, new (uncached)
    /// credentials are refused rather than queued, so a flood of guesses from
    /// many addresses cannot build a queue that delays everyone for minutes.
    static let maxPendingHashes = 256
    /// Most hashes one client (address, or IPv6 network) may have queued or running.
    static let maxPendingHashesPerClient = 16
    /// Longest user name and password looked at. Longer ones fail without
    /// hashing: SHA-crypt's cost grows with the password's length (a 30 KB
    /// password makes one `$6$` check take a thread for a good part of a
    /// second), and no real password comes near this.
    static let maxUserBytes = 256
    static let maxPasswordBytes = 1024

    let file: HtpasswdFile
    let cache: VerifiedCredentialCache
    private let hmac: ProcessKeyedHMAC
    private let flights = SingleFlight<Bool>()
    private let scheduler: PasswordHashScheduler

    /// - Parameter hashConcurrency: most hashes running at once (the thread
    ///   pool's threads, `NIOThreadPool.singleton` has one per core).
    init(
        file: HtpasswdFile, cacheCapacity: Int, hmac: ProcessKeyedHMAC, threadPool: NIOThreadPool,
        hashConcurrency: Int = System.coreCount
    ) {
        self.file = file
        self.cache = VerifiedCredentialCache(capacity: cacheCapacity)
        self.hmac = hmac
        self.scheduler = PasswordHashScheduler(
            threadPool: threadPool, concurrency: hashConcurrency, totalCapacity: Self.maxPendingHashes,
            perClientCapacity: Self.maxPendingHashesPerClient)
    }

    /// Checks `password` for `user`; cached successes are answered at once.
    /// - Parameters:
    ///   - client: whose queue a hash joins.
    ///   - mayHash: asked before a hash is queued (for a pair not in the
    ///     cache); returning `false` refuses the check.
    func check(
        user: String, password: [UInt8], client: FailureCountingKey, on eventLoop: any EventLoop,
        mayHash: () -> Bool = { true }
    ) -> Check {
        guard user.utf8.count <= Self.maxUserBytes, password.count <= Self.maxPasswordBytes else {
            return .decided(verified: false)
        }
        let digest = self.hmac.digest(Array(user.utf8), password)
        if self.cache.user(for: digest) == user { return .decided(verified: true) }
        guard mayHash() else { return .notPermitted }
        let (file, cache, scheduler) = (self.file, self.cache, self.scheduler)
        let future = self.flights.run(digest) { () -> EventLoopFuture<Bool>? in
            let promise = eventLoop.makePromise(of: Bool.self)
            let queued = scheduler.submit(for: client) { cancelled in
                guard !cancelled else { return promise.fail(NIOThreadPoolError.ThreadPoolInactive()) }
                let verified = file.verify(user: user, password: password).isVerified
                if verified { cache.insert(digest, user: user) }
                promise.succeed(verified)
            }
            guard queued else {
                promise.fail(NIOThreadPoolError.ThreadPoolInactive())  // never seen: the promise only must not be left open
                return nil
            }
            return promise.futureResult
        }
        guard let future else { return .busy }
        return .pending(future)
    }

    /// Checks queued or running now.
    var pendingCount: Int { self.scheduler.pendingCount }
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
