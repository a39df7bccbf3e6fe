import Foundation
import Testing

/// Runs real programs (Apache's htpasswd, nginx, curl, openssl, the built swift-htpasswd) for the tests.
enum TestSupport {
    struct Output {
        let status: Int32
        let standardOutput: String
        let standardError: String
    }

    /// Runs `executable` (a path, or a name looked up in PATH) and waits for it.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], input: [UInt8]? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try resolve(executable))
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input)) }
        try stdin.fileHandleForWriting.close()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      standardOutput: String(decoding: outputData, as: UTF8.self),
                      standardError: String(decoding: errorData, as: UTF8.self))
    }

    static func resolve(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        for directory in directories {
            let candidate = directory + "/" + executable
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw Missing(what: executable)
    }

    struct Missing: Error, CustomStringConvertible {
        let what: String
        var description: String { "\(what) not found; run scripts/setup" }
    }

    /// The swift-htpasswd built next to this test bundle (`swift build --build-tests` builds both).
    static func swiftHtpasswd() throws -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("swift-htpasswd").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        // Fall back to asking SwiftPM where it puts binaries, from the package root.
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let binPath = try run("swift", ["build", "--package-path", packageRoot.path, "--show-bin-path"])
        let candidate = binPath.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) + "/swift-htpasswd"
        guard FileManager.default.isExecutableFile(atPath: candidate) else { throw Missing(what: "swift-htpasswd (run swift build)") }
        return candidate
    }

    /// A new empty directory, removed by the caller with `removeDirectory`.
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("htpasswdkit-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func removeDirectory(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// A random password of letters and digits (the shell is not involved, but keep logs readable).
    static func randomPassword(length: Int = 16) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<length).map { _ in alphabet.randomElement()! })
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
