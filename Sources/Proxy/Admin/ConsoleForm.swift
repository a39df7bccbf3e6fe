import Foundation

/// The fields of an `application/x-www-form-urlencoded` body (what an HTML
/// form posts), as the console reads them.
///
/// Strict where a browser never sends otherwise: a field given twice, a
/// broken `%` escape or text that is not UTF-8 makes the whole form
/// unreadable rather than guessed at.
struct ConsoleForm: Equatable, Sendable {
    /// Largest form body read (the console's forms hold a few short fields).
    static let maxBytes = 64 * 1024

    private(set) var fields: [String: String] = [:]

    init(fields: [String: String] = [:]) {
        self.fields = fields
    }

    /// Parses a form body; `nil` when it cannot be read.
    init?(body: some Collection<UInt8>) {
        guard body.count <= Self.maxBytes else { return nil }
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decoded(Array(parts[0])), let value = Self.decoded(parts.count > 1 ? Array(parts[1]) : []),
                self.fields.updateValue(value, forKey: name) == nil
            else { return nil }
        }
    }

    subscript(name: String) -> String? { self.fields[name] }

    /// The field `name` with surrounding spaces removed; `nil` when absent or blank.
    func text(_ name: String) -> String? {
        guard let value = self.fields[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// `+` as a space and `%XX` escapes decoded; `nil` for a broken escape or bytes that are not UTF-8.
    private static func decoded(_ bytes: some Collection<UInt8>) -> String? {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                output.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(URICharacters.hexValue),
                    let low = iterator.next().flatMap(URICharacters.hexValue)
                else { return nil }
                output.append(high << 4 | low)
            default:
                output.append(byte)
            }
        }
        return String(validating: output, as: UTF8.self)
    }
}
