import Foundation

/// The global functions chat templates call: Jinja's `range`, `namespace`
/// and `dict`, and what Hugging Face and llama.cpp add, `raise_exception`
/// and `strftime_now`.
enum JinjaGlobals {
    static let names: Set<String> = ["range", "namespace", "dict", "raise_exception", "strftime_now"]

    static func call(_ name: String, _ arguments: JinjaCallArguments, renderer: JinjaRenderer) throws(JinjaError) -> JinjaValue {
        switch name {
        case "range":
            return try range(arguments, renderer: renderer)
        case "namespace", "dict":
            var attributes = JinjaDictionary()
            if let initial = arguments.positional.first {
                guard case .dictionary(let dictionary) = initial else {
                    throw JinjaError("\(name)() takes a mapping and keyword arguments")
                }
                attributes = dictionary
            }
            for (key, value) in arguments.keyword { attributes[.string(key)] = value }
            return name == "dict" ? .dictionary(attributes) : .namespace(JinjaNamespace(attributes))
        case "raise_exception":
            throw JinjaError.raised(arguments.positional.first?.text ?? "raise_exception called")
        case "strftime_now":
            guard case .string(let format)? = arguments.positional.first else {
                throw JinjaError("strftime_now() takes a format string")
            }
            return .string(strftime(format, renderer.now, renderer.timeZone))
        default:
            throw JinjaError("unknown function '\(name)'")
        }
    }

    private static func range(_ arguments: JinjaCallArguments, renderer: JinjaRenderer) throws(JinjaError) -> JinjaValue {
        let bounds = arguments.positional.compactMap(\.integer)
        guard bounds.count == arguments.positional.count, (1...3).contains(bounds.count) else {
            throw JinjaError("range() takes one to three integers")
        }
        let start = bounds.count == 1 ? 0 : bounds[0]
        let stop = bounds.count == 1 ? bounds[0] : bounds[1]
        let step = bounds.count == 3 ? bounds[2] : 1
        guard step != 0 else { throw JinjaError("range() step must not be zero") }
        // Checked arithmetic: extreme bounds are an error, never an overflow trap.
        let (span, overflowed) = step > 0 ? stop.subtractingReportingOverflow(start) : start.subtractingReportingOverflow(stop)
        guard !overflowed, step != .min else { throw JinjaError("range() is too large") }
        let count = span <= 0 ? 0 : (span - 1) / abs(step) + 1
        try renderer.checkItems(count)
        return .list((0..<count).map { .integer(start + $0 * step) })
    }

    private static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
    ]
    private static let dayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    /// C's `strftime` for the directives templates use (`%d %b %Y` …), in
    /// English, as Python and llama.cpp give them in the C locale.
    static func strftime(_ format: String, _ date: Date, _ timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let year = parts.year ?? 1970, month = parts.month ?? 1, day = parts.day ?? 1
        let hour = parts.hour ?? 0, minute = parts.minute ?? 0, second = parts.second ?? 0
        let weekday = (parts.weekday ?? 1) - 1
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var result = ""
        var characters = format.makeIterator()
        while let character = characters.next() {
            guard character == "%", let directive = characters.next() else {
                result.append(character)
                continue
            }
            switch directive {
            case "d": result += two(day)
            case "e": result += day < 10 ? " \(day)" : "\(day)"
            case "m": result += two(month)
            case "Y": result += String(year)
            case "y": result += two(year % 100)
            case "b", "h": result += String(monthNames[month - 1].prefix(3))
            case "B": result += monthNames[month - 1]
            case "a": result += String(dayNames[weekday].prefix(3))
            case "A": result += dayNames[weekday]
            case "H": result += two(hour)
            case "I": result += two(hour % 12 == 0 ? 12 : hour % 12)
            case "p": result += hour < 12 ? "AM" : "PM"
            case "M": result += two(minute)
            case "S": result += two(second)
            case "j":
                let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
                result += dayOfYear < 10 ? "00\(dayOfYear)" : dayOfYear < 100 ? "0\(dayOfYear)" : "\(dayOfYear)"
            case "%": result += "%"
            default: result += "%\(directive)"
            }
        }
        return result
    }
}
