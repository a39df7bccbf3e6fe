import Foundation

/// The samples of a Prometheus text exposition: summed per metric name over
/// their labels, and the labels of each metric's first sample (for info
/// metrics such as `lmgate_backend_info{blas_core="…",cpu="…"} 1`).
public struct MetricsSnapshot: Sendable {
    private let totals: [String: Double]
    private let firstLabels: [String: [String: String]]

    public init(text: String) {
        var totals: [String: Double] = [:]
        var firstLabels: [String: [String: String]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let sample = Self.sample(in: line) else { continue }
            totals[sample.name, default: 0] += sample.value
            if firstLabels[sample.name] == nil { firstLabels[sample.name] = sample.labels }
        }
        self.totals = totals
        self.firstLabels = firstLabels
    }

    /// The metric's value (summed over labels), or `nil` if it is absent.
    public subscript(name: String) -> Double? { self.totals[name] }

    /// The labels of the metric's first sample, or `nil` if it is absent.
    public func labels(of name: String) -> [String: String]? { self.firstLabels[name] }

    /// One sample line: `name{label="value",…} value [timestamp]`. Label
    /// values may hold spaces, commas and braces, and escape `\\`, `\"`, `\n`.
    static func sample(in line: Substring) -> (name: String, labels: [String: String], value: Double)? {
        var rest = line[...]
        let name = rest.prefix { $0 != "{" && $0 != " " }
        guard !name.isEmpty else { return nil }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while let first = rest.first, first != "}" {
                if first == "," || first == " " {
                    rest = rest.dropFirst()
                    continue
                }
                let key = rest.prefix { $0 != "=" }
                rest = rest.dropFirst(key.count)
                guard rest.hasPrefix("=\"") else { return nil }
                rest = rest.dropFirst(2)
                var value = ""
                var closed = false
                while let character = rest.popFirst() {
                    if character == "\"" {
                        closed = true
                        break
                    }
                    if character == "\\", let escaped = rest.popFirst() {
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else {
                        value.append(character)
                    }
                }
                guard closed else { return nil }
                labels[key.trimmingCharacters(in: .whitespaces)] = value
            }
            guard rest.first == "}" else { return nil }
            rest = rest.dropFirst()
        }
        guard let text = rest.split(separator: " ").first, let value = Double(text) else { return nil }
        return (String(name), labels, value)
    }
}
