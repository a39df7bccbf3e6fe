/// The exit statuses of Apache's `htpasswd`, which `swift-htpasswd` keeps.
public enum HtpasswdExitCode: Int32, Sendable {
    case success = 0
    /// The password file cannot be read, created or written.
    case fileProblem = 1
    /// Bad command line; the usage text is printed.
    case syntax = 2
    /// The two typed passwords differ, or `-v` found the password wrong.
    case passwordMismatch = 3
    /// Interrupted (Ctrl-C at a prompt).
    case interrupted = 4
    /// A user name, password or record too long.
    case tooLong = 5
    /// The user name contains an illegal character, or `-v` found no such user.
    case badUser = 6
    /// The existing file has lines that are not `user:hash`, comments or blank.
    case invalidFile = 7
    /// The system random number generator failed.
    case randomFailure = 8
    /// Anything else.
    case general = 9
}
