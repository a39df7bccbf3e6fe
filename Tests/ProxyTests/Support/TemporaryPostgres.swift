import Foundation
import Proxy
import Synchronization

/// A throw-away PostgreSQL cluster for the tests: `initdb` in a temporary
/// directory, the server on a free loopback port (and a Unix socket in the
/// same directory), a user `lmgate` with a password made here, SCRAM
/// authentication over TCP. Never the system's cluster.
///
/// The server binaries come from Debian's `postgresql` package
/// (/usr/lib/postgresql/VERSION/bin); without them, ``start()`` fails
/// saying to run scripts/setup. PostgreSQL refuses to run as root, so as
/// root the cluster runs as the `postgres` user that package creates.
///
/// ``shared`` is one cluster for every test that only needs a database
/// (each makes its own with ``makeDatabase()``); a test that stops the
/// server makes its own cluster and ``destroy()``s it.
final class TemporaryPostgres: Sendable {
    let directory: String
    let port: Int
    let user = "lmgate"
    let password: String
    /// The password, in a file as `state.postgres_password_file` takes it.
    let passwordFile: String
    private let bin: String
    private let runAs: String?

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The cluster every database-only test shares, started by the first test
    /// that asks for it and stopped when the test process exits.
    ///
    /// A task, not a lazily computed value: a `static let` computed by
    /// starting the cluster would hold every other test that reads it blocked
    /// on a Swift Concurrency thread (in `swift_once`) while initdb and
    /// pg_ctl run, and Swift Testing has only as many of those threads as
    /// there are cores. Awaiting a task suspends instead.
    static let shared = Task<TemporaryPostgres, any Error> {
        let cluster = try await TemporaryPostgres.start()
        sharedForExit.withLock { $0 = cluster }
        atexit { TemporaryPostgres.sharedForExit.withLock { $0 }?.destroyNow() }
        return cluster
    }
    private static let sharedForExit = Mutex<TemporaryPostgres?>(nil)

    /// A new database in ``shared``, for one test.
    static func sharedDatabase() async throws -> (cluster: TemporaryPostgres, settings: PostgresSettings) {
        let cluster = try await Self.shared.value
        return (cluster, try await cluster.makeDatabase())
    }

    /// Makes and starts a cluster.
    static func start() async throws -> TemporaryPostgres {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.filter({ FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/pg_ctl") })
            .max(by: { (Int($0) ?? 0) < (Int($1) ?? 0) })
        else {
            throw Failure(description: "PostgreSQL's server (initdb, pg_ctl) is not installed in /usr/lib/postgresql/*/bin: run scripts/setup")
        }
        let runAs: String? = getuid() == 0 ? "postgres" : nil
        let directory = "/tmp/lmgate-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let password = (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 36) }.joined()
        let passwordFile = directory + "/password"
        try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: passwordFile))
        if let runAs {
            _ = try await Self.run(["/bin/chown", "-R", runAs, directory], as: nil)
        }
        let cluster = TemporaryPostgres(
            directory: directory, port: try Self.freePort(), password: password, passwordFile: passwordFile,
            bin: "/usr/lib/postgresql/\(version)/bin", runAs: runAs)
        _ = try await cluster.tool([
            "initdb", "-D", cluster.dataDirectory, "-U", cluster.user, "--pwfile", passwordFile,
            "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync", "-E", "UTF8", "--locale=C",
        ])
        try await cluster.startServer()
        return cluster
    }

    private init(directory: String, port: Int, password: String, passwordFile: String, bin: String, runAs: String?) {
        self.directory = directory
        self.port = port
        self.password = password
        self.passwordFile = passwordFile
        self.bin = bin
        self.runAs = runAs
    }

    var dataDirectory: String { self.directory + "/data" }

    /// The server's settings for `database`, over TCP on loopback.
    func settings(database: String = "lmgate") -> PostgresSettings {
        PostgresSettings(host: "127.0.0.1", port: self.port, user: self.user, database: database, tls: .disable)
    }

    /// Makes a new, empty database and returns its settings.
    func makeDatabase() async throws -> PostgresSettings {
        let name = "test_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "_")
        _ = try await self.psql("postgres", "CREATE DATABASE \(name)")
        return self.settings(database: name)
    }

    /// Runs `sql` with `psql` over the Unix socket (an independent client); returns its unaligned output.
    func psql(_ database: String, _ sql: String) async throws -> String {
        try await self.tool(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.directory, "-p", "\(self.port)",
            "-U", self.user, "-d", database, "-c", sql])
    }

    /// Starts the server (again, after ``stop()``), waiting until it accepts connections.
    func startServer() async throws {
        _ = try await self.tool([
            "pg_ctl", "-D", self.dataDirectory, "-l", self.directory + "/server.log", "-w", "-t", "30", "start",
            "-o", "-p \(self.port) -k \(self.directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
        ])
    }

    /// Stops the server at once (open connections are closed).
    func stop() async throws {
        _ = try await self.tool(["pg_ctl", "-D", self.dataDirectory, "-m", "fast", "-w", "stop"])
    }

    /// Stops the server if it runs and removes the directory.
    func destroy() async {
        _ = try? await self.tool(Self.immediateStop(self.dataDirectory))
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    /// ``destroy()`` for the exit handler, where nothing can be awaited.
    private func destroyNow() {
        _ = try? Self.runAndWait([self.bin + "/pg_ctl"] + Self.immediateStop(self.dataDirectory).dropFirst(), as: self.runAs)
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    private static func immediateStop(_ dataDirectory: String) -> [String] {
        ["pg_ctl", "-D", dataDirectory, "-m", "immediate", "-w", "stop"]
    }

    private func tool(_ arguments: [String]) async throws -> String {
        try await Self.run([self.bin + "/" + arguments[0]] + arguments.dropFirst(), as: self.runAs)
    }

    /// Runs a command on a thread of its own and suspends until it has
    /// exited. Never on a Swift Concurrency thread: initdb and pg_ctl take
    /// seconds (tens of seconds on a loaded machine), and a test blocking
    /// one of those threads (as many as cores) for that long stalls every
    /// other suite running in parallel.
    private static func run(_ arguments: [String], as user: String?) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try Self.runAndWait(arguments, as: user) })
            }.start()
        }
    }

    private static func runAndWait(_ arguments: [String], as user: String?) throws -> String {
        let process = Process()
        let command = user.map { ["/usr/sbin/runuser", "-u", $0, "--"] + arguments } ?? arguments
        // Through Python, whose subprocess closes every inherited descriptor above 2: Foundation's
        // Process learns of its child's exit from a socket the child inherits, and the server that
        // `pg_ctl start` leaves running would otherwise hold it open, so the wait never ended.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"] + command
        process.currentDirectoryURL = URL(fileURLWithPath: "/tmp")
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // pg_ctl's server keeps inherited descriptors open: read only what the command itself wrote before exiting.
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self)
            throw Failure(description: "\(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(message)")
        }
        return text
    }

    /// A loopback port nothing listens on now, below the kernel's ephemeral
    /// range (32768–60999 by default): the server is stopped and started
    /// again on it in the outage tests, and a port from that range was once
    /// taken in between as the local port of another test's connection
    /// ("could not bind IPv4 address: Address already in use").
    static func freePort() throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 20000..<32000)
            if try Self.canBind(port: candidate) { return candidate }
        }
        throw Failure(description: "no free loopback port in 20000..<32000")
    }

    private static func canBind(port: Int) throws -> Bool {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket() failed") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
