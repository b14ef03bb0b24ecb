import Foundation
import RegCore

/// Regularity of a deformation from its Jacobian determinant map: the fraction of folded
/// voxels (det J ≤ 0), the range, and the standard deviation of log det J (SDlogJ) over the
/// voxels with det J > 0; all over a mask when one is given.
///
/// ```swift
/// let stats = JacobianStatistics(determinant: warp.jacobianDeterminant, mask: brainMask)
/// print(stats.foldedFraction, stats.sdLogJ)
/// ```
public struct JacobianStatistics: Equatable, Sendable, Codable {
    public var voxels: Int
    public var folded: Int
    public var foldedFraction: Double
    public var minimum: Double
    public var maximum: Double
    public var meanLogJ: Double
    public var sdLogJ: Double

    /// Over all voxels, or those where `mask` is non-zero. Chunks of voxels are summed in
    /// parallel and combined in a fixed order, so the result is the same for any thread count.
    public init(determinant: Image<Float>, mask: Image<UInt8>? = nil) {
        let n = determinant.voxels.count
        if let mask { precondition(mask.voxels.count == n, "a mask of \(mask.voxels.count) voxels for \(n) determinants") }
        let sums = determinant.voxels.withUnsafeBufferPointer { d in
            (mask?.voxels ?? []).withUnsafeBufferPointer { m in
                let (values, inside) = (UnsafeSendable(d), UnsafeSendable(m))
                return parallelReduce(count: n, chunkSize: 1 << 16, initial: Sums(), combine: { $0.merged($1) }) { range in
                    var part = Sums()
                    for i in range where inside.value.isEmpty || inside.value[i] != 0 { part.add(Double(values.value[i])) }
                    return part
                }
            }
        }
        voxels = sums.count
        folded = sums.folded
        foldedFraction = sums.count > 0 ? Double(sums.folded) / Double(sums.count) : 0
        minimum = sums.count > 0 ? sums.lowest : 1
        maximum = sums.count > 0 ? sums.highest : 1
        let positive = sums.count - sums.folded
        let mean = positive > 0 ? sums.logs / Double(positive) : 0
        meanLogJ = mean
        sdLogJ = positive > 1 ? max(0, sums.squaredLogs / Double(positive) - mean * mean).squareRoot() : 0
    }

    /// Counts, range and sums of log det J over some voxels.
    struct Sums {
        var count = 0, folded = 0
        var lowest = Double.infinity, highest = -Double.infinity
        var logs = 0.0, squaredLogs = 0.0

        mutating func add(_ d: Double) {
            count &+= 1
            lowest = min(lowest, d); highest = max(highest, d)
            if d <= 0 { folded &+= 1; return }
            let l = log(d)
            logs += l; squaredLogs += l * l
        }

        func merged(_ other: Sums) -> Sums {
            Sums(count: count + other.count, folded: folded + other.folded, lowest: min(lowest, other.lowest),
                 highest: max(highest, other.highest), logs: logs + other.logs, squaredLogs: squaredLogs + other.squaredLogs)
        }
    }
}
