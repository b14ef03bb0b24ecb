import Foundation
import RegCore

/// Voxel-wise mean and standard deviation of maps on one grid (Welford's running update, in
/// `Double`): the normative model of `swiftreg normative build`, and the z-scores of a new map
/// against it.
///
/// ```swift
/// var model = VoxelStatistics(geometry: atlas.geometry)
/// for map in healthyLogJacobians { try model.add(map) }
/// let z = try VoxelStatistics.zScore(subjectLogJacobian, mean: model.mean, standardDeviation: model.standardDeviation)
/// ```
public struct VoxelStatistics: Sendable {
    public let geometry: Geometry
    public private(set) var count = 0
    private var runningMean: [Double]
    private var squares: [Double]

    public init(geometry: Geometry) {
        self.geometry = geometry
        runningMean = [Double](repeating: 0, count: geometry.voxelCount)
        squares = runningMean
    }

    /// Adds one map.
    /// - Throws: `geometryMismatch` for a map on another grid, `invalidArgument` for a value that is not finite.
    public mutating func add(_ map: Image<Float>) throws {
        guard map.geometry.sameGrid(as: geometry), map.components == 1 else {
            throw RegError.geometryMismatch("a map (\(map.geometry.brief)) is not on the model's grid (\(geometry.brief))")
        }
        if let bad = map.voxels.firstIndex(where: { !$0.isFinite }) {
            throw RegError.invalidArgument(name: "map", reason: "voxel \(bad) is \(map.voxels[bad]); maps must be finite")
        }
        count += 1
        let n = Double(count)
        for i in runningMean.indices {
            let x = Double(map.voxels[i]), delta = x - runningMean[i]
            runningMean[i] += delta / n
            squares[i] += delta * (x - runningMean[i])
        }
    }

    /// The voxel-wise mean.
    public var mean: Image<Float> { try! Image(geometry: geometry, voxels: runningMean.map { Float($0) }) }

    /// The voxel-wise sample standard deviation (n − 1 in the denominator; 0 for fewer than two maps).
    public var standardDeviation: Image<Float> {
        let d = Double(max(count - 1, 1))
        return try! Image(geometry: geometry, voxels: squares.map { count > 1 ? Float(($0 / d).squareRoot()) : 0 })
    }

    /// The z-score of a new observation against `count` normative maps, voxel by voxel: the
    /// prediction t-score `(map − mean) / (max(sd, floor) · √(1 + 1/count))`, which follows Student's
    /// t with `count − 1` degrees of freedom in a healthy subject, turned into the z with the same
    /// tail probability (so |z| > 3 is as rare with 6 healthy subjects as with 600).
    public static func predictionZScore(_ map: Image<Float>, mean: Image<Float>, standardDeviation sd: Image<Float>, count: Int,
                                        floor: Float = 1e-6) throws -> Image<Float> {
        guard count >= 2 else { throw RegError.invalidArgument(name: "count", reason: "a prediction needs at least 2 normative maps, found \(count)") }
        var z = try zScore(map, mean: mean, standardDeviation: sd, floor: floor)
        let scale = (1 + 1 / Double(count)).squareRoot(), nu = Double(count - 1)
        z.voxels.withUnsafeMutableBufferPointer { buffer in
            let values = UnsafeSendable(buffer)
            parallelFor(count: buffer.count, chunkSize: 16384) { range in
                for i in range { values.value[i] = Float(StudentT.equivalentZ(Double(values.value[i]) / scale, degreesOfFreedom: nu)) }
            }
        }
        return z
    }

    /// One z-map from two: `twoSided` (log det J, where growth and loss are both abnormal) and
    /// `oneSided` (the residual, where only a larger one is). Voxel by voxel, q = a² + max(b, 0)²,
    /// whose tail in a healthy subject is ½·P(χ²₁ > q) + ½·P(χ²₂ > q), turned into the z with that
    /// upper tail, or 0 where that tail is above ½ (no evidence): where both maps are raised the
    /// evidence adds up, and z > 3 is as rare in a healthy subject as in one map (the larger of
    /// the two exceeds 3 three times as often).
    ///
    /// ```swift
    /// let z = try VoxelStatistics.combinedZScore(twoSided: zLogJacobian, oneSided: zResidual)
    /// // a = 3, b = 3 → 3.80; a = 3, b = 0 → 2.46; a = 0, b = 4 → 3.54; a = 0, b = 0 → 0
    /// ```
    /// - Throws: `geometryMismatch` when the two maps are not on one grid.
    public static func combinedZScore(twoSided a: Image<Float>, oneSided b: Image<Float>) throws -> Image<Float> {
        guard a.geometry.sameGrid(as: b.geometry) else {
            throw RegError.geometryMismatch("the two z-maps are on different grids (\(a.geometry.brief) and \(b.geometry.brief))")
        }
        var z = a
        z.voxels.withUnsafeMutableBufferPointer { out in
            b.voxels.withUnsafeBufferPointer { one in
                let (values, oneSided) = (UnsafeSendable(out), UnsafeSendable(one))
                parallelFor(count: out.count, chunkSize: 16384) { range in
                    for i in range {
                        let x = Double(values.value[i]), y = max(Double(oneSided.value[i]), 0)
                        values.value[i] = Float(combinedZ(x * x + y * y))
                    }
                }
            }
        }
        return z
    }

    /// The z with upper tail ½·P(χ²₁ > q) + ½·P(χ²₂ > q), at least 0.
    static func combinedZ(_ q: Double) -> Double {
        guard !q.isNaN else { return .nan }
        let p = 0.5 * erfc((q / 2).squareRoot()) + 0.5 * Foundation.exp(-q / 2)
        return p < 0.5 ? StudentT.normalUpperQuantile(p) : 0
    }

    /// `(map − mean) / max(sd, floor)` voxel by voxel.
    /// - Throws: `geometryMismatch` when the three are not on one grid, `invalidArgument` for a floor that is not positive.
    public static func zScore(_ map: Image<Float>, mean: Image<Float>, standardDeviation sd: Image<Float>, floor: Float = 1e-6) throws -> Image<Float> {
        guard map.geometry.sameGrid(as: mean.geometry), sd.geometry.sameGrid(as: mean.geometry) else {
            throw RegError.geometryMismatch("the map (\(map.geometry.brief)) is not on the normative model's grid (\(mean.geometry.brief))")
        }
        guard floor > 0, floor.isFinite else { throw RegError.invalidArgument(name: "floor", reason: "must be positive, found \(floor)") }
        var z = map
        for i in z.voxels.indices { z.voxels[i] = (map.voxels[i] - mean.voxels[i]) / max(sd.voxels[i], floor) }
        return z
    }
}
