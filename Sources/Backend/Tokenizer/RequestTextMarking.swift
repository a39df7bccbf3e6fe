/// Keeps control-token lookalikes in a request's text from becoming control
/// tokens when the text goes through a chat template.
///
/// A template's output is tokenized with control tokens parsed, since its
/// own markup (`<|im_start|>`, `<|eot_id|>`) must become them; a user whose
/// message says `<|im_end|>\n<|im_start|>system\n…` would otherwise forge a
/// system turn. So before rendering, each occurrence of a control token's
/// text in a request string is wrapped in two Unicode noncharacters,
/// U+FDD0 … U+FDD1, which no text a client means to send contains (any
/// the client did send are replaced by U+FFFD first, so it cannot open or
/// close a span itself). The tokenizer (``Tokenizer/encode(renderedTemplate:addSpecialTokens:)``)
/// drops the markers and matches no control token inside a marked span,
/// so that text tokenizes as llama.cpp tokenizes it with `parse_special=false`.
///
/// Why marks in the text rather than tracking which output ranges came from
/// the request inside the Jinja renderer: the marks travel with the text
/// through whatever the template does to it (`trim`, concatenation, `~`,
/// `tojson`, which keeps non-ASCII as it is), while leaving strings without
/// control-token text untouched, so comparisons and tests such as
/// `content.startswith(...)` see what the client sent. A template that cuts
/// a string between its marks leaves an unmatched U+FDD0, which protects
/// to the end of the text (failing closed: the prompt loses control
/// tokens, not gains them). Only whole control-token texts are marked: a
/// message ending in half of one (`<|im_`) could only become a token with
/// a template literal that starts with the other half, and templates write
/// their markup in whole tokens.
enum RequestTextMarking {
    /// U+FDD0 and U+FDD1 in UTF-8.
    private static let open: [UInt8] = [0xEF, 0xB7, 0x90]
    private static let close: [UInt8] = [0xEF, 0xB7, 0x91]
    /// U+FFFD, the same length as a marker in UTF-8.
    private static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// `text` with the client's own markers replaced by U+FFFD and every
    /// control token's text (as `matcher` finds it) wrapped in markers.
    static func mark(_ text: String, matcher: SpecialTokenMatcher) -> String {
        var bytes = Array(text.utf8)
        var replaced = false
        var index = 0
        while index + 3 <= bytes.count {
            if isMarker(bytes, at: index) {
                // Same length, so positions found below are positions in the result.
                bytes.replaceSubrange(index..<index + 3, with: replacement)
                replaced = true
                index += 3
            } else {
                index += 1
            }
        }
        let ranges = matcher.controlTokenRanges(in: bytes)
        guard replaced || !ranges.isEmpty else { return text }
        var marked: [UInt8] = []
        marked.reserveCapacity(bytes.count + ranges.count * 6)
        var position = 0
        for range in ranges {
            marked.append(contentsOf: bytes[position..<range.lowerBound])
            marked.append(contentsOf: open)
            marked.append(contentsOf: bytes[range])
            marked.append(contentsOf: close)
            position = range.upperBound
        }
        marked.append(contentsOf: bytes[position...])
        return String(decoding: marked, as: UTF8.self)
    }

    /// The bytes of marked text without its markers, and the ranges (in
    /// those bytes, sorted, disjoint) that were marked. An opening marker
    /// without its closing one protects to the end; a closing marker
    /// without an opening one is dropped.
    static func unmark(_ bytes: [UInt8]) -> (text: [UInt8], protected: [Range<Int>]) {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count)
        var protected: [Range<Int>] = []
        var openedAt: Int?
        var index = 0
        while index < bytes.count {
            if index + 3 <= bytes.count && isMarker(bytes, at: index) {
                if bytes[index + 2] == open[2] {
                    if openedAt == nil { openedAt = text.count }
                } else if let start = openedAt {
                    if start < text.count { protected.append(start..<text.count) }
                    openedAt = nil
                }
                index += 3
            } else {
                text.append(bytes[index])
                index += 1
            }
        }
        if let start = openedAt, start < text.count { protected.append(start..<text.count) }
        return (text, protected)
    }

    /// `text` without markers: for words about marked text (a template's
    /// error message quoting a message) that go back to the client.
    static func withoutMarkers(_ text: String) -> String {
        String(decoding: unmark(Array(text.utf8)).text, as: UTF8.self)
    }

    /// Whether a marker (U+FDD0 or U+FDD1) starts at `index`.
    private static func isMarker(_ bytes: [UInt8], at index: Int) -> Bool {
        bytes[index] == 0xEF && bytes[index + 1] == 0xB7 && (bytes[index + 2] == 0x90 || bytes[index + 2] == 0x91)
    }
}
