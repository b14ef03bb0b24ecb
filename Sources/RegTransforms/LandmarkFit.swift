import Foundation
import RegCore

/// Least-squares transforms from corresponding points: Kabsch (rigid), Umeyama (similarity) and
/// the linear least-squares affine, all mapping fixed-space points onto moving-space points.
///
/// ```swift
/// let t = try LandmarkFit.fit(.rigid, dimension: 3, fixed: f.points, moving: m.points)
/// let residual = zip(f.points, m.points).map { (t.map($0) - $1).length }
/// ```
public enum LandmarkFit {
    /// The fewest point pairs that determine each model.
    public static func minimumCount(_ model: LinearModel, dimension: Int) -> Int {
        switch model {
        case .translation: return 1
        case .rigid, .similarity: return dimension == 2 ? 2 : 3
        case .affine: return dimension + 1
        }
    }

    /// The best transform of `model` about the fixed points' centroid (or `center`).
    public static func fit(_ model: LinearModel, dimension: Int, fixed: [SIMD3<Double>], moving: [SIMD3<Double>],
                           center: SIMD3<Double>? = nil) throws -> LinearTransform {
        let needed = minimumCount(model, dimension: dimension)
        guard fixed.count == moving.count else {
            throw RegError.invalidArgument(name: "landmarks", reason: "\(fixed.count) fixed points but \(moving.count) moving points")
        }
        guard fixed.count >= needed else {
            throw RegError.invalidArgument(name: "landmarks",
                                           reason: "a \(dimension)-D \(model.rawValue) fit needs at least \(needed) point pairs, found \(fixed.count)")
        }
        let n = Double(fixed.count)
        let pMean = fixed.reduce(.zero, +) / n, qMean = moving.reduce(.zero, +) / n
        var cross = Matrix3.diagonal(.zero), spread = Matrix3.diagonal(.zero)
        for (p, q) in zip(fixed, moving) {
            cross = cross + Matrix3.outer(q - qMean, p - pMean)
            spread = spread + Matrix3.outer(p - pMean, p - pMean)
        }
        if dimension == 2 {   // keep the z row and column the identity
            cross = Matrix3(rows: SIMD3(cross[0, 0], cross[0, 1], 0), SIMD3(cross[1, 0], cross[1, 1], 0), SIMD3(0, 0, 1))
            spread = Matrix3(rows: SIMD3(spread[0, 0], spread[0, 1], 0), SIMD3(spread[1, 0], spread[1, 1], 0), SIMD3(0, 0, 1))
        }
        let linear: Matrix3
        switch model {
        case .translation:
            linear = .identity
        case .rigid, .similarity:
            let r = try rotation(fromCross: cross, dimension: dimension)
            var scale = 1.0
            if model == .similarity {
                let variance = spread.trace - (dimension == 2 ? 1 : 0)
                scale = ((r.transposed * cross).trace - (dimension == 2 ? 1 : 0)) / variance
            }
            linear = dimension == 2 ? r * scale + LinearTransform.zUnit(1 - scale) : r * scale
        case .affine:
            guard let inv = spread.inverse, abs(spread.determinant) > 1e-9 * pow(max(spread.trace, 1e-12), 3) else {
                throw RegError.invalidArgument(name: "landmarks",
                                               reason: "the fixed points are \(dimension == 3 ? "coplanar" : "collinear"); an affine fit needs them spread out")
            }
            linear = cross * inv
        }
        let map = AffineMap(matrix: linear, translation: qMean - linear * pMean)
        return LinearTransform(model, dimension: dimension, center: center ?? pMean, approximating: map)
    }

    /// The proper rotation `R` maximising `trace(Rᵀ·cross)`: the orthogonal polar factor, with
    /// the axis of least singular value flipped when that factor is a reflection.
    static func rotation(fromCross cross: Matrix3, dimension: Int) throws -> Matrix3 {
        if dimension == 2 {
            return .rotation(axis: 2, angle: atan2(cross[1, 0] - cross[0, 1], cross[0, 0] + cross[1, 1]))
        }
        guard let q = cross.nearestOrthogonal else {
            throw RegError.invalidArgument(name: "landmarks", reason: "the points are collinear; a rotation is not determined")
        }
        guard q.determinant < 0 else { return q }
        let s = q.transposed * cross
        let v = Matrix3(rows: (s.row0 + s.column(0)) * 0.5, (s.row1 + s.column(1)) * 0.5, (s.row2 + s.column(2)) * 0.5)
            .symmetricEigen().vectors.column(0)
        return q * (Matrix3.identity - Matrix3.outer(v, v) * 2)
    }
}
