import Foundation

// Built by scripts/fuzz-proxy with `-sanitize=fuzzer -D PROXY_FUZZ`: libFuzzer
// supplies `main` and calls this for every input it generates.
@_cdecl("LLVMFuzzerTestOneInput")
public func proxyFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    ForwardingRoundTrip.run(UnsafeBufferPointer(start: data, count: size))
    return 0
}

#if !PROXY_FUZZ
/// Without libFuzzer (a plain `swift build`), replays the input files named
/// on the command line, e.g. the seed corpus or a crash libFuzzer saved.
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
