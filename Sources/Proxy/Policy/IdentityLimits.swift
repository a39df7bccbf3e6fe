/// The limits on one identity (an API key or a Basic user) beyond its
/// scope: which models it may use, how many of its requests may be in
/// flight at once, and how many tokens (prompt + completion) it may use per
/// minute, day and month; and the priority its requests wait with when the
/// upstream is busy (``UpstreamQueue``). Empty limits (the default) restrict
/// nothing.
///
/// Written in the keys file and the users' limits file as `name=value`
/// fields after the fixed ones: `models=qwen3-*,local-model`
/// `max_concurrent=2` `tokens_per_minute=200` `tokens_per_day=…`
/// `tokens_per_month=…` `priority=high`. An unknown or malformed field is an error, so a
/// typo never silently lifts a limit.
public struct IdentityLimits: Sendable, Equatable {
    /// The models the identity may name in a request body; `nil` for any.
    public var models: [ModelPattern]?
    /// Most requests of the identity in flight at once; `nil` for no limit.
    public var maxConcurrent: Int?
    /// Most tokens per window (``TokenQuotaLedger/Window``); none for no quota.
    public var tokenQuotas: [TokenQuotaLedger.Window: Int] = [:]
    /// The class the identity's requests wait in for an upstream slot; `nil` for normal.
    public var priority: QueuePriority?

    public init(
        models: [ModelPattern]? = nil, maxConcurrent: Int? = nil, tokenQuotas: [TokenQuotaLedger.Window: Int] = [:],
        priority: QueuePriority? = nil
    ) {
        self.models = models
        self.maxConcurrent = maxConcurrent
        self.tokenQuotas = tokenQuotas
        self.priority = priority
    }

    /// Whether nothing is limited.
    public var isEmpty: Bool {
        self.models == nil && self.maxConcurrent == nil && self.tokenQuotas.isEmpty && self.priority == nil
    }

    /// Whether `model` is one of the allowed models.
    public func allows(model: String) -> Bool {
        self.models?.contains { $0.matches(model) } ?? true
    }

    /// Why a limits field cannot be used.
    public struct Problem: Error, CustomStringConvertible, Sendable, Equatable {
        public let description: String
    }

    /// Parses `name=value` fields (``fields``'s format).
    public init(fields: some Sequence<some StringProtocol>) throws(Problem) {
        self.init()
        var seen = Set<String>()
        for field in fields {
            guard let equals = field.firstIndex(of: "="), equals != field.startIndex else {
                throw Problem(description: "'\(field)' is not a name=value limit")
            }
            let name = String(field[..<equals])
            let value = String(field[field.index(after: equals)...])
            guard seen.insert(name).inserted else { throw Problem(description: "the limit \(name) is given twice") }
            switch name {
            case "models":
                self.models = try Self.models(value)
            case "max_concurrent":
                self.maxConcurrent = try Self.positive(value, name: name)
            case "priority":
                self.priority = try Self.priority(value)
            case _ where TokenQuotaLedger.Window(fieldName: name) != nil:
                self.tokenQuotas[TokenQuotaLedger.Window(fieldName: name)!] = try Self.positive(value, name: name, upTo: 1 << 50)
            default:
                throw Problem(
                    description: "unknown limit '\(name)' (known: models, max_concurrent, tokens_per_minute, tokens_per_day, tokens_per_month, priority)")
            }
        }
    }

    /// The limits as `name=value` fields, in a fixed order; none when empty.
    public var fields: [String] {
        var fields: [String] = []
        if let models { fields.append("models=" + models.map(\.text).joined(separator: ",")) }
        if let maxConcurrent { fields.append("max_concurrent=\(maxConcurrent)") }
        for window in TokenQuotaLedger.Window.allCases {
            if let quota = self.tokenQuotas[window] { fields.append("\(window.fieldName)=\(quota)") }
        }
        if let priority { fields.append("priority=\(priority.rawValue)") }
        return fields
    }

    /// A comma-separated list of model names or globs (`lmgate keys --models`).
    public static func models(_ text: String) throws(Problem) -> [ModelPattern] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        var patterns: [ModelPattern] = []
        for part in parts {
            guard let pattern = ModelPattern(String(part)) else {
                throw Problem(description: "models must be comma-separated model names or globs, without spaces (got '\(text)')")
            }
            patterns.append(pattern)
        }
        return patterns
    }

    /// `high`, `normal` or `low` (`lmgate keys --priority`).
    public static func priority(_ text: String) throws(Problem) -> QueuePriority {
        guard let priority = QueuePriority(rawValue: text) else {
            throw Problem(description: "priority must be high, normal or low (got '\(text)')")
        }
        return priority
    }

    /// A whole number from 1 to `maximum`.
    public static func positive(_ text: String, name: String, upTo maximum: Int = 1_000_000) throws(Problem) -> Int {
        guard let value = Int(text), (1...maximum).contains(value) else {
            throw Problem(description: "\(name) must be a whole number from 1 to \(maximum) (got '\(text)')")
        }
        return value
    }
}
