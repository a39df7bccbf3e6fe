import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
@testable import Proxy

/// A temporary directory holding an htpasswd file made by Apache's
/// `htpasswd` and a keys file, with random passwords made at test time.
struct AccessFixtures {
    let directory: URL
    var htpasswdPath: String { self.directory.appendingPathComponent("users.htpasswd").path }
    var keysPath: String { self.directory.appendingPathComponent("keys").path }
    /// Password of each user in the htpasswd file.
    let passwords: [String: String]

    static func make(users: [String] = ["alice", "bob"], bcryptCost: Int = 5) throws -> AccessFixtures {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lmgate-access-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var passwords: [String: String] = [:]
        var lines = ""
        for user in users {
            let password = UUID().uuidString
            passwords[user] = password
            let output = try ExternalTools.run(["htpasswd", "-nbB", "-C", String(bcryptCost), user, password])
            guard output.status == 0 else { throw FixtureError(message: output.stderr) }
            lines += output.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
        }
        let fixtures = AccessFixtures(directory: directory, passwords: passwords)
        try lines.write(toFile: fixtures.htpasswdPath, atomically: true, encoding: .utf8)
        return fixtures
    }

    /// Adds a key to the keys file and returns its text.
    func addKey(_ name: String, scope: AccessScope = .inference, expires: Date? = nil) throws -> String {
        var file = (try? APIKeyFile(contentsOfFile: self.keysPath)) ?? APIKeyFile()
        let (key, stored) = APIKey.generate(name: name, scope: scope, expires: expires)
        file.keys.append(stored)
        try file.write(to: self.keysPath)
        return key
    }

    /// Access control over these files (htpasswd and keys), adjusted.
    func control(
        logger: Logger = quietLogger, _ adjust: (inout AccessConfiguration) -> Void = { _ in }
    ) throws -> AccessControl {
        var configuration = AccessConfiguration()
        configuration.htpasswdPath = self.htpasswdPath
        configuration.keysPath = self.keysPath
        adjust(&configuration)
        return try AccessControl(configuration: configuration, logger: logger, listeners: [])
    }

    func remove() {
        try? FileManager.default.removeItem(at: self.directory)
    }

    struct FixtureError: Error {
        let message: String
    }
}

/// `Authorization: Basic` for a user and password.
func basicAuthorization(_ user: String, _ password: String) -> String {
    "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
}

extension AccessControl {
    /// Runs a request head through admission and waits for the decision.
    func decide(
        _ headers: [(String, String)], uri: String = "/v1/models", client: String = "192.0.2.10",
        method: HTTPMethod = .GET
    ) async throws -> AdmissionDecision {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let request = AdmissionRequest(
            head: HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers)),
            clientAddress: client, eventLoop: loop)
        switch self.admit(request) {
        case .decided(let decision): return decision
        case .pending(let future): return try await future.get()
        }
    }
}

extension AdmissionDecision {
    /// The status a client sees: 200 for an admitted request.
    var status: HTTPResponseStatus {
        switch self {
        case .admit: .ok
        case .reject(let status, _, _, _): status
        }
    }
    var code: String? {
        if case .reject(_, _, _, let code) = self { return code }
        return nil
    }
    var rejectionHeaders: HTTPHeaders {
        if case .reject(_, let headers, _, _) = self { return headers }
        return [:]
    }
    var admittedHead: HTTPRequestHead? {
        if case .admit(let head, _) = self { return head }
        return nil
    }
}

/// A logger that drops everything below errors (access control logs every failure at warning).
let quietLogger: Logger = {
    var logger = Logger(label: "test.access")
    logger.logLevel = .error
    return logger
}()
