import Foundation
import Proxy

/// The keys of a keys file as a table (names, prefixes, scopes, dates, limits):
/// what `lmgate keys list` and `lmgate status` show. Never a key itself.
enum KeysTable {
    static func render(_ keys: APIKeyFile, keysPath: String, now: Date = Date()) -> String {
        let lastUsed = APIKeyUsage.read(APIKeyUsage.path(forKeysFile: keysPath))
        func text(_ date: Date?) -> String { date.map(APIKeyFile.text) ?? APIKeyFile.never }
        let rows = [["NAME", "PREFIX", "SCOPE", "CREATED", "LAST USED", "EXPIRES", "LIMITS"]]
            + keys.keys.map { key in
                [key.name, key.prefix + "…", key.scope.rawValue, text(key.created), text(lastUsed[key.name]),
                 key.isExpired(at: now) ? "expired " + text(key.expires) : text(key.expires),
                 key.limits.isEmpty ? "-" : key.limits.fields.joined(separator: " ")]
            }
        let widths = (0..<7).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
