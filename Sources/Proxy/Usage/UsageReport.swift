import Foundation

/// Usage rows added up by the columns a reader asks for (`lmgate usage
/// --by identity,model`), rendered as a table or as JSON.
public struct UsageReport: Sendable, Equatable {
    /// A column rows can be grouped by.
    public enum Column: String, Sendable, CaseIterable {
        case hour, day, identity, model
    }

    /// One line of the report: the grouping's values and the summed counts.
    public struct Line: Sendable, Equatable, Codable {
        public var hour: String?
        public var day: String?
        public var identity: String?
        public var model: String?
        public var requests: Int64
        public var promptTokens: Int64
        public var completionTokens: Int64
        public var totalTokens: Int64
        public var clientErrors: Int64
        public var serverErrors: Int64

        enum CodingKeys: String, CodingKey {
            case hour, day, identity, model, requests
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case totalTokens = "total_tokens"
            case clientErrors = "client_errors"
            case serverErrors = "server_errors"
        }
    }

    public let columns: [Column]
    public let lines: [Line]

    /// `rows` summed by `columns`, in the order of those values (hours and
    /// days in time order).
    public init(rows: [UsageRow], by columns: [Column]) {
        self.columns = columns
        var sums: [[String]: UsageRow] = [:]
        for row in rows {
            let key = columns.map { Self.value(of: $0, in: row) }
            sums[key, default: UsageRow(hour: 0, identity: "", model: "")].add(row)
        }
        self.lines = sums.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { key, sum in
            var line = Line(
                requests: sum.requests, promptTokens: sum.promptTokens, completionTokens: sum.completionTokens,
                totalTokens: sum.tokens, clientErrors: sum.clientErrors, serverErrors: sum.serverErrors)
            for (column, value) in zip(columns, key) {
                switch column {
                case .hour: line.hour = value
                case .day: line.day = value
                case .identity: line.identity = value
                case .model: line.model = value
                }
            }
            return line
        }
    }

    /// How a row reads in `column`; hours and days as UTC ISO 8601 text, which sorts in time order.
    static func value(of column: Column, in row: UsageRow) -> String {
        switch column {
        case .hour: return Self.isoText(row.hour, dateOnly: false)
        case .day: return Self.isoText(row.hour, dateOnly: true)
        case .identity: return row.identity
        case .model: return row.model
        }
    }

    static func isoText(_ seconds: Int64, dateOnly: Bool) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = dateOnly ? [.withFullDate] : [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// The report as a text table, with a total line when it has more than one line.
    public func table() -> String {
        let headers = self.columns.map(\.rawValue) + ["requests", "prompt", "completion", "tokens", "4xx", "5xx"]
        func cells(_ line: Line) -> [String] {
            let keys = self.columns.map { column -> String in
                switch column {
                case .hour: return line.hour ?? ""
                case .day: return line.day ?? ""
                case .identity: return line.identity ?? ""
                case .model: return line.model ?? ""
                }
            }
            return keys + [line.requests, line.promptTokens, line.completionTokens, line.totalTokens, line.clientErrors, line.serverErrors].map(String.init)
        }
        var table = [headers] + self.lines.map(cells)
        if self.lines.count > 1 {
            var total = UsageRow(hour: 0, identity: "", model: "")
            for line in self.lines {
                total.add(
                    UsageRow(
                        hour: 0, identity: "", model: "", requests: line.requests, promptTokens: line.promptTokens,
                        completionTokens: line.completionTokens, clientErrors: line.clientErrors, serverErrors: line.serverErrors))
            }
            let label = ["total"] + Array(repeating: "", count: max(0, self.columns.count - 1))
            table.append(
                label + [total.requests, total.promptTokens, total.completionTokens, total.tokens, total.clientErrors, total.serverErrors].map(String.init))
        }
        if self.lines.isEmpty { return "no usage in this range\n" }
        let widths = headers.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        let numeric = self.columns.count
        return table.map { row in
            row.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                return index >= numeric ? pad + cell : cell + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n") + "\n"
    }

    /// The report as a JSON array of lines (`prompt_tokens`, … in snake case; grouping columns only when grouped by).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(self.lines)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension UsageQuery {
    /// A time as `lmgate usage --since/--until` takes it: a UTC date
    /// (`2026-12-07`), a UTC time (`2026-12-07T10:00:00Z`), or a span back
    /// from `now` (`90m`, `24h`, `7d`). Returns seconds since 1970, or `nil`.
    public static func time(_ text: String, now: Date = Date()) -> Int64? {
        if let unit = text.last, let amount = Int64(text.dropLast()), amount >= 0 {
            let seconds: Int64? = switch unit {
            case "m": 60
            case "h": 3600
            case "d": 86_400
            default: nil
            }
            if let seconds { return Int64(now.timeIntervalSince1970) - amount * seconds }
        }
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = text.count == 10 ? [.withFullDate] : [.withInternetDateTime]
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970) }
    }
}
