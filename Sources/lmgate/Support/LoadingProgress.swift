import Foundation

/// How far loading a model's weights has got, on standard error: a
/// percentage redrawn in place on a terminal, or a line at each quarter when
/// the output goes to a log (where carriage returns would make a mess).
final class LoadingProgress {
    private let label: String
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastShown = -1

    init(label: String) {
        self.label = label
    }

    /// Reports `fraction` (0 to 1) done.
    func update(_ fraction: Double) {
        let percent = Int((fraction * 100).rounded(.down))
        if self.isTerminal {
            guard percent != self.lastShown else { return }
            self.write(String(format: "\r%@: %3d%%", self.label, percent) + (percent >= 100 ? "\n" : ""))
        } else {
            guard percent / 25 != self.lastShown / 25 || self.lastShown < 0 else { return }
            self.write("\(self.label): \(percent)%\n")
        }
        self.lastShown = percent
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
