import RegCore

/// The change in volume of a region between two time points, from the determinant of the
/// Jacobian of the deformation that carries baseline points to follow-up points: a region of
/// baseline volume `V` has follow-up volume `∫ det J dV` over it, on the grid where det J lives
/// (the halfway space of `swiftreg longitudinal`).
///
/// ```swift
/// let detJ = warp.jacobianDeterminant                       // baseline → follow-up, on the halfway grid
/// let brain = try VolumeChange(determinant: detJ, mask: brainMask)
/// print(brain.percentVolumeChange)                           // e.g. −0.98
/// let structures = try VolumeChange.perLabel(determinant: detJ, labels: segmentation)
/// ```
public struct VolumeChange: Sendable, Codable, Equatable {
    /// Voxels in the region on the baseline grid.
    public var voxels: Int
    /// mm³ (mm² on a 2-D grid) at baseline and at follow-up.
    public var baselineVolume: Double
    public var followupVolume: Double
    /// 100 · (follow-up − baseline) / baseline.
    public var percentVolumeChange: Double

    public init(voxels: Int, baselineVolume: Double, followupVolume: Double) {
        self.voxels = voxels
        self.baselineVolume = baselineVolume
        self.followupVolume = followupVolume
        percentVolumeChange = baselineVolume > 0 ? 100 * (followupVolume / baselineVolume - 1) : 0
    }

    /// The change of the voxels where `mask` is non-zero.
    /// - Throws: `geometryMismatch` when the two are not on one grid, `invalidArgument` for an
    ///   empty mask or a det J that is not finite and positive inside it.
    public init(determinant: Image<Float>, mask: Image<UInt8>) throws {
        try Self.checkGrids(determinant.geometry, mask.geometry, what: "mask")
        var count = 0, sum = 0.0
        for (j, m) in zip(determinant.voxels, mask.voxels) where m != 0 {
            count += 1
            sum += Double(j)
        }
        guard count > 0 else { throw RegError.invalidArgument(name: "mask", reason: "is empty: there is no region whose volume could change") }
        guard sum.isFinite, sum > 0 else { throw RegError.invalidArgument(name: "det J", reason: "is not finite and positive inside the mask") }
        let v = mask.geometry.voxelVolume
        self.init(voxels: count, baselineVolume: Double(count) * v, followupVolume: sum * v)
    }

    /// The change of every non-zero label of `labels` (a baseline segmentation on det J's grid).
    public static func perLabel(determinant: Image<Float>, labels: Image<Int32>) throws -> [Int32: VolumeChange] {
        try checkGrids(determinant.geometry, labels.geometry, what: "label map")
        var counts: [Int32: Int] = [:], sums: [Int32: Double] = [:]
        for (j, l) in zip(determinant.voxels, labels.voxels) where l != 0 {
            counts[l, default: 0] += 1
            sums[l, default: 0] += Double(j)
        }
        let v = labels.geometry.voxelVolume
        return counts.reduce(into: [:]) { out, entry in
            out[entry.key] = VolumeChange(voxels: entry.value, baselineVolume: Double(entry.value) * v, followupVolume: sums[entry.key]! * v)
        }
    }

    static func checkGrids(_ a: Geometry, _ b: Geometry, what: String) throws {
        guard a.sameGrid(as: b) else {
            throw RegError.geometryMismatch("the \(what) (\(b.brief)) is not on the deformation's grid (\(a.brief)); carry it there through a transform first")
        }
    }
}
