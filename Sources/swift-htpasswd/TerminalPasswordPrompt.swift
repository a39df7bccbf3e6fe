#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a password from the terminal with echo turned off (termios).
///
/// When standard input is not a terminal the line is read as it is, so
/// `printf 'pw\npw\n' | swift-htpasswd f user` works as with Apache's tool.
enum TerminalPasswordPrompt {
    /// The terminal settings to restore if Ctrl-C arrives while echo is off.
    /// Written before the SIGINT handler is installed and read only by it.
    nonisolated(unsafe) private static var savedSettings = termios()

    @Sendable static func read(prompt: String) -> [UInt8]? {
        StandardStreams.writeError(prompt)
        let isTerminal = isatty(STDIN_FILENO) == 1
        if isTerminal {
            tcgetattr(STDIN_FILENO, &savedSettings)
            var quiet = savedSettings
            quiet.c_lflag &= ~tcflag_t(ECHO)
            // The handler captures nothing: it restores the saved settings and exits with Apache's code 4.
            signal(SIGINT) { _ in
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &TerminalPasswordPrompt.savedSettings)
                let message = Array("\nInterrupted.\n".utf8)
                _ = message.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
                _exit(4)
            }
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        }
        defer {
            if isTerminal {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &savedSettings)
                signal(SIGINT, SIG_DFL)
                StandardStreams.writeError("\n")
            }
        }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = Glibc.read(STDIN_FILENO, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return line.isEmpty ? nil : line }
            if byte == UInt8(ascii: "\n") { break }
            line.append(byte)
            // Longer than any password htpasswd accepts: stop reading, let the length check report it.
            if line.count > 4096 { break }
        }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return line
    }
}
