import Foundation

/// Runs real client programs (curl, python3) the way a user would.
enum ExternalTools {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a program found on `PATH` and waits for it.
    static func run(_ arguments: [String], stdin: Data? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read before waiting so a large output cannot fill the pipe and stall the child.
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: stdoutData, as: UTF8.self),
            stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// Sends raw bytes to a loopback port with Python's socket module and
    /// returns the status code of the first response (0 if none came).
    static func rawRequestStatus(port: Int, request: String) throws -> Int {
        let script = """
            import socket, sys
            s = socket.create_connection(("127.0.0.1", \(port)), timeout=10)
            s.sendall(sys.stdin.buffer.read())
            data = b""
            try:
                while b"\\r\\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except (ConnectionResetError, socket.timeout):
                pass
            line = data.split(b"\\r\\n", 1)[0].split(b" ")
            print(int(line[1]) if len(line) > 1 else 0)
            """
        let output = try run(["python3", "-c", script], stdin: Data(request.utf8))
        return Int(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }
}
