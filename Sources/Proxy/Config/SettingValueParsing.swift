/// Parsers for the scalar kinds of setting: durations, byte sizes, counts and
/// booleans, each accepting what a person would naturally write.
public enum SettingValueParsing {
    /// `30s`, `500ms`, `2m`, `1h`, or a bare number of seconds.
    public static func duration(_ text: String) -> Duration? {
        let trimmed = text.trimmingSpaces().lowercased()
        let units: [(suffix: String, milliseconds: Double)] = [
            ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000),
        ]
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            guard let value = Double(trimmed.dropLast(unit.suffix.count)), value >= 0, value.isFinite else {
                return nil
            }
            return .milliseconds(Int64(value * unit.milliseconds))
        }
        guard let seconds = Double(trimmed), seconds >= 0, seconds.isFinite else { return nil }
        return .milliseconds(Int64(seconds * 1000))
    }

    /// `1048576`, `64k`/`64KiB`, `10m`/`10MiB`, `1g`/`1GiB` (powers of 1024).
    public static func byteCount(_ text: String) -> Int? {
        var trimmed = Substring(text.trimmingSpaces().lowercased())
        if trimmed.hasSuffix("ib") { trimmed = trimmed.dropLast(2) } else if trimmed.hasSuffix("b") {
            trimmed = trimmed.dropLast()
        }
        let multipliers: [Character: Int] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
        var multiplier = 1
        if let last = trimmed.last, let factor = multipliers[last] {
            multiplier = factor
            trimmed = trimmed.dropLast()
        }
        guard let value = Int(trimmed), value >= 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }

    /// A non-negative whole number.
    static func count(_ text: String) -> Int? {
        guard let value = Int(text.trimmingSpaces()), value >= 0 else { return nil }
        return value
    }

    /// `true/false`, `yes/no`, `on/off`, `1/0`.
    static func boolean(_ text: String) -> Bool? {
        switch text.trimmingSpaces().lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: return nil
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        String(self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
