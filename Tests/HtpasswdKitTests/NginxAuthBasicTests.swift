import Foundation
import Testing

/// Files written by `swift-htpasswd` authenticate against a real nginx
/// `auth_basic`, started by the test on a free loopback port.
@Suite struct NginxAuthBasicTests {
    @Test func swiftHtpasswdFileAuthenticatesWithNginx() throws {
        let tool = try TestSupport.swiftHtpasswd()
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        let usersPath = directory + "/users"

        // One user per format nginx reads (bcrypt, SHA-crypt through crypt(3); apr1 and SHA its own).
        let flagsByUser: [(String, [String])] = [
            ("bcrypt", ["-B", "-C", "5"]), ("apr1", ["-m"]), ("sha512", ["-5"]), ("sha256", ["-2"]), ("sha1", ["-s"]),
        ]
        var passwords: [String: String] = [:]
        for (index, (user, flags)) in flagsByUser.enumerated() {
            let password = TestSupport.randomPassword()
            passwords[user] = password
            let result = try TestSupport.run(tool, [index == 0 ? "-cb" : "-b"] + flags + [usersPath, user, password])
            try #require(result.status == 0, "\(result.standardError)")
        }

        let nginx = try NginxProcess(directory: directory, usersPath: usersPath)
        defer { nginx.stop() }

        for (user, _) in flagsByUser {
            let password = try #require(passwords[user])
            #expect(try nginx.status(user: user, password: password) == 200, "user \(user)")
            #expect(try nginx.status(user: user, password: password + "x") == 401, "user \(user), wrong password")
        }
        #expect(try nginx.status(user: "nobody", password: "pw") == 401)
    }
}

/// nginx in the foreground with its own prefix, config, pid file and logs in a temporary directory.
final class NginxProcess {
    let port: Int
    private let process: Process
    private let directory: String

    init(directory: String, usersPath: String) throws {
        self.directory = directory
        port = try Self.freeLoopbackPort()
        let configuration = """
            daemon off;
            master_process off;
            worker_processes 1;
            pid \(directory)/nginx.pid;
            error_log \(directory)/error.log info;
            events { worker_connections 64; }
            http {
                access_log off;
                client_body_temp_path \(directory)/body;
                proxy_temp_path \(directory)/proxy;
                fastcgi_temp_path \(directory)/fastcgi;
                uwsgi_temp_path \(directory)/uwsgi;
                scgi_temp_path \(directory)/scgi;
                server {
                    listen 127.0.0.1:\(port);
                    location / {
                        auth_basic "test";
                        auth_basic_user_file \(usersPath);
                        # A file, not `return`: `return` answers before the access phase, skipping auth_basic.
                        root \(directory)/www;
                    }
                }
            }
            """
        try configuration.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: directory + "/www", withIntermediateDirectories: true)
        try "ok\n".write(toFile: directory + "/www/index.html", atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: try TestSupport.resolve("nginx"))
        process.arguments = ["-p", directory, "-c", directory + "/nginx.conf", "-e", directory + "/error.log"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try waitUntilListening()
    }

    /// The HTTP status curl gets with these credentials.
    func status(user: String, password: String) throws -> Int {
        let result = try TestSupport.run("curl", [
            "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
            "-u", "\(user):\(password)", "http://127.0.0.1:\(port)/",
        ])
        return Int(result.standardOutput) ?? -1
    }

    func stop() {
        // SIGKILL, not SIGTERM: a child started by the test runner may inherit a
        // signal mask that blocks SIGTERM, and nothing of nginx's state matters here.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    private func waitUntilListening() throws {
        for _ in 0..<100 {
            guard process.isRunning else { break }
            if (try? status(user: "", password: "")) == 401 { return }
            usleep(50_000)
        }
        let log = (try? String(contentsOfFile: directory + "/error.log", encoding: .utf8)) ?? ""
        stop()
        throw NginxDidNotStart(log: log)
    }

    struct NginxDidNotStart: Error, CustomStringConvertible {
        let log: String
        var description: String { "nginx did not start: \(log)" }
    }

    /// A port the kernel just gave out on 127.0.0.1, released for nginx to take.
    private static func freeLoopbackPort() throws -> Int {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketDescriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(socketDescriptor, raw, length) == 0 && getsockname(socketDescriptor, raw, &length) == 0
            }
        }
        guard bound else { throw NginxDidNotStart(log: "no free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
