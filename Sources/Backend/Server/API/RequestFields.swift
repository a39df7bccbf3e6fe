/// The members of a JSON request body, read field by field with errors that
/// name the field and say what was expected.
struct RequestFields {
    let members: [String: JSONValue]

    init(_ members: [String: JSONValue]) {
        self.members = members
    }

    /// Whether `key` is present and not null.
    func has(_ key: String) -> Bool {
        if let value = members[key], value != .null { return true }
        return false
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws(APIError) -> Double? {
        guard let value = members[key], value != .null else { return nil }
        guard let number = value.doubleValue, number.isFinite else {
            throw .invalid("'\(key)' must be a number", parameter: key)
        }
        guard range.contains(number) else {
            throw .invalid("'\(key)' must be between \(Self.format(range.lowerBound)) and \(Self.format(range.upperBound)), got \(Self.format(number))", parameter: key)
        }
        return number
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let value = members[key], value != .null else { return nil }
        let integer: Int
        switch value {
        case .integer(let v): integer = v
        case .number(let v) where v.rounded() == v && abs(v) < 9e15: integer = Int(v)
        default: throw .invalid("'\(key)' must be an integer", parameter: key)
        }
        guard range.contains(integer) else {
            throw .invalid("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(integer)", parameter: key)
        }
        return integer
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let value = members[key], value != .null else { return nil }
        guard case .bool(let flag) = value else { throw .invalid("'\(key)' must be true or false", parameter: key) }
        return flag
    }

    func string(_ key: String) throws(APIError) -> String? {
        guard let value = members[key], value != .null else { return nil }
        guard case .string(let text) = value else { throw .invalid("'\(key)' must be a string", parameter: key) }
        return text
    }

    /// A string or an array of strings (as OpenAI's `stop`).
    func strings(_ key: String) throws(APIError) -> [String] {
        guard let value = members[key], value != .null else { return [] }
        switch value {
        case .string(let text): return [text]
        case .array(let items):
            var texts: [String] = []
            for item in items {
                guard case .string(let text) = item else { throw .invalid("'\(key)' must be a string or an array of strings", parameter: key) }
                texts.append(text)
            }
            return texts
        default: throw .invalid("'\(key)' must be a string or an array of strings", parameter: key)
        }
    }

    func object(_ key: String) throws(APIError) -> [String: JSONValue]? {
        guard let value = members[key], value != .null else { return nil }
        guard case .object(let object) = value else { throw .invalid("'\(key)' must be an object", parameter: key) }
        return object
    }

    private static func format(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
