/// Named physical points (LPS mm), as read from a landmark file.
///
/// ```swift
/// let points = Landmarks(points: [SIMD3(10, -4, 22), SIMD3(-31, 8, 40)], labels: ["AC", "PC"])
/// let paired = try fixedPoints.paired(with: movingPoints)   // match by label, else by order
/// ```
public struct Landmarks: Equatable, Sendable {
    public var points: [SIMD3<Double>]
    /// One label per point; empty strings where the file had none.
    public var labels: [String]

    public init(points: [SIMD3<Double>], labels: [String]? = nil) {
        self.points = points
        self.labels = labels ?? Array(repeating: "", count: points.count)
    }

    public var count: Int { points.count }

    /// Point pairs: matched by label when every point of both sets has a distinct label,
    /// otherwise by order (then both sets must have the same length).
    public func paired(with other: Landmarks) throws -> (Landmarks, Landmarks) {
        let named = { (l: Landmarks) in !l.labels.contains("") && Set(l.labels).count == l.count }
        if named(self), named(other) {
            let index = Dictionary(uniqueKeysWithValues: zip(other.labels, other.points))
            let common = labels.filter { index[$0] != nil }
            guard !common.isEmpty else {
                throw RegError.invalidArgument(name: "landmarks", reason: "the two landmark sets share no label")
            }
            let mine = Dictionary(uniqueKeysWithValues: zip(labels, points))
            return (Landmarks(points: common.map { mine[$0]! }, labels: common),
                    Landmarks(points: common.map { index[$0]! }, labels: common))
        }
        guard count == other.count else {
            throw RegError.invalidArgument(name: "landmarks",
                                           reason: "unlabelled sets must have as many points: \(count) and \(other.count)")
        }
        return (self, other)
    }
}
