import ArgumentParser
import Foundation
import RegMethods

/// `--quiet`, `--verbose` and `--log-json`.
struct LogOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "No progress output; errors only.") var quiet = false
    @Flag(help: "A line for every iteration, not only for every level.") var verbose = false
    @Flag(name: .customLong("log-json"), help: "Progress as one JSON object per line on standard error, for pipelines.")
    var logJSON = false

    func validate() throws {
        guard [quiet, verbose, logJSON].filter({ $0 }).count <= 1 else {
            throw ValidationError("choose one of --quiet, --verbose and --log-json")
        }
    }
}

/// Shows registration progress on standard error: a one-line bar redrawn in place when it is a
/// terminal (stage, level, iteration, metric, elapsed time and the level's estimated time left),
/// a line per level otherwise, a line per iteration with `--verbose`, JSON lines with `--log-json`.
final class ProgressDisplay: @unchecked Sendable {
    enum Mode { case bar, lines, verbose, quiet, json }

    let mode: Mode
    private let lock = NSLock()
    private let start = Date()
    private var levelStart = Date()
    private var levelKey = ""
    private var lastDraw = Date.distantPast
    private var barShown = false

    init(_ options: LogOptions) {
        mode = options.quiet ? .quiet : options.logJSON ? .json : options.verbose ? .verbose : isatty(2) != 0 ? .bar : .lines
    }

    var handler: ProgressHandler { { [self] event in self.handle(event) } }

    func handle(_ event: ProgressEvent) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date(), key = "\(event.stage) \(event.level)"
        if key != levelKey { levelKey = key; levelStart = now }
        let elapsed = now.timeIntervalSince(start)
        switch (mode, event.kind) {
        case (.quiet, _), (.lines, .iteration), (.bar, .done), (.lines, .done), (.verbose, .done):
            return
        case (.json, _):
            struct Line: Encodable { let event: ProgressEvent; let elapsed: Double }
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            if let data = try? encoder.encode(Line(event: event, elapsed: (elapsed * 1000).rounded() / 1000)) {
                write(String(decoding: data, as: UTF8.self) + "\n")
            }
        case (.bar, .iteration):
            guard now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            let levelTime = now.timeIntervalSince(levelStart)
            let left = levelTime / Double(max(1, event.iteration)) * Double(max(0, event.iterations - event.iteration))
            write("\r\u{1B}[K" + String(format: "%@ level %d/%d  iteration %d/%d  metric %.5g  %.1f s  level ETA %.0f s",
                                        event.stage, event.level, event.levels, event.iteration, event.iterations,
                                        event.value, elapsed, left))
            barShown = true
        case (.verbose, .iteration):
            write(String(format: "%@ level %d/%d iteration %d: %.6g (%.2f s)\n", event.stage, event.level, event.levels,
                         event.iteration, event.value, elapsed))
        case (_, .level):
            clearBar()
            write((event.message ?? "") + "\n")
        }
    }

    /// Removes the bar, so that what follows starts on a clean line.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        clearBar()
    }

    private func clearBar() {
        if barShown { write("\r\u{1B}[K"); barShown = false }
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
