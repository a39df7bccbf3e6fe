/// The element types a GGUF tensor can have, with GGML's numeric identifiers.
///
/// Only the types lmgate computes with have a ``layout``; every other known
/// identifier is named so that an "unsupported" error can say what it met.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q8_1 = 9
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case q8_K = 15
    case iq2_xxs = 16
    case iq2_xs = 17
    case iq3_xxs = 18
    case iq1_s = 19
    case iq4_nl = 20
    case iq3_s = 21
    case iq2_s = 22
    case iq4_xs = 23
    case i8 = 24
    case i16 = 25
    case i32 = 26
    case i64 = 27
    case f64 = 28
    case iq1_m = 29
    case bf16 = 30
    case tq1_0 = 34
    case tq2_0 = 35

    /// How a supported type packs its elements: `elementsPerBlock` elements
    /// are stored in `bytesPerBlock` bytes. A row's length must be a multiple
    /// of `elementsPerBlock`.
    public struct Layout: Sendable, Equatable {
        public let elementsPerBlock: Int
        public let bytesPerBlock: Int
    }

    /// The block layout, or `nil` for a type lmgate does not compute with.
    public var layout: Layout? {
        switch self {
        case .f32: Layout(elementsPerBlock: 1, bytesPerBlock: 4)
        case .f16, .bf16: Layout(elementsPerBlock: 1, bytesPerBlock: 2)
        case .q8_0: Layout(elementsPerBlock: 32, bytesPerBlock: 34)
        case .q4_0: Layout(elementsPerBlock: 32, bytesPerBlock: 18)
        case .q5_0: Layout(elementsPerBlock: 32, bytesPerBlock: 22)
        case .q4_1: Layout(elementsPerBlock: 32, bytesPerBlock: 20)
        case .q5_1: Layout(elementsPerBlock: 32, bytesPerBlock: 24)
        case .q4_K: Layout(elementsPerBlock: 256, bytesPerBlock: 144)
        case .q6_K: Layout(elementsPerBlock: 256, bytesPerBlock: 210)
        case .q5_K: Layout(elementsPerBlock: 256, bytesPerBlock: 176)
        case .q3_K: Layout(elementsPerBlock: 256, bytesPerBlock: 110)
        case .q2_K: Layout(elementsPerBlock: 256, bytesPerBlock: 84)
        case .iq4_nl: Layout(elementsPerBlock: 32, bytesPerBlock: 18)
        case .iq4_xs: Layout(elementsPerBlock: 256, bytesPerBlock: 136)
        default: nil
        }
    }

    /// The name GGML and llama.cpp use for the type (`Q4_K`, `F16`, …).
    public var name: String {
        String(describing: self).uppercased()
    }
}
