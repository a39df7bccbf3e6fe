/// Parses `swift-htpasswd`'s arguments the way Apache's `htpasswd` does.
///
/// Flags come first and may be combined (`-cbB`); `-C` and `-r` take their
/// value from the rest of the same argument (`-C12`) or the next one
/// (`-C 12`). Then come the file (unless `-n`), the user, and the password
/// (with `-b`), in exactly that number.
public enum HtpasswdCommandLine {
    /// A command line that cannot be run; ``exitCode`` is Apache's for the case.
    public struct UsageError: Error, Sendable, Hashable {
        public let exitCode: HtpasswdExitCode
        /// The message, or nil when only the usage text is printed.
        public let message: String?
        /// Whether the usage text should follow the message.
        public let showUsage: Bool
    }

    /// The result of parsing: run with options, or print the help.
    public enum Parsed: Sendable, Hashable {
        case run(HtpasswdOptions)
        case help
    }

    /// Longest user name and password Apache accepts.
    public static let maximumUserLength = 255
    public static let maximumPasswordLength = 256

    /// Parses the arguments after the program name.
    public static func parse(_ arguments: [String]) throws(UsageError) -> Parsed {
        if arguments.contains("--help") || arguments.first == "-h" { return .help }
        var options = HtpasswdOptions()
        var actions: [HtpasswdOptions.Action] = []
        var passwordOnCommandLine = false
        var readFromStandardInput = false
        var position = 0
        while position < arguments.count, arguments[position].hasPrefix("-"), arguments[position].count > 1 {
            let flags = Array(arguments[position].dropFirst())
            var flagIndex = 0
            while flagIndex < flags.count {
                let flag = flags[flagIndex]
                switch flag {
                case "c": actions.append(.create)
                case "n": actions.append(.printOnly)
                case "D": actions.append(.delete)
                case "v": actions.append(.verify)
                case "b": passwordOnCommandLine = true
                case "i": readFromStandardInput = true
                case "B": options.format = .bcrypt
                case "m": options.format = .apr1
                case "5": options.format = .sha512Crypt
                case "2": options.format = .sha256Crypt
                case "s": options.format = .sha1
                case "d":
                    throw UsageError(exitCode: .syntax,
                        message: "-d (DES crypt) is not supported: it uses only the first 8 characters of a password. Use -B", showUsage: false)
                case "p":
                    throw UsageError(exitCode: .syntax,
                        message: "-p (plain text) is not supported: plain-text entries are refused when verifying. Use -B", showUsage: false)
                case "C", "r":
                    // The value is the rest of this argument, or the next argument.
                    let rest = String(flags[(flagIndex + 1)...])
                    let value: String
                    if !rest.isEmpty {
                        value = rest
                    } else if position + 1 < arguments.count {
                        position += 1
                        value = arguments[position]
                    } else {
                        throw UsageError(exitCode: .syntax, message: nil, showUsage: true)
                    }
                    guard let number = Int(value), number > 0 else {
                        throw UsageError(exitCode: .syntax, message: "argument to -C/-r must be a positive integer", showUsage: false)
                    }
                    if flag == "C" { options.bcryptCost = number } else { options.rounds = number }
                    flagIndex = flags.count
                    continue
                default:
                    throw UsageError(exitCode: .syntax, message: "illegal option -- \(flag)", showUsage: true)
                }
                flagIndex += 1
            }
            position += 1
        }

        if Set(actions).count > 1 {
            throw UsageError(exitCode: .syntax, message: "only one of -c -n -v -D may be specified", showUsage: false)
        }
        if passwordOnCommandLine && readFromStandardInput {
            throw UsageError(exitCode: .syntax, message: "-b and -i are mutually exclusive", showUsage: true)
        }
        options.action = actions.first ?? .update
        let expected = (options.action == .printOnly ? 1 : 2) + (passwordOnCommandLine ? 1 : 0)
        let operands = Array(arguments[position...])
        guard operands.count == expected else {
            throw UsageError(exitCode: .syntax, message: nil, showUsage: true)
        }
        var operand = operands.makeIterator()
        if options.action != .printOnly { options.passwordFile = operand.next() }
        options.user = operand.next() ?? ""
        if passwordOnCommandLine, let password = operand.next() {
            options.passwordSource = .argument(Array(password.utf8))
        } else if readFromStandardInput {
            options.passwordSource = .standardInput
        }

        if options.user.utf8.count > maximumUserLength {
            throw UsageError(exitCode: .tooLong, message: "username too long (> \(maximumUserLength))", showUsage: false)
        }
        do {
            try HtpasswdFile.validate(user: options.user)
        } catch {
            throw UsageError(exitCode: .badUser, message: error.message, showUsage: false)
        }
        if case .argument(let password) = options.passwordSource, password.count > maximumPasswordLength {
            throw UsageError(exitCode: .tooLong, message: "password too long (> \(maximumPasswordLength))", showUsage: false)
        }
        return .run(options)
    }

    /// The short usage text, printed on syntax errors (to standard error).
    public static let usage = """
        Usage:
        \tswift-htpasswd [-cimB25sDv] [-C cost] [-r rounds] passwordfile username
        \tswift-htpasswd -b[cmB25sDv] [-C cost] [-r rounds] passwordfile username password

        \tswift-htpasswd -n[imB25s] [-C cost] [-r rounds] username
        \tswift-htpasswd -nb[mB25s] [-C cost] [-r rounds] username password
        Run 'swift-htpasswd --help' for details.

        """

    /// The full help, printed by `--help` (to standard output).
    public static let help = """
        swift-htpasswd: create and update the user files of HTTP basic authentication
        (Apache's htpasswd, nginx's auth_basic_user_file, lmgate's htpasswd).
        It takes Apache htpasswd's flags and exit codes.

        Usage:
        \tswift-htpasswd [-cimB25sDv] [-C cost] [-r rounds] passwordfile username
        \tswift-htpasswd -b[cmB25sDv] [-C cost] [-r rounds] passwordfile username password
        \tswift-htpasswd -n[imB25s] [-C cost] [-r rounds] username
        \tswift-htpasswd -nb[mB25s] [-C cost] [-r rounds] username password

        Flags (may be combined, as in -cbB):
         -c  Create a new file (replacing an existing one).
         -n  Don't update a file; print the record on standard output.
         -b  Take the password from the command line (visible to other users
             of this machine in the process list; prefer -i in scripts).
         -i  Read the password from standard input, once, without prompting.
         -B  bcrypt (the default). At most 72 bytes of password; longer ones
             are refused rather than silently cut.
         -C  bcrypt cost, 4 to 17 (default 10). Each step doubles the time.
         -m  Apache MD5 ($apr1$).
         -5  SHA-512-crypt ($6$).
         -2  SHA-256-crypt ($5$).
         -r  Rounds for -5 and -2 (default 5000).
         -s  SHA-1 ({SHA}); unsalted and fast, avoid.
         -D  Delete the user.
         -v  Verify the user's password.
        Without -b or -i the password is prompted for without echo, twice when
        it is being set.

        Not supported, on purpose: -d (DES crypt, 8 characters) and -p (plain
        text). Existing DES, $1$, {SSHA} entries are still kept and verified.

        Files are replaced atomically (written next to the original, flushed,
        renamed), every other line and comment is kept, and new files are
        created with mode 0600.

        Differences from Apache htpasswd: the default is bcrypt at cost 10
        (Apache: MD5, or bcrypt at cost 5); a bcrypt cost outside 4-17 is a
        syntax error (exit 2).

        Exit status:
          0  success
          1  the file cannot be read, created or written
          2  bad command line
          3  the passwords typed differ, or -v: wrong password
          4  interrupted
          5  user name, password or record too long
          6  illegal character in the user name, or -v: no such user
          7  the file is not a valid htpasswd file
          9  other failure

        """
}
