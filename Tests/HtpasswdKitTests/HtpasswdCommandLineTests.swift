import Foundation
import Synchronization
import Testing
import HtpasswdKit

/// Argument parsing as Apache's htpasswd does it, and the tool run with scripted prompts.
@Suite struct HtpasswdCommandLineTests {
    private func options(_ arguments: [String]) throws -> HtpasswdOptions {
        guard case .run(let options) = try HtpasswdCommandLine.parse(arguments) else {
            throw CancellationError()
        }
        return options
    }

    @Test func combinedFlagsAreSplit() throws {
        let parsed = try options(["-cbB", "-C12", "file", "alice", "pw"])
        #expect(parsed.action == .create)
        #expect(parsed.format == .bcrypt)
        #expect(parsed.bcryptCost == 12)
        #expect(parsed.passwordFile == "file")
        #expect(parsed.user == "alice")
        #expect(parsed.passwordSource == .argument(Array("pw".utf8)))

        let separate = try options(["-b", "-5", "-r", "20000", "file", "bob", "pw"])
        #expect(separate.format == .sha512Crypt)
        #expect(separate.rounds == 20000)

        let printOnly = try options(["-nim", "carol"])
        #expect(printOnly.action == .printOnly)
        #expect(printOnly.passwordFile == nil)
        #expect(printOnly.passwordSource == .standardInput)
        #expect(printOnly.format == .apr1)

        // The last format flag wins, as in Apache.
        #expect(try options(["-nbms", "u", "p"]).format == .sha1)
    }

    @Test("syntax errors", arguments: [
        ["f"], ["-b", "f", "u"], ["-n", "f", "u"], ["-cn", "f", "u"], ["-Dv", "f", "u"], ["-bi", "f", "u", "p"],
        ["-C", "x", "f", "u"], ["-C"], ["-q", "f", "u"], ["-C", "-1", "f", "u"],
    ])
    func syntaxErrors(arguments: [String]) {
        do {
            _ = try HtpasswdCommandLine.parse(arguments)
            Issue.record("\(arguments) parsed")
        } catch {
            #expect(error.exitCode == .syntax)
        }
    }

    @Test func helpExplainsEveryFlag() throws {
        #expect(try HtpasswdCommandLine.parse(["--help"]) == .help)
        for flag in ["-c", "-n", "-b", "-i", "-B", "-C", "-m", "-5", "-2", "-r", "-s", "-D", "-v"] {
            #expect(HtpasswdCommandLine.help.contains(" \(flag)  "), "\(flag)")
        }
        let output = try TestSupport.run(try TestSupport.swiftHtpasswd(), ["--help"])
        #expect(output.status == 0)
        #expect(output.standardOutput == HtpasswdCommandLine.help)
    }

    /// Collects what the tool writes, and answers prompts from a script.
    final class Console: Sendable {
        let answers: Mutex<[[UInt8]?]>
        let prompts = Mutex<[String]>([])
        let output = Mutex("")
        let errors = Mutex("")

        init(answers: [String?]) {
            self.answers = Mutex(answers.map { $0.map { Array($0.utf8) } })
        }

        var tool: HtpasswdTool {
            HtpasswdTool(
                readStandardInput: { [] },
                promptForPassword: { prompt in
                    self.prompts.withLock { $0.append(prompt) }
                    return self.answers.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                },
                writeOutput: { text in self.output.withLock { $0 += text } },
                writeError: { text in self.errors.withLock { $0 += text } }
            )
        }
    }

    @Test func promptsTwiceAndChecksTheyAgree() throws {
        let agreeing = Console(answers: ["secret", "secret"])
        #expect(agreeing.tool.run(arguments: ["-n", "-m", "alice"]) == .success)
        #expect(agreeing.prompts.withLock { $0 } == ["New password: ", "Re-type new password: "])
        let line = agreeing.output.withLock { $0 }
        #expect(line.hasPrefix("alice:$apr1$") && line.hasSuffix("\n\n"))
        let file = HtpasswdFile(contents: Array(line.utf8))
        #expect(file.verify(user: "alice", password: "secret") == .verified)

        let differing = Console(answers: ["secret", "secreT"])
        #expect(differing.tool.run(arguments: ["-n", "alice"]) == .passwordMismatch)
        #expect(differing.errors.withLock { $0 }.contains("password verification error"))
        #expect(differing.output.withLock { $0 }.isEmpty)

        let interrupted = Console(answers: ["secret"])
        #expect(interrupted.tool.run(arguments: ["-n", "alice"]) == .interrupted)
    }

    @Test func verifyPromptsOnce() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        let path = directory + "/users"
        try TestSupport.run("htpasswd", ["-cb5", path, "alice", "secret"])
        let console = Console(answers: ["secret"])
        #expect(console.tool.run(arguments: ["-v", path, "alice"]) == .success)
        #expect(console.prompts.withLock { $0 } == ["Enter password: "])
        #expect(console.errors.withLock { $0 } == "Password for user alice correct.\n")
    }
}
