// swift-htpasswd: Apache htpasswd's flags and exit codes; the work is in HtpasswdKit.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HtpasswdKit

let tool = HtpasswdTool(
    readStandardInput: StandardStreams.readAllInput,
    promptForPassword: TerminalPasswordPrompt.read,
    writeOutput: StandardStreams.writeOutput,
    writeError: StandardStreams.writeError
)
let programName = CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "swift-htpasswd") } ?? "swift-htpasswd"
exit(tool.run(arguments: Array(CommandLine.arguments.dropFirst()), programName: programName).rawValue)
