#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a parsed `swift-htpasswd` invocation: everything the command does
/// except reading the terminal, which the executable supplies.
public struct HtpasswdTool: Sendable {
    /// Reads all of standard input (for `-i`).
    public var readStandardInput: @Sendable () -> [UInt8]
    /// Shows the prompt and reads one line without echo; nil when interrupted.
    public var promptForPassword: @Sendable (String) -> [UInt8]?
    /// Writes to standard output.
    public var writeOutput: @Sendable (String) -> Void
    /// Writes to standard error.
    public var writeError: @Sendable (String) -> Void

    public init(
        readStandardInput: @escaping @Sendable () -> [UInt8],
        promptForPassword: @escaping @Sendable (String) -> [UInt8]?,
        writeOutput: @escaping @Sendable (String) -> Void,
        writeError: @escaping @Sendable (String) -> Void
    ) {
        self.readStandardInput = readStandardInput
        self.promptForPassword = promptForPassword
        self.writeOutput = writeOutput
        self.writeError = writeError
    }

    private struct Failure: Error {
        let exitCode: HtpasswdExitCode
        let message: String
    }

    /// Parses `arguments` (without the program name) and runs them.
    public func run(arguments: [String], programName: String = "swift-htpasswd") -> HtpasswdExitCode {
        do {
            switch try HtpasswdCommandLine.parse(arguments) {
            case .help:
                writeOutput(HtpasswdCommandLine.help)
                return .success
            case .run(let options):
                return run(options, programName: programName)
            }
        } catch {
            if let message = error.message { writeError("\(programName): \(message)\n") }
            if error.showUsage { writeError(HtpasswdCommandLine.usage) }
            return error.exitCode
        }
    }

    /// Runs parsed options.
    public func run(_ options: HtpasswdOptions, programName: String = "swift-htpasswd") -> HtpasswdExitCode {
        do {
            try perform(options)
            return .success
        } catch let failure as Failure {
            if !failure.message.isEmpty { writeError("\(programName): \(failure.message)\n") }
            return failure.exitCode
        } catch {
            writeError("\(programName): \(error)\n")
            return .general
        }
    }

    private func perform(_ options: HtpasswdOptions) throws {
        if options.hasIgnoredCost { writeError("Warning: Ignoring -C/-r argument for this algorithm.\n") }
        let user = options.user
        guard let path = options.passwordFile else {
            let hash = try newHash(options)
            writeOutput("\(user):\(hash.encoded)\n\n")
            return
        }

        var file = options.action == .create ? HtpasswdFile() : try existingFile(path)
        switch options.action {
        case .delete:
            if file.removeUser(user) {
                writeError("Deleting password for user \(user)\n")
                try write(file, to: path)
            } else {
                writeError("User \(user) not found\n")
            }
        case .verify:
            guard let entry = file.entry(for: user) else {
                writeError("User \(user) not found\n")
                throw Failure(exitCode: .badUser, message: "")
            }
            let password = try readPassword(options, prompts: ["Enter password: "])
            switch entry.hash {
            case .failure(let error):
                throw Failure(exitCode: .passwordMismatch, message: "cannot verify user \(user): \(error.message)")
            case .success(let hash):
                guard PasswordVerifier.verify(password: password, against: hash) else {
                    writeError("password verification failed\n")
                    throw Failure(exitCode: .passwordMismatch, message: "")
                }
                writeError("Password for user \(user) correct.\n")
            }
        case .update, .create, .printOnly:
            let hash = try newHash(options)
            let result = try file.setHash(hash, for: user)
            writeError("\(result == .added ? "Adding" : "Updating") password for user \(user)\n")
            try write(file, to: path)
        }
    }

    private func existingFile(_ path: String) throws -> HtpasswdFile {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw Failure(exitCode: .fileProblem, message: "cannot modify file \(path); use '-c' to create it")
        }
        let file: HtpasswdFile
        do {
            file = try HtpasswdFile(contentsOfFile: path)
        } catch {
            throw Failure(exitCode: .fileProblem, message: error.message)
        }
        if let bad = file.diagnostics.first(where: { $0.kind == .malformedLine }) {
            throw Failure(exitCode: .invalidFile,
                message: "The file \(path) does not appear to be a valid htpasswd file (\(bad)).")
        }
        return file
    }

    private func write(_ file: HtpasswdFile, to path: String) throws {
        do {
            try file.write(to: path)
        } catch {
            throw Failure(exitCode: .fileProblem, message: error.message)
        }
    }

    private func newHash(_ options: HtpasswdOptions) throws -> PasswordHash {
        let password = try readPassword(options, prompts: ["New password: ", "Re-type new password: "])
        do {
            return try PasswordHasher.hash(password, format: options.format, cost: options.hashingCost)
        } catch {
            let exitCode: HtpasswdExitCode = switch error.code {
            case .passwordTooLong: .tooLong
            case .costOutOfRange, .invalidPassword: .syntax
            case .randomFailure: .randomFailure
            default: .general
            }
            throw Failure(exitCode: exitCode, message: error.message)
        }
    }

    /// The password from the argument, standard input, or the prompts (which must agree).
    private func readPassword(_ options: HtpasswdOptions, prompts: [String]) throws -> [UInt8] {
        let password: [UInt8]
        switch options.passwordSource {
        case .argument(let bytes):
            password = bytes
        case .standardInput:
            var bytes = readStandardInput()
            // One line ending is the end of the password, as in Apache.
            if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            password = bytes
        case .prompt:
            var answers: [[UInt8]] = []
            for prompt in prompts {
                guard let answer = promptForPassword(prompt) else {
                    writeError("\nInterrupted.\n")
                    throw Failure(exitCode: .interrupted, message: "")
                }
                answers.append(answer)
            }
            guard answers.dropFirst().allSatisfy({ $0 == answers[0] }) else {
                throw Failure(exitCode: .passwordMismatch, message: "password verification error")
            }
            password = answers[0]
        }
        guard password.count <= HtpasswdCommandLine.maximumPasswordLength else {
            throw Failure(exitCode: .tooLong, message: "password too long (> \(HtpasswdCommandLine.maximumPasswordLength))")
        }
        return password
    }
}
