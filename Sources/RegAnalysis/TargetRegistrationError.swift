import RegCore

/// Target registration error: the distance between each fixed landmark carried by the
/// registration transform (fixed → moving space) and its moving partner, in mm.
///
/// ```swift
/// let tre = try TargetRegistrationError(fixed: f, moving: m) { chain.map($0) }
/// print(tre.mean, tre.standardDeviation, tre.maximum)
/// ```
public struct TargetRegistrationError: Sendable, Codable, Equatable {
    public struct Point: Sendable, Codable, Equatable {
        public var label: String
        public var error: Double
    }
    public var points: [Point]
    public var mean: Double
    public var standardDeviation: Double
    public var maximum: Double

    /// Pairs the landmarks (by label when all are labelled, else by order) and measures each pair.
    /// - Throws: when the sets cannot be paired (different counts of unlabelled points, no shared label).
    public init(fixed: Landmarks, moving: Landmarks, transform: (SIMD3<Double>) -> SIMD3<Double>) throws {
        let (f, m) = try fixed.paired(with: moving)
        points = zip(zip(f.points, m.points), f.labels).enumerated().map { i, pair in
            let d = transform(pair.0.0) - pair.0.1
            return Point(label: pair.1.isEmpty ? String(i + 1) : pair.1, error: (d * d).sum().squareRoot())
        }
        let errors = points.map(\.error), n = Double(errors.count)
        let average = errors.reduce(0, +) / n
        mean = average
        standardDeviation = (errors.reduce(0) { $0 + ($1 - average) * ($1 - average) } / n).squareRoot()
        maximum = errors.max() ?? 0
    }
}
