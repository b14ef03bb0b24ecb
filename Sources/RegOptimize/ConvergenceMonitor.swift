/// Stops an optimisation when the cost has flattened: the least-squares slope of the last
/// `window` values, relative to their mean magnitude, falls below `threshold` (ANTs'
/// `--convergence [iterations, threshold, window]`).
///
/// ```swift
/// var monitor = ConvergenceMonitor(window: 10, threshold: 1e-6)
/// for value in costs where monitor.record(value) { break }   // true once converged
/// ```
public struct ConvergenceMonitor: Equatable, Sendable, Codable {
    public var window: Int
    public var threshold: Double
    var recent: [Double] = []

    public init(window: Int = 10, threshold: Double = 1e-6) {
        self.window = window
        self.threshold = threshold
    }

    public static func == (a: ConvergenceMonitor, b: ConvergenceMonitor) -> Bool {
        a.window == b.window && a.threshold == b.threshold
    }

    enum CodingKeys: String, CodingKey { case window, threshold }

    /// The relative slope of the window, or nil until it is full.
    public var relativeSlope: Double? {
        guard window >= 2, recent.count >= window else { return nil }
        let n = Double(window)
        let xMean = (n - 1) / 2
        let yMean = recent.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0
        for (i, y) in recent.enumerated() {
            let dx = Double(i) - xMean
            sxy += dx * (y - yMean); sxx += dx * dx
        }
        let scale = recent.reduce(0) { max($0, abs($1)) }
        return scale > 0 ? abs(sxy / sxx) / scale : 0
    }

    /// Adds a value; true when the window shows convergence.
    public mutating func record(_ value: Double) -> Bool {
        recent.append(value)
        if recent.count > window { recent.removeFirst(recent.count - window) }
        guard let slope = relativeSlope else { return false }
        return slope < threshold
    }
}
