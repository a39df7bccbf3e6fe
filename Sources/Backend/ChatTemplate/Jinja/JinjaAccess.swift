/// `value.name`, `value[index]` and `value[start:stop:step]`, as Jinja
/// resolves them: an attribute is a method of the value if it has one of
/// that name, else an item; an item is an entry, else a method; anything
/// missing is undefined, and only looking inside undefined itself fails.
enum JinjaAccess {
    static func attribute(_ name: String, of value: JinjaValue) throws(JinjaError) -> JinjaValue {
        switch value {
        case .undefined(let missing):
            throw JinjaError("'\(missing)' is undefined (reading its attribute '\(name)')")
        case .dictionary(let dictionary):
            if JinjaMethods.has(name, on: value) { return .function(.method(value, name)) }
            return dictionary[name] ?? .undefined(name)
        case .namespace(let namespace):
            return namespace.attributes[name] ?? .undefined(name)
        case .loop(let loop):
            return loop.attribute(name) ?? .undefined(name)
        default:
            if JinjaMethods.has(name, on: value) { return .function(.method(value, name)) }
            return .undefined(name)
        }
    }

    static func item(_ index: JinjaValue, of value: JinjaValue) throws(JinjaError) -> JinjaValue {
        switch value {
        case .undefined(let missing):
            throw JinjaError("'\(missing)' is undefined (reading its item \(index.representation))")
        case .dictionary(let dictionary):
            if let found = dictionary[index] { return found }
        case .namespace(let namespace):
            if let found = namespace.attributes[index] { return found }
        case .loop(let loop):
            if case .string(let name) = index, let found = loop.attribute(name) { return found }
        case .list(let items), .tuple(let items):
            if let position = index.integer, let found = element(items, at: position) { return found }
        case .string(let text):
            if let position = index.integer, let found = element(Array(text.unicodeScalars), at: position) {
                return .string(String(found))
            }
        default:
            break
        }
        if case .string(let name) = index, JinjaMethods.has(name, on: value) {
            return .function(.method(value, name))
        }
        return .undefined(index.text)
    }

    /// Python indexing: negative positions count from the end.
    private static func element<T>(_ items: [T], at position: Int) -> T? {
        let index = position < 0 ? items.count + position : position
        return items.indices.contains(index) ? items[index] : nil
    }

    static func slice(
        _ value: JinjaValue, start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?
    ) throws(JinjaError) -> JinjaValue {
        func bound(_ value: JinjaValue?) throws(JinjaError) -> Int? {
            guard let value else { return nil }
            switch value {
            case .none, .undefined: return nil
            default:
                guard let integer = value.integer else { throw JinjaError("slice indices must be integers or none") }
                return integer
            }
        }
        let stride = try bound(step) ?? 1
        guard stride != 0 else { throw JinjaError("slice step cannot be zero") }
        switch value {
        case .list(let items):
            return .list(indices(count: items.count, try bound(start), try bound(stop), stride).map { items[$0] })
        case .tuple(let items):
            return .tuple(indices(count: items.count, try bound(start), try bound(stop), stride).map { items[$0] })
        case .string(let text):
            let scalars = Array(text.unicodeScalars)
            var result = String.UnicodeScalarView()
            for index in indices(count: scalars.count, try bound(start), try bound(stop), stride) { result.append(scalars[index]) }
            return .string(String(result))
        case .undefined(let missing):
            throw JinjaError("'\(missing)' is undefined (slicing it)")
        default:
            throw JinjaError("'\(value.typeName)' object cannot be sliced")
        }
    }

    /// The positions `sequence[start:stop:step]` takes, as Python's `slice.indices`.
    static func indices(count: Int, _ start: Int?, _ stop: Int?, _ step: Int) -> [Int] {
        func clamp(_ value: Int, low: Int, high: Int) -> Int {
            let adjusted = value < 0 ? value + count : value
            return min(max(adjusted, low), high)
        }
        var result: [Int] = []
        if step > 0 {
            var index = start.map { clamp($0, low: 0, high: count) } ?? 0
            let end = stop.map { clamp($0, low: 0, high: count) } ?? count
            while index < end {
                result.append(index)
                let (next, overflowed) = index.addingReportingOverflow(step)
                if overflowed { break }
                index = next
            }
        } else {
            var index = start.map { clamp($0, low: -1, high: count - 1) } ?? count - 1
            let end = stop.map { clamp($0, low: -1, high: count - 1) } ?? -1
            while index > end {
                result.append(index)
                let (next, overflowed) = index.addingReportingOverflow(step)
                if overflowed { break }
                index = next
            }
        }
        return result
    }
}
