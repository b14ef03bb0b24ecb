import RegCore

/// Agreement of a test label image with a reference label image on the same grid: per label,
/// Dice, Jaccard, volumes and (optionally) HD95, ASSD and the Hausdorff distance in mm.
///
/// ```swift
/// let e = try LabelEvaluation(reference: fixedSeg, test: warpedSeg, labels: [2, 3, 41, 42])
/// for l in e.labels { print(l.id, l.dice, l.hd95 ?? .nan) }
/// print(e.meanDice)
/// ```
public struct LabelEvaluation: Sendable, Codable, Equatable {
    public struct Label: Sendable, Codable, Equatable {
        public var id: Int
        public var name: String?
        public var referenceVoxels: Int
        public var testVoxels: Int
        public var overlapVoxels: Int
        public var dice: Double
        public var jaccard: Double
        /// Volumes in mm³ (mm² for 2-D images).
        public var referenceVolume: Double
        public var testVolume: Double
        /// (test − reference) / reference; nil when the reference lacks the label.
        public var relativeVolumeDifference: Double?
        /// Boundary distances, nil when either image lacks the label or distances were not asked for.
        public var hd95: Double?
        public var assd: Double?
        public var hausdorff: Double?
    }

    public var labels: [Label]
    /// Requested labels found in neither image: not scored (and not in the means).
    public var absent: [Int]
    public var meanDice: Double
    public var meanJaccard: Double
    /// Means over the labels that have distances; nil when none has.
    public var meanHD95: Double?
    public var meanASSD: Double?

    /// - Parameters:
    ///   - labels: the label ids to score; nil scores every non-zero id found in either image.
    ///     Requested ids found in neither image are listed in `absent` and left out.
    ///   - names: names for the table, by id.
    ///   - distances: compute HD95, ASSD and the Hausdorff distance (the slower part).
    /// - Throws: `RegError.geometryMismatch` when the images are not on one grid,
    ///   `invalidArgument` when none of the requested labels is in either image.
    public init(reference: Image<Int32>, test: Image<Int32>, labels requested: [Int]? = nil,
                names: [Int: String] = [:], distances: Bool = true) throws {
        guard reference.geometry.sameGrid(as: test.geometry) else {
            throw RegError.geometryMismatch("the label images are on different grids (\(reference.geometry.brief) and \(test.geometry.brief)); carry one onto the other's grid through a transform first")
        }
        guard reference.components == 1, test.components == 1 else {
            throw RegError.invalidArgument(name: "labels", reason: "label images must have one component")
        }
        let census = try LabelCensus(reference: reference, test: test)
        let wanted = requested ?? census.present.filter { $0 != 0 }
        let ids = wanted.filter { census.index(of: $0).map { census.reference[$0] + census.test[$0] } ?? 0 > 0 }
        absent = wanted.filter { !ids.contains($0) }
        if wanted.isEmpty {
            throw RegError.invalidArgument(name: "labels", reason: "neither label image holds a non-zero label: there is nothing to score")
        }
        if ids.isEmpty, let first = wanted.first {
            throw RegError.invalidArgument(name: "labels", reason: wanted.count == 1 ? "label \(first) is in neither label image"
                                                                    : "none of the labels \(wanted) is in either label image")
        }
        let voxelVolume = reference.geometry.voxelVolume
        var scored = ids.map { id -> Label in
            let i = census.index(of: id)
            let r = i.map { census.reference[$0] } ?? 0, t = i.map { census.test[$0] } ?? 0, o = i.map { census.both[$0] } ?? 0
            let rv = Double(r) * voxelVolume, tv = Double(t) * voxelVolume
            return Label(id: id, name: names[id], referenceVoxels: r, testVoxels: t, overlapVoxels: o,
                         dice: 2 * Double(o) / Double(r + t),
                         jaccard: Double(o) / Double(r + t - o),
                         referenceVolume: rv, testVolume: tv, relativeVolumeDifference: r > 0 ? (tv - rv) / rv : nil)
        }
        if distances {
            var found = [SurfaceDistance?](repeating: nil, count: ids.count)
            found.withUnsafeMutableBufferPointer { out in
                let box = UnsafeSendable(out)
                parallelFor(count: ids.count) { range in
                    for k in range {
                        guard let i = census.index(of: ids[k]), census.reference[i] > 0, census.test[i] > 0 else { continue }
                        box.value[k] = SurfaceDistance(reference: reference, test: test, label: ids[k],
                                                       low: census.boxLow[i], high: census.boxHigh[i])
                    }
                }
            }
            for (k, d) in found.enumerated() {
                scored[k].hd95 = d?.hd95
                scored[k].assd = d?.assd
                scored[k].hausdorff = d?.maximum
            }
        }
        self.labels = scored
        let n = Double(max(1, scored.count))
        meanDice = scored.reduce(0) { $0 + $1.dice } / n
        meanJaccard = scored.reduce(0) { $0 + $1.jaccard } / n
        let hd = scored.compactMap(\.hd95), asd = scored.compactMap(\.assd)
        meanHD95 = hd.isEmpty ? nil : hd.reduce(0, +) / Double(hd.count)
        meanASSD = asd.isEmpty ? nil : asd.reduce(0, +) / Double(asd.count)
    }
}
