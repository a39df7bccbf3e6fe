// htpasswd-bench: password verifications per second for each htpasswd format,
// through HtpasswdKit and through a peer measured in the same run:
// libcrypt's crypt_rn called directly (for apr1, libcrypt's MD5-crypt, the same
// algorithm under another prefix), and a bare libcrypto SHA-1 for {SHA}/{SSHA}.
// Run through scripts/bench-htpasswd, which builds it in release mode.
#if canImport(Glibc)
import Glibc
#endif
import CCrypt
import COpenSSL
import HtpasswdKit

let password = "password"
let minimumSeconds = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 1 : 1

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Calls `body` until `minimumSeconds` have passed; returns calls per second.
func rate(_ body: () -> Bool) -> Double {
    var count = 0
    let start = now()
    var elapsed = 0.0
    repeat {
        precondition(body(), "verification failed during the benchmark")
        count += 1
        elapsed = now() - start
    } while elapsed < minimumSeconds
    return Double(count) / elapsed
}

/// libcrypt directly, reusing one heap crypt_data (single-threaded benchmark, hence unsafe).
nonisolated(unsafe) let cryptData = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
func rawCrypt(_ setting: String) -> String {
    String(cString: crypt_rn(password, setting, cryptData, Int32(MemoryLayout<crypt_data>.size)))
}

func rawSHA1(_ bytes: [UInt8]) -> Bool {
    var digest = [UInt8](repeating: 0, count: 20)
    var length: UInt32 = 0
    return EVP_Digest(bytes, bytes.count, &digest, &length, EVP_sha1(), nil) == 1
}

struct Case {
    let name: String
    let stored: String
    let peerName: String
    let peer: () -> Bool
}

func libcryptPeer(_ stored: String) -> () -> Bool { { rawCrypt(stored) == stored } }

let bcrypt10 = try PasswordHasher.hash(password, format: .bcrypt, cost: 10).encoded
let bcrypt5 = try PasswordHasher.hash(password, format: .bcrypt, cost: 5).encoded
let sha512 = try PasswordHasher.hash(password, format: .sha512Crypt).encoded
let sha256 = try PasswordHasher.hash(password, format: .sha256Crypt).encoded
let md5Crypt = rawCrypt("$1$saltsalt$")
let des = rawCrypt("ab")
let apr1 = "$apr1$salt$Xxd1irWT9ycqoYxGFn4cb."
let ssha = "{SSHA}yI6cZwQadOA1e+/f+T+H3eCQQhRzYWx0"
let sha = "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="

let cases = [
    Case(name: "bcrypt cost 10", stored: bcrypt10, peerName: "libcrypt", peer: libcryptPeer(bcrypt10)),
    Case(name: "bcrypt cost 5", stored: bcrypt5, peerName: "libcrypt", peer: libcryptPeer(bcrypt5)),
    Case(name: "apr1", stored: apr1, peerName: "libcrypt $1$", peer: libcryptPeer(md5Crypt)),
    Case(name: "sha512-crypt", stored: sha512, peerName: "libcrypt", peer: libcryptPeer(sha512)),
    Case(name: "sha256-crypt", stored: sha256, peerName: "libcrypt", peer: libcryptPeer(sha256)),
    Case(name: "{SHA}", stored: sha, peerName: "bare SHA-1", peer: { rawSHA1(Array(password.utf8)) }),
    Case(name: "{SSHA}", stored: ssha, peerName: "bare SHA-1", peer: { rawSHA1(Array((password + "salt").utf8)) }),
    Case(name: "md5-crypt $1$", stored: md5Crypt, peerName: "libcrypt", peer: libcryptPeer(md5Crypt)),
    Case(name: "DES crypt", stored: des, peerName: "libcrypt", peer: libcryptPeer(des)),
]

print("format            HtpasswdKit verify/s   peer verify/s   ratio  (peer)")
for benchmark in cases {
    let hash = try PasswordHash(benchmark.stored)
    let ours = rate { PasswordVerifier.verify(password: password, against: hash) }
    let peer = rate(benchmark.peer)
    let line = [
        benchmark.name.padding(toLength: 18),
        String(format: ours).leftPadding(toLength: 20),
        String(format: peer).leftPadding(toLength: 15),
        String(ratio: ours / peer).leftPadding(toLength: 7),
        "  (\(benchmark.peerName))",
    ]
    print(line.joined())
}

extension String {
    init(format value: Double) { self = value >= 100 ? String(Int(value.rounded())) : String(Double(Int(value * 10)) / 10) }
    init(ratio value: Double) { self = String(Double(Int(value * 100)) / 100) }
    func padding(toLength length: Int) -> String { self + String(repeating: " ", count: max(0, length - count)) }
    func leftPadding(toLength length: Int) -> String { String(repeating: " ", count: max(0, length - count)) + self }
}
