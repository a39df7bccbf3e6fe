/// The key–value metadata of a GGUF file, with typed accessors.
///
/// Each accessor returns `nil` when the key is absent and throws
/// ``GGUFError/Code/metadataTypeMismatch`` when it is present with another
/// type: a wrong type is a broken file, not a missing option. The
/// `required…` forms also throw ``GGUFError/Code/missingMetadata``.
public struct GGUFMetadata: Sendable {
    /// Every key and its value.
    public let values: [String: GGUFValue]

    /// Wraps a dictionary of values.
    public init(_ values: [String: GGUFValue]) {
        self.values = values
    }

    /// The value stored under `key`, if any.
    public subscript(key: String) -> GGUFValue? { values[key] }

    /// A string value.
    public func string(_ key: String) throws(GGUFError) -> String? {
        try read(key, "string") { if case .string(let v) = $0 { v } else { nil } }
    }

    /// An integer of any width, as `Int` (GGUF writers differ in the width they choose).
    public func integer(_ key: String) throws(GGUFError) -> Int? {
        try read(key, "integer") { $0.integer }
    }

    /// An integer that fits in `UInt32`.
    public func uint32(_ key: String) throws(GGUFError) -> UInt32? {
        try read(key, "uint32") { $0.integer.flatMap { UInt32(exactly: $0) } }
    }

    /// A floating-point value (float32 or float64), as `Float`.
    public func float32(_ key: String) throws(GGUFError) -> Float? {
        try read(key, "float32") { $0.float }
    }

    /// A boolean value.
    public func bool(_ key: String) throws(GGUFError) -> Bool? {
        try read(key, "bool") { if case .bool(let v) = $0 { v } else { nil } }
    }

    /// An array of strings.
    public func stringArray(_ key: String) throws(GGUFError) -> [String]? {
        try read(key, "array of string") { if case .array(.string(let v)) = $0 { v } else { nil } }
    }

    /// An array of float32 values.
    public func float32Array(_ key: String) throws(GGUFError) -> [Float]? {
        try read(key, "array of float32") { if case .array(.float32(let v)) = $0 { v } else { nil } }
    }

    /// An array of int32 values (also accepted: any integer array whose values fit).
    public func int32Array(_ key: String) throws(GGUFError) -> [Int32]? {
        try read(key, "array of int32") { value in
            guard case .array(let array) = value else { return nil }
            switch array {
            case .int32(let v): return v
            case .uint32(let v): return Self.convert(v)
            case .int64(let v): return Self.convert(v)
            case .uint64(let v): return Self.convert(v)
            case .int16(let v): return v.map(Int32.init)
            case .uint16(let v): return v.map(Int32.init)
            case .int8(let v): return v.map(Int32.init)
            case .uint8(let v): return v.map(Int32.init)
            default: return nil
            }
        }
    }

    /// The string under `key`, or ``GGUFError/Code/missingMetadata``.
    public func requiredString(_ key: String) throws(GGUFError) -> String {
        try required(key, string(key))
    }

    /// The integer under `key`, or ``GGUFError/Code/missingMetadata``.
    public func requiredInteger(_ key: String) throws(GGUFError) -> Int {
        try required(key, integer(key))
    }

    /// The floating-point value under `key`, or ``GGUFError/Code/missingMetadata``.
    public func requiredFloat32(_ key: String) throws(GGUFError) -> Float {
        try required(key, float32(key))
    }

    private func required<T>(_ key: String, _ value: T?) throws(GGUFError) -> T {
        guard let value else {
            throw GGUFError(.missingMetadata, "metadata key '\(key)' is missing")
        }
        return value
    }

    private func read<T>(_ key: String, _ expected: String, _ extract: (GGUFValue) -> T?) throws(GGUFError) -> T? {
        guard let value = values[key] else { return nil }
        guard let result = extract(value) else {
            throw GGUFError(.metadataTypeMismatch, "metadata key '\(key)' is \(value.typeName), expected \(expected)")
        }
        return result
    }

    private static func convert<S: BinaryInteger>(_ values: [S]) -> [Int32]? {
        var result: [Int32] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let converted = Int32(exactly: value) else { return nil }
            result.append(converted)
        }
        return result
    }
}
