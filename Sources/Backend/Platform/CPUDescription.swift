import Foundation

/// What the CPU is and which instruction-set extensions it offers, as the
/// kernel reports them in `/proc/cpuinfo` (Linux). Elsewhere (macOS) the
/// description is empty, which makes every feature-based choice fall back to
/// the default.
public struct CPUDescription: Sendable, Equatable {
    /// The CPU's marketing name (`model name`), or `unknown`.
    public var model: String
    /// The feature flags of the first processor (`flags` on x86-64), e.g. `avx2`, `avx512f`.
    public var flags: Set<String>

    public init(model: String, flags: Set<String>) {
        self.model = model
        self.flags = flags
    }

    /// Reads the first processor's `model name` and `flags` lines from the
    /// text of `/proc/cpuinfo`; the processors of one machine share them.
    public init(cpuinfo: String) {
        var model: String?
        var flags: Set<String>?
        for line in cpuinfo.split(separator: "\n") where model == nil || flags == nil {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if key == "model name", model == nil {
                model = value
            } else if key == "flags", flags == nil {
                flags = Set(value.split(separator: " ").map(String.init))
            }
        }
        self.init(model: model.flatMap { $0.isEmpty ? nil : $0 } ?? "unknown", flags: flags ?? [])
    }

    /// The machine's CPU, from `/proc/cpuinfo`; empty where there is none.
    public static func current() -> CPUDescription {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
            return CPUDescription(model: "unknown", flags: [])
        }
        return CPUDescription(cpuinfo: text)
    }
}
