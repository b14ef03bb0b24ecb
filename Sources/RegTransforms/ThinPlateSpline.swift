import Foundation
import RegCore

/// The thin-plate spline through corresponding landmarks (Bookstein 1989): the smoothest map
/// (least bending energy) that carries each fixed-space point onto its moving-space point,
/// `T(x) = a + A·x + Σᵢ wᵢ·U(‖x − pᵢ‖)` with `U(r) = r²·log r` in 2-D and `U(r) = r` in 3-D (as
/// ITK's `ThinPlateSplineKernelTransform`). A `stiffness` λ > 0 trades exactness at the
/// landmarks for smoothness (`K + λI`); λ → ∞ gives the least-squares affine.
///
/// ```swift
/// let tps = try ThinPlateSpline(fixed: f.points, moving: m.points, dimension: 3)
/// let y = tps.map(SIMD3(10, -4, 22))
/// let warp = tps.field(on: fixed.geometry)     // a displacement field for `apply -t`
/// ```
public struct ThinPlateSpline: Sendable {
    public let dimension: Int
    public let centers: [SIMD3<Double>]
    /// One weight vector per centre.
    public let weights: [SIMD3<Double>]
    /// `a + A·x`: the affine part.
    public let affine: AffineMap

    public init(fixed: [SIMD3<Double>], moving: [SIMD3<Double>], dimension: Int, stiffness: Double = 0) throws {
        let n = fixed.count, d = dimension
        guard fixed.count == moving.count else {
            throw RegError.invalidArgument(name: "landmarks", reason: "\(fixed.count) fixed points but \(moving.count) moving points")
        }
        guard n >= d + 1 else {
            throw RegError.invalidArgument(name: "landmarks", reason: "a \(d)-D thin-plate spline needs at least \(d + 1) point pairs, found \(n)")
        }
        guard stiffness >= 0 else { throw RegError.invalidArgument(name: "stiffness", reason: "must be ≥ 0, found \(stiffness)") }
        // [K + λI  P; Pᵀ  0]·[w; a] = [q; 0], P's rows (1, x, y[, z]).
        let size = n + d + 1
        var matrix = [Double](repeating: 0, count: size * size)
        for i in 0..<n {
            for j in 0..<n {
                matrix[i * size + j] = i == j ? stiffness : Self.kernel(Self.distance(fixed[i], fixed[j], dimension: d), dimension: d)
            }
            let row = [1] + (0..<d).map { fixed[i][$0] }
            for k in 0...d {
                matrix[i * size + n + k] = row[k]
                matrix[(n + k) * size + i] = row[k]
            }
        }
        var rhs = [[Double]](repeating: [Double](repeating: 0, count: size), count: d)
        for c in 0..<d { for i in 0..<n { rhs[c][i] = moving[i][c] } }
        guard let solution = DenseLinearSystem.solve(matrix, size: size, rightHandSides: rhs) else {
            throw RegError.invalidArgument(name: "landmarks",
                                           reason: "the fixed points are repeated or \(d == 3 ? "coplanar" : "collinear"); a thin-plate spline needs them spread out")
        }
        self.dimension = d
        centers = fixed
        weights = (0..<n).map { i in SIMD3((0..<3).map { c in c < d ? solution[c][i] : 0 }) }
        var rows = [SIMD3<Double>](repeating: .zero, count: 3), translation = SIMD3<Double>.zero
        for c in 0..<3 {
            guard c < d else { rows[c][c] = 1; continue }
            translation[c] = solution[c][n]
            for k in 0..<d { rows[c][k] = solution[c][n + 1 + k] }
        }
        affine = AffineMap(matrix: Matrix3(rows: rows[0], rows[1], rows[2]), translation: translation)
    }

    /// The distance in the image plane (2-D) or in space (3-D).
    @inline(__always) static func distance(_ a: SIMD3<Double>, _ b: SIMD3<Double>, dimension: Int) -> Double {
        var r = a - b
        if dimension == 2 { r.z = 0 }
        return r.length
    }

    /// `U(r)`: `r²·log r` in 2-D, `r` in 3-D.
    @inline(__always) static func kernel(_ r: Double, dimension: Int) -> Double {
        dimension == 2 ? (r > 0 ? r * r * Foundation.log(r) : 0) : r
    }

    /// The moving-space point of a fixed-space point.
    public func map(_ x: SIMD3<Double>) -> SIMD3<Double> {
        var y = affine.apply(x)
        for (p, w) in zip(centers, weights) { y += w * Self.kernel(Self.distance(x, p, dimension: dimension), dimension: dimension) }
        return y
    }

    /// The displacement `T(x) − x` at every voxel of `grid`.
    public func field(on grid: Geometry) -> VectorField {
        VectorField(sampling: grid) { map($0) }
    }
}

/// Gaussian elimination with partial pivoting for small dense systems.
enum DenseLinearSystem {
    /// Solves `A·x = b` for each right-hand side (`A` row-major, `size × size`); nil when `A` is singular.
    static func solve(_ a: [Double], size n: Int, rightHandSides: [[Double]]) -> [[Double]]? {
        var m = a, b = rightHandSides
        let scale = a.reduce(0) { max($0, abs($1)) }
        for col in 0..<n {
            var pivot = col
            for r in col + 1..<max(col + 1, n) where abs(m[r * n + col]) > abs(m[pivot * n + col]) { pivot = r }
            guard abs(m[pivot * n + col]) > 1e-12 * max(scale, 1e-300) else { return nil }
            if pivot != col {
                for k in 0..<n { m.swapAt(col * n + k, pivot * n + k) }
                for i in b.indices { b[i].swapAt(col, pivot) }
            }
            let diagonal = m[col * n + col]
            for r in col + 1..<max(col + 1, n) {
                let f = m[r * n + col] / diagonal
                if f == 0 { continue }
                for k in col..<n { m[r * n + k] -= f * m[col * n + k] }
                for i in b.indices { b[i][r] -= f * b[i][col] }
            }
        }
        for i in b.indices {
            for r in stride(from: n - 1, through: 0, by: -1) {
                var s = b[i][r]
                for k in r + 1..<max(r + 1, n) { s -= m[r * n + k] * b[i][k] }
                b[i][r] = s / m[r * n + r]
            }
        }
        return b
    }
}
