import Testing

@testable import PrometheusText

/// The exposition text read back by a small parser written here from the
/// format's description (not from the renderer): every line a `# HELP`,
/// `# TYPE` or `name{labels} value`, label values unescaped.
private struct ParsedSample: Equatable {
    var name: String
    var labels: [String: String]
    var value: String
}

private enum ExpositionParser {
    static func samples(_ text: String) throws -> [ParsedSample] {
        var samples: [ParsedSample] = []
        #expect(text.hasSuffix("\n"))
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") { continue }
            samples.append(try self.sample(Array(line.unicodeScalars)))
        }
        return samples
    }

    struct Malformed: Error { let line: String }

    static func sample(_ scalars: [Unicode.Scalar]) throws -> ParsedSample {
        var index = 0
        var name = ""
        while index < scalars.count, scalars[index] != "{", scalars[index] != " " {
            name.unicodeScalars.append(scalars[index])
            index += 1
        }
        var labels: [String: String] = [:]
        if index < scalars.count, scalars[index] == "{" {
            index += 1
            while scalars[index] != "}" {
                var label = ""
                while scalars[index] != "=" {
                    label.unicodeScalars.append(scalars[index])
                    index += 1
                }
                index += 1
                guard scalars[index] == "\"" else { throw Malformed(line: String(String.UnicodeScalarView(scalars))) }
                index += 1
                var value = ""
                while scalars[index] != "\"" {
                    if scalars[index] == "\\" {
                        index += 1
                        switch scalars[index] {
                        case "n": value += "\n"
                        case "\\": value += "\\"
                        case "\"": value += "\""
                        default: throw Malformed(line: String(String.UnicodeScalarView(scalars)))
                        }
                    } else {
                        value.unicodeScalars.append(scalars[index])
                    }
                    index += 1
                }
                index += 1
                labels[label] = value
                if scalars[index] == "," { index += 1 }
            }
            index += 1
        }
        guard index < scalars.count, scalars[index] == " " else { throw Malformed(line: String(String.UnicodeScalarView(scalars))) }
        var value = ""
        value.unicodeScalars.append(contentsOf: scalars[(index + 1)...])
        return ParsedSample(name: name, labels: labels, value: value)
    }
}

@Suite struct PrometheusExpositionTests {
    @Test func labelValuesOfRandomTextReadBackUnchanged() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Unicode.Scalar] = ["a", "Z", "0", " ", "\"", "\\", "\n", "\r", "\t", "{", "}", "=", ",", "é", "😀", "n"]
        for _ in 0..<500 {
            var labels: [(String, String)] = []
            for label in ["status", "upstream", "cpu"].prefix(Int.random(in: 0...3, using: &generator)) {
                var value = ""
                for _ in 0..<Int.random(in: 0...12, using: &generator) {
                    value.unicodeScalars.append(alphabet.randomElement(using: &generator)!)
                }
                labels.append((label, value))
            }
            let count = Int.random(in: 0...1_000_000, using: &generator)
            var exposition = PrometheusExposition()
            exposition.family("lmgate_test_total", type: .counter, help: "A test \\ counter\nover two lines.")
            exposition.sample("lmgate_test_total", labels: labels, value: count)
            // One sample line besides the two comment lines: no value can break a line.
            #expect(exposition.text.split(separator: "\n").count == 3)
            let samples = try ExpositionParser.samples(exposition.text)
            #expect(
                samples == [
                    ParsedSample(
                        name: "lmgate_test_total", labels: Dictionary(uniqueKeysWithValues: labels), value: String(count))
                ])
        }
    }

    @Test func helpAndTypeLines() {
        var exposition = PrometheusExposition()
        exposition.family("lmgate_up", type: .gauge, help: "Back\\slash and\nnewline, \"quotes\" kept.")
        #expect(
            exposition.text == "# HELP lmgate_up Back\\\\slash and\\nnewline, \"quotes\" kept.\n# TYPE lmgate_up gauge\n")
    }

    @Test func histogramBucketsAreCumulativeAndEndWithInfinity() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<100 {
            let bounds = (0..<Int.random(in: 1...8, using: &generator)).map { Double($0 + 1) * 0.25 }
            let counts = bounds.map { _ in Int.random(in: 0...50, using: &generator) }
            let overflow = Int.random(in: 0...50, using: &generator)
            let total = counts.reduce(0, +) + overflow
            var exposition = PrometheusExposition()
            exposition.family("lmgate_seconds", type: .histogram, help: "Latency.")
            exposition.histogram(
                "lmgate_seconds", labels: [("upstream", "http://127.0.0.1:1234")], bounds: bounds, counts: counts,
                sum: 1.5, count: total)
            let samples = try ExpositionParser.samples(exposition.text)
            let buckets = samples.filter { $0.name == "lmgate_seconds_bucket" }
            #expect(buckets.count == bounds.count + 1)
            var running = 0
            for (index, bound) in bounds.enumerated() {
                running += counts[index]
                #expect(buckets[index].labels == ["upstream": "http://127.0.0.1:1234", "le": "\(bound)"])
                #expect(Int(buckets[index].value) == running)
            }
            #expect(buckets.last?.labels["le"] == "+Inf")
            #expect(Int(buckets.last?.value ?? "") == total)
            #expect(samples.first { $0.name == "lmgate_seconds_sum" }?.value == "1.5")
            #expect(samples.first { $0.name == "lmgate_seconds_count" }?.value == String(total))
        }
    }
}
