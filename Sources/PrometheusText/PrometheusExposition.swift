/// Writes metrics in the Prometheus text exposition format (version 0.0.4):
/// the one renderer of the proxy's and the backend's `/metrics`.
///
/// Each metric family starts with ``family(_:type:help:)`` (its `# HELP` and
/// `# TYPE` lines); its samples follow with ``sample(_:labels:value:)`` or,
/// for a histogram, ``histogram(_:labels:bounds:counts:sum:count:)``. Label
/// values are escaped here (backslash, quote, newline), so no value can
/// break a line or a label set; names are the caller's constants.
///
/// Rendering runs once per scrape, never on a request's path, so it builds
/// one `String` and favours plainness over speed.
public struct PrometheusExposition: Sendable {
    /// What a family's samples mean to Prometheus.
    public enum MetricType: String, Sendable {
        case counter, gauge, histogram, summary
    }

    /// The text written so far.
    public private(set) var text = ""

    public init() {}

    /// Starts a metric family: its help text (one line) and type.
    public mutating func family(_ name: String, type: MetricType, help: String) {
        self.text += "# HELP \(name) \(Self.escapedHelp(help))\n# TYPE \(name) \(type.rawValue)\n"
    }

    /// One sample: `name{labels} value`, without braces when there are no labels.
    public mutating func sample(_ name: String, labels: [(String, String)] = [], value: String) {
        self.text += name
        self.appendLabels(labels)
        self.text += " \(value)\n"
    }

    /// One sample with an integer value.
    public mutating func sample(_ name: String, labels: [(String, String)] = [], value: Int) {
        self.sample(name, labels: labels, value: String(value))
    }

    /// A whole family of one sample with no labels.
    public mutating func single(_ name: String, type: MetricType, help: String, value: Int) {
        self.family(name, type: type, help: help)
        self.sample(name, value: value)
    }

    /// A histogram's samples for one label set: a cumulative `_bucket` per
    /// upper bound (`counts[i]` observations fell in bucket `i` alone) and
    /// `+Inf`, then `_sum` and `_count`.
    public mutating func histogram(
        _ name: String, labels: [(String, String)] = [], bounds: [Double], counts: [Int], sum: Double, count: Int
    ) {
        precondition(bounds.count == counts.count, "a histogram has one count per bucket bound")
        var cumulative = 0
        for (bound, bucketCount) in zip(bounds, counts) {
            cumulative += bucketCount
            self.sample(name + "_bucket", labels: labels + [("le", "\(bound)")], value: cumulative)
        }
        self.sample(name + "_bucket", labels: labels + [("le", "+Inf")], value: count)
        self.sample(name + "_sum", labels: labels, value: "\(sum)")
        self.sample(name + "_count", labels: labels, value: count)
    }

    private mutating func appendLabels(_ labels: [(String, String)]) {
        guard !labels.isEmpty else { return }
        self.text += "{"
        for (index, (name, value)) in labels.enumerated() {
            if index > 0 { self.text += "," }
            self.text += "\(name)=\"\(Self.escapedLabelValue(value))\""
        }
        self.text += "}"
    }

    /// A label value as the format wants it: `\` `"` and newline escaped.
    public static func escapedLabelValue(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// Help text as the format wants it: `\` and newline escaped (quotes stay).
    static func escapedHelp(_ help: String) -> String {
        guard help.contains(where: { $0 == "\\" || $0 == "\n" }) else { return help }
        var escaped = ""
        for scalar in help.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
