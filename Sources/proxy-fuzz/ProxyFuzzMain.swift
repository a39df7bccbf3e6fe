import Foundation

/// libFuzzer's entry point for every input it generates (and replays).
@_cdecl("LLVMFuzzerTestOneInput")
public func proxyFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    ForwardingRoundTrip.run(UnsafeBufferPointer(start: data, count: size))
    return 0
}

#if PROXY_FUZZ
/// libFuzzer's driver, `int LLVMFuzzerRunDriver(int *argc, char ***argv,
/// int (*callback)(const uint8_t *, size_t))` (FuzzerDriver.cpp).
///
/// Why it is called from Swift: SwiftPM links every executable with `main`
/// defined as the module's Swift entry point (`proxy_fuzz_main`), so
/// libFuzzer's own `main` is never used and linking fails without a Swift
/// `main` (swiftlang/swift#75800). Swift cannot import a C function without
/// a C module, hence `@_silgen_name`: three pointer arguments and an `Int32`
/// result are passed by the Swift calling convention exactly as by C on the
/// 64-bit platforms this runs on.
@_silgen_name("LLVMFuzzerRunDriver")
func runLibFuzzer(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Built by scripts/fuzz-proxy (`-sanitize=fuzzer -D PROXY_FUZZ`): runs libFuzzer
/// with the command line (corpus directories, `-max_total_time=`, ...).
@main
enum ProxyFuzz {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runLibFuzzer(&argc, &argv, { data, size in proxyFuzzTestOneInput(data, size) }))
    }
}
#else
/// A plain build (no libFuzzer) replays the input files named on the command
/// line, e.g. the seed corpus or a crash the fuzzer saved.
@main
enum ProxyFuzzReplay {
    static func main() throws {
        for path in CommandLine.arguments.dropFirst() {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            bytes.withUnsafeBufferPointer { ForwardingRoundTrip.run($0) }
            print("ok \(path)")
        }
    }
}
#endif
