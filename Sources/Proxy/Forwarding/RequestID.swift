/// The `X-Request-ID` that follows a request through the proxy and its upstream.
///
/// A client's own ID is kept when it is 1 to 128 characters of letters,
/// digits, `-`, `_`, `.` or `:`; anything else (which could inject text into
/// logs) is replaced by a fresh random one.
enum RequestID {
    static func isValid(_ value: String) -> Bool {
        guard (1...128).contains(value.utf8.count) else { return false }
        return value.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                UInt8(ascii: "."), UInt8(ascii: ":"):
                return true
            default:
                return false
            }
        }
    }

    /// Makes request IDs: 32 hexadecimal digits from a xoshiro256** generator
    /// seeded once from the system's random source, so a busy connection
    /// does not make a system call per request. IDs need to be unique, not secret.
    struct Generator {
        private var state: (UInt64, UInt64, UInt64, UInt64)

        init() {
            var system = SystemRandomNumberGenerator()
            self.state = (system.next(), system.next(), system.next(), system.next() | 1)
        }

        private mutating func next() -> UInt64 {
            let result = ((self.state.1 &* 5) << 7 | (self.state.1 &* 5) >> 57) &* 9
            let shifted = self.state.1 << 17
            self.state.2 ^= self.state.0
            self.state.3 ^= self.state.1
            self.state.1 ^= self.state.2
            self.state.0 ^= self.state.3
            self.state.2 ^= shifted
            self.state.3 = self.state.3 << 45 | self.state.3 >> 19
            return result
        }

        mutating func generate() -> String {
            let digits: StaticString = "0123456789abcdef"
            let words = (self.next(), self.next())
            return String(unsafeUninitializedCapacity: 32) { buffer in
                digits.withUTF8Buffer { digits in
                    for (offset, word) in [words.0, words.1].enumerated() {
                        var word = word
                        for index in 0..<16 {
                            buffer[offset * 16 + index] = digits[Int(word & 0xF)]
                            word >>= 4
                        }
                    }
                }
                return 32
            }
        }
    }
}
