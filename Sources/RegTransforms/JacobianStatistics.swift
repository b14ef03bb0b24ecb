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

    public init(determinant: Image<Float>, mask: Image<UInt8>? = nil) {
        var count = 0, folded = 0, lo = Double.infinity, hi = -Double.infinity
        var sum = 0.0, sumSquares = 0.0, positive = 0
        let inside = mask?.voxels ?? []
        for (i, v) in determinant.voxels.enumerated() where inside.isEmpty || inside[i] != 0 {
            let d = Double(v)
            count += 1
            lo = min(lo, d); hi = max(hi, d)
            if d <= 0 { folded += 1; continue }
            let l = log(d)
            sum += l; sumSquares += l * l; positive += 1
        }
        voxels = count
        self.folded = folded
        foldedFraction = count > 0 ? Double(folded) / Double(count) : 0
        minimum = count > 0 ? lo : 1
        maximum = count > 0 ? hi : 1
        let mean = positive > 0 ? sum / Double(positive) : 0
        meanLogJ = mean
        sdLogJ = positive > 1 ? max(0, sumSquares / Double(positive) - mean * mean).squareRoot() : 0
    }
}
