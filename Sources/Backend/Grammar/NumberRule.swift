/// The numbers a number node allows.
///
/// Bounds are kept on the integer part (exact, in `Int64`); a fraction is
/// allowed only after an integer part whose every continuation stays in
/// bounds, and exponents only when there are no bounds at all. This is sound
/// (every accepted number is within the schema's bounds) at the price of
/// some valid numbers (`0.25` under `maximum: 0.5`) never being produced.
struct NumberRule: Sendable {
    /// Whether a fraction or exponent may be written at all (`number`, not `integer`).
    let allowsFraction: Bool
    /// The smallest and largest integer part.
    let lowest: Int64
    let highest: Int64
    /// The real bounds a number with a fraction must stay inside (inclusive
    /// or exclusive makes no difference to the test used: see ``NumberFrame``).
    let lowerBound: Double
    let upperBound: Double

    /// Whether the schema gave any bound.
    var isBounded: Bool { lowerBound > -.infinity || upperBound < .infinity }

    /// The largest magnitude of integer part written (18 digits keeps every value in `Int64`).
    static let largestMagnitude: Int64 = 999_999_999_999_999_999
}
