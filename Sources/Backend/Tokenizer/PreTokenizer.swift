/// Splits text into the words byte-level BPE merges within.
///
/// Each ``PreTokenizerKind`` stands for a regular expression from the model's
/// Hugging Face tokenizer (quoted at each scanner below); the text is cut into
/// its successive matches, and any text between matches becomes a word of its
/// own. The expressions are implemented as hand-written scanners over Unicode
/// scalars rather than with `Regex`: they run in one pass without
/// backtracking, and each rule's effect is visible in the code.
struct PreTokenizer: Sendable {
    let kind: PreTokenizerKind

    /// The words of `text`, as byte ranges of `text`, in order and covering it.
    func split(_ text: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        let scalars = ScalarText(text)
        var words: [Range<Int>] = []
        let all = 0..<scalars.count
        switch kind {
        case .llama3:
            scanLlama3(scalars, all, .llama3) { words.append($0) }
        case .qwen2:
            scanLlama3(scalars, all, .qwen2) { words.append($0) }
        case .tekken:
            scanLlama3(scalars, all, .tekken) { words.append($0) }
        case .gpt2:
            scanGPT2(scalars, all) { words.append($0) }
        case .smollm:
            splitSmolLM(scalars, all) { words.append($0) }
        case .default:
            splitDefault(scalars, all) { words.append($0) }
        }
        return words.map { scalars.byteOffsets[$0.lowerBound]..<scalars.byteOffsets[$0.upperBound] }
    }

    // MARK: - GPT-2

    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    private func scanGPT2(_ text: ScalarText, _ range: Range<Int>, emit: (Range<Int>) -> Void) {
        let end = range.upperBound
        var position = range.lowerBound
        while position < end {
            let start = position
            if let length = text.contraction(at: position, end: end, caseInsensitive: false) {
                position += length
                emit(start..<position)
                continue
            }
            // ` ?X+`: a literal space may lead a run of letters, numbers or other symbols.
            let spaceLed = text[position] == " " && position + 1 < end
            let first = spaceLed ? position + 1 : position
            let firstClass = text.classes[first]
            if firstClass.contains(.letter) || firstClass.contains(.number) {
                let runClass: CharacterClass = firstClass.contains(.letter) ? .letter : .number
                position = first
                while position < end && text.classes[position].contains(runClass) { position += 1 }
                emit(start..<position)
                continue
            }
            if firstClass.isDisjoint(with: [.whitespace, .letter, .number]) {
                position = first
                while position < end && text.classes[position].isDisjoint(with: [.whitespace, .letter, .number]) {
                    position += 1
                }
                emit(start..<position)
                continue
            }
            position = text.whitespaceRunEnd(from: position, end: end)
            emit(start..<position)
        }
    }

    // MARK: - SmolLM

    /// llama.cpp applies `\p{N}` and then, to the text between, the GPT-2
    /// expression without its final `|\s+` (whitespace that expression leaves
    /// unmatched becomes a word of its own, as with `\s+`, so the GPT-2
    /// scanner serves). Hugging Face's SmolLM tokenizers say the same as a
    /// `Digits(individual_digits)` split before the byte-level one.
    private func splitSmolLM(_ text: ScalarText, _ range: Range<Int>, emit: (Range<Int>) -> Void) {
        Self.splitRuns(range, emit: { run in
            if text.classes[run.lowerBound].contains(.number) {
                for position in run { emit(position..<position + 1) }
            } else {
                scanGPT2(text, run, emit: emit)
            }
        }) { text.classes[$0].contains(.number) }
    }

    // MARK: - Llama 3, Qwen 2 and Tekken

    /// What sets apart the expressions that share Llama 3's shape.
    struct Llama3Rules {
        /// Whether the expression starts with `(?i:'s|'t|'re|'ve|'m|'ll|'d)`.
        var contractions: Bool
        /// Whether letter runs break where the case changes (Tekken) rather
        /// than running on over every letter.
        var splitsCamelCase: Bool
        /// The `N` of `\p{N}{1,N}`.
        var maximumDigits: Int
        /// Whether `/` joins the line breaks that may end a symbol run.
        var slashEndsSymbols: Bool

        /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
        static let llama3 = Llama3Rules(
            contractions: true, splitsCamelCase: false, maximumDigits: 3, slashEndsSymbols: false)
        /// Llama 3's expression with `\p{N}` for `\p{N}{1,3}`.
        static let qwen2 = Llama3Rules(
            contractions: true, splitsCamelCase: false, maximumDigits: 1, slashEndsSymbols: false)
        /// Mistral's Tekken, as llama.cpp rewrites it for `std::regex`:
        /// `[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
        /// The model's own expression tests `\p{Lu}`/`\p{Ll}` and takes in
        /// `\p{M}`; llama.cpp's rewrite (whose tokens lmgate must equal) knows
        /// case only for ASCII and leaves marks out of words, and so does this.
        static let tekken = Llama3Rules(
            contractions: false, splitsCamelCase: true, maximumDigits: 1, slashEndsSymbols: true)
    }

    private func scanLlama3(
        _ text: ScalarText, _ range: Range<Int>, _ rules: Llama3Rules, emit: (Range<Int>) -> Void
    ) {
        let end = range.upperBound
        var position = range.lowerBound
        while position < end {
            let start = position
            let scalar = text[position]
            let scalarClass = text.classes[position]
            if rules.contractions, let length = text.contraction(at: position, end: end, caseInsensitive: true) {
                position += length
                emit(start..<position)
                continue
            }
            // `[^\r\n\p{L}\p{N}]?\p{L}+`: letters, led by at most one character that is none of those.
            let isNewline = scalar == "\r" || scalar == "\n"
            if !isNewline && !scalarClass.contains(.number) {
                let nextIsLetter = position + 1 < end && text.classes[position + 1].contains(.letter)
                if scalarClass.contains(.letter) || nextIsLetter {
                    let lettersStart = scalarClass.contains(.letter) ? position : position + 1
                    if rules.splitsCamelCase {
                        position = text.caseRunEnd(from: lettersStart, end: end)
                    } else {
                        position = lettersStart
                        while position < end && text.classes[position].contains(.letter) { position += 1 }
                    }
                    emit(start..<position)
                    continue
                }
            }
            // `\p{N}{1,maximumDigits}`
            if scalarClass.contains(.number) {
                while position < end && text.classes[position].contains(.number)
                    && position - start < rules.maximumDigits
                {
                    position += 1
                }
                emit(start..<position)
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*` (`[\r\n/]*` for Tekken)
            let spaceLed = scalar == " " && position + 1 < end
            let first = spaceLed ? position + 1 : position
            if text.classes[first].isDisjoint(with: [.whitespace, .letter, .number]) {
                position = first
                while position < end && text.classes[position].isDisjoint(with: [.whitespace, .letter, .number]) {
                    position += 1
                }
                while position < end
                    && (text[position] == "\r" || text[position] == "\n" || (rules.slashEndsSymbols && text[position] == "/"))
                {
                    position += 1
                }
                emit(start..<position)
                continue
            }
            // `\s*[\r\n]+`: whitespace up to and including the last line break of the run.
            var runEnd = position
            var afterLastNewline: Int?
            while runEnd < end && text.classes[runEnd].contains(.whitespace) {
                if text[runEnd] == "\r" || text[runEnd] == "\n" { afterLastNewline = runEnd + 1 }
                runEnd += 1
            }
            if let afterLastNewline {
                position = afterLastNewline
            } else {
                position = text.whitespaceRunEnd(from: position, end: end)
            }
            emit(start..<position)
        }
    }

    // MARK: - Default

    /// llama.cpp's fallback applies four expressions in turn, each to the
    /// words the previous one left: `[\p{P}\$\+<=>\^~\|]+`, the GPT-2
    /// expression, `\p{N}+`, and `[0-9][0-9][0-9]`.
    private func splitDefault(_ text: ScalarText, _ range: Range<Int>, emit: (Range<Int>) -> Void) {
        let symbols: Set<Unicode.Scalar> = ["$", "+", "<", "=", ">", "^", "~", "|"]
        Self.splitRuns(range, emit: { punctuationSplit in
            scanGPT2(text, punctuationSplit) { word in
                Self.splitRuns(word, emit: { numberSplit in
                    Self.splitDigitTriples(text, numberSplit, emit: emit)
                }) { text.classes[$0].contains(.number) }
            }
        }) { text.classes[$0].contains(.punctuation) || symbols.contains(text[$0]) }
    }

    /// Splits `range` into maximal runs of positions that satisfy `inRun` and
    /// the gaps between them.
    private static func splitRuns(
        _ range: Range<Int>, emit: (Range<Int>) -> Void, inRun: (Int) -> Bool
    ) {
        var position = range.lowerBound
        while position < range.upperBound {
            let start = position
            let matching = inRun(position)
            while position < range.upperBound && inRun(position) == matching { position += 1 }
            emit(start..<position)
        }
    }

    /// `[0-9][0-9][0-9]`: leftmost non-overlapping triples of ASCII digits, and the gaps between them.
    private static func splitDigitTriples(_ text: ScalarText, _ range: Range<Int>, emit: (Range<Int>) -> Void) {
        var gapStart = range.lowerBound
        var position = range.lowerBound
        while position + 3 <= range.upperBound {
            if text.isASCIIDigit(position) && text.isASCIIDigit(position + 1) && text.isASCIIDigit(position + 2) {
                if gapStart < position { emit(gapStart..<position) }
                emit(position..<position + 3)
                position += 3
                gapStart = position
            } else {
                position += 1
            }
        }
        if gapStart < range.upperBound { emit(gapStart..<range.upperBound) }
    }
}

/// Text decoded into Unicode scalars with their classes and UTF-8 offsets.
struct ScalarText {
    private(set) var scalars: [Unicode.Scalar] = []
    private(set) var classes: [CharacterClass] = []
    /// The UTF-8 offset of each scalar, plus the total length at the end.
    private(set) var byteOffsets: [Int] = []

    var count: Int { scalars.count }

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        scalars.reserveCapacity(bytes.count)
        classes.reserveCapacity(bytes.count)
        byteOffsets.reserveCapacity(bytes.count + 1)
        var offset = 0
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                append(scalar, at: offset)
                offset += UTF8.width(scalar)
            case .error:
                // Input comes from Swift strings, so this is not reached; a
                // stray byte still advances by one.
                append("\u{FFFD}", at: offset)
                offset += 1
            case .emptyInput:
                break loop
            }
        }
        byteOffsets.append(bytes.count)
    }

    private mutating func append(_ scalar: Unicode.Scalar, at offset: Int) {
        scalars.append(scalar)
        classes.append(CharacterClass.of(scalar))
        byteOffsets.append(offset)
    }

    subscript(position: Int) -> Unicode.Scalar { scalars[position] }

    func isASCIIDigit(_ position: Int) -> Bool {
        ("0"..."9").contains(scalars[position])
    }

    /// The length of `'s|'t|'re|'ve|'m|'ll|'d` at `position`, if it matches there.
    func contraction(at position: Int, end: Int, caseInsensitive: Bool) -> Int? {
        guard scalars[position] == "'", position + 1 < end else { return nil }
        func letter(_ offset: Int) -> Unicode.Scalar? {
            guard position + offset < end else { return nil }
            let scalar = scalars[position + offset]
            // Only ASCII letters take part: `[sS]` etc. in the expressions.
            if caseInsensitive && ("A"..."Z").contains(scalar) {
                return Unicode.Scalar(scalar.value + 32)
            }
            return scalar
        }
        switch (letter(1), letter(2)) {
        case ("s", _), ("t", _), ("m", _), ("d", _): return 2
        case ("r", "e"), ("v", "e"), ("l", "l"): return 3
        default: return nil
        }
    }

    /// The end of Tekken's letter word whose letters start at `position`
    /// (a letter): `U*L+|U+L*` with U a letter other than `a`–`z` and L a
    /// letter other than `A`–`Z` (llama.cpp's reading; letters beyond ASCII
    /// are both). The first alternative backtracks: capitals not followed by
    /// an `a`–`z` give back to the last letter that can close it.
    func caseRunEnd(from position: Int, end: Int) -> Int {
        func isLetter(_ i: Int) -> Bool { classes[i].contains(.letter) }
        func isUpper(_ i: Int) -> Bool { isLetter(i) && !("a"..."z").contains(scalars[i]) }
        func isLower(_ i: Int) -> Bool { isLetter(i) && !("A"..."Z").contains(scalars[i]) }
        var upperEnd = position
        while upperEnd < end && isUpper(upperEnd) { upperEnd += 1 }
        if upperEnd < end && isLower(upperEnd) {
            var lowerEnd = upperEnd
            while lowerEnd < end && isLower(lowerEnd) { lowerEnd += 1 }
            return lowerEnd
        }
        // `U*L+` ends at the last letter of the run that is also L; with none, `U+L*` takes the run.
        if let lastLower = (position..<upperEnd).last(where: isLower) { return lastLower + 1 }
        return upperEnd
    }

    /// The end of `\s+(?!\S)|\s+` starting at `position`: a run of whitespace,
    /// less its last character when a non-space follows (that character then
    /// leads the next word).
    func whitespaceRunEnd(from position: Int, end: Int) -> Int {
        var runEnd = position
        while runEnd < end && classes[runEnd].contains(.whitespace) { runEnd += 1 }
        if runEnd == position { return position + 1 }  // no expression matches: one character alone
        if runEnd - position > 1 && runEnd < end { return runEnd - 1 }
        return runEnd
    }
}
