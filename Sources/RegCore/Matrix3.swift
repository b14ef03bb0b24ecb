/// A 3×3 matrix of `Double`, stored by rows.
///
/// Used for direction cosines and the linear part of affine maps in physical space.
///
/// ```swift
/// let r = Matrix3.rotation(axis: 2, angle: .pi / 6)
/// let p = r * SIMD3<Double>(1, 0, 0)
/// ```
public struct Matrix3: Equatable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var row0: SIMD3<Double>
    public var row1: SIMD3<Double>
    public var row2: SIMD3<Double>

    public init(rows r0: SIMD3<Double>, _ r1: SIMD3<Double>, _ r2: SIMD3<Double>) {
        row0 = r0; row1 = r1; row2 = r2
    }

    public init(columns c0: SIMD3<Double>, _ c1: SIMD3<Double>, _ c2: SIMD3<Double>) {
        row0 = SIMD3(c0.x, c1.x, c2.x)
        row1 = SIMD3(c0.y, c1.y, c2.y)
        row2 = SIMD3(c0.z, c1.z, c2.z)
    }

    /// Row-major entries `[m00, m01, m02, m10, …]`.
    public init(rowMajor m: [Double]) {
        precondition(m.count == 9, "Matrix3 needs 9 entries")
        self.init(rows: SIMD3(m[0], m[1], m[2]), SIMD3(m[3], m[4], m[5]), SIMD3(m[6], m[7], m[8]))
    }

    public static let identity = Matrix3.diagonal(SIMD3(1, 1, 1))

    public static func diagonal(_ d: SIMD3<Double>) -> Matrix3 {
        Matrix3(rows: SIMD3(d.x, 0, 0), SIMD3(0, d.y, 0), SIMD3(0, 0, d.z))
    }

    /// Rotation by `angle` radians about coordinate axis `axis` (0, 1 or 2), right-handed.
    public static func rotation(axis: Int, angle: Double) -> Matrix3 {
        let c = cos(angle), s = sin(angle)
        switch axis {
        case 0: return Matrix3(rows: SIMD3(1, 0, 0), SIMD3(0, c, -s), SIMD3(0, s, c))
        case 1: return Matrix3(rows: SIMD3(c, 0, s), SIMD3(0, 1, 0), SIMD3(-s, 0, c))
        default: return Matrix3(rows: SIMD3(c, -s, 0), SIMD3(s, c, 0), SIMD3(0, 0, 1))
        }
    }

    /// The rotation `Rz(az)·Rx(ax)·Ry(ay)` (radians) of ITK's `Euler3DTransform`.
    public static func rotation(ax: Double, ay: Double, az: Double) -> Matrix3 {
        rotation(axis: 2, angle: az) * rotation(axis: 0, angle: ax) * rotation(axis: 1, angle: ay)
    }

    /// d/dangle of `rotation(axis:angle:)`.
    public static func rotationDerivative(axis: Int, angle: Double) -> Matrix3 {
        let c = cos(angle), s = sin(angle)
        switch axis {
        case 0: return Matrix3(rows: SIMD3(0, 0, 0), SIMD3(0, -s, -c), SIMD3(0, c, -s))
        case 1: return Matrix3(rows: SIMD3(-s, 0, c), SIMD3(0, 0, 0), SIMD3(-c, 0, -s))
        default: return Matrix3(rows: SIMD3(-s, -c, 0), SIMD3(c, -s, 0), SIMD3(0, 0, 0))
        }
    }

    /// The matrix with a single 1 at (`row`, `column`).
    public static func unit(row: Int, column: Int) -> Matrix3 {
        var rows = [SIMD3<Double>](repeating: .zero, count: 3)
        rows[row][column] = 1
        return Matrix3(rows: rows[0], rows[1], rows[2])
    }

    /// `a bᵀ`.
    public static func outer(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Matrix3 {
        Matrix3(rows: a.x * b, a.y * b, a.z * b)
    }

    /// The sum of the element-wise products (Frobenius inner product).
    public func dot(_ other: Matrix3) -> Double {
        (row0 * other.row0 + row1 * other.row1 + row2 * other.row2).sum()
    }

    public subscript(row: Int, column: Int) -> Double {
        get { self.row(row)[column] }
        set {
            switch row {
            case 0: row0[column] = newValue
            case 1: row1[column] = newValue
            default: row2[column] = newValue
            }
        }
    }

    public func row(_ i: Int) -> SIMD3<Double> { i == 0 ? row0 : (i == 1 ? row1 : row2) }
    public func column(_ j: Int) -> SIMD3<Double> { SIMD3(row0[j], row1[j], row2[j]) }
    public var rowMajor: [Double] { [row0.x, row0.y, row0.z, row1.x, row1.y, row1.z, row2.x, row2.y, row2.z] }

    public var transposed: Matrix3 { Matrix3(columns: row0, row1, row2) }

    public var determinant: Double {
        row0.x * (row1.y * row2.z - row1.z * row2.y)
            - row0.y * (row1.x * row2.z - row1.z * row2.x)
            + row0.z * (row1.x * row2.y - row1.y * row2.x)
    }

    /// The cofactor matrix, `det · (M⁻¹)ᵀ`: the derivative of the determinant with respect to each entry.
    public var cofactors: Matrix3 {
        Matrix3(rows: cross(row1, row2), cross(row2, row0), cross(row0, row1))
    }

    /// The inverse, or `nil` when the matrix is singular.
    public var inverse: Matrix3? {
        let det = determinant
        guard det != 0, det.isFinite else { return nil }
        let c = cofactors
        return Matrix3(columns: c.row0 / det, c.row1 / det, c.row2 / det)
    }

    /// Largest absolute entry of `self − other`.
    public func maxAbsDifference(_ other: Matrix3) -> Double {
        let d0 = (row0 - other.row0).magnitudes, d1 = (row1 - other.row1).magnitudes, d2 = (row2 - other.row2).magnitudes
        return max(d0.max(), d1.max(), d2.max())
    }

    /// The nearest orthogonal matrix (polar decomposition by Newton iteration).
    /// Keeps the sign of the determinant; used to drop shear from a header matrix.
    public var nearestOrthogonal: Matrix3? {
        guard var q = Optional(self), determinant != 0 else { return nil }
        for _ in 0..<100 {
            guard let inv = q.inverse else { return nil }
            let next = (q + inv.transposed) * 0.5
            if next.maxAbsDifference(q) < 1e-15 { return next }
            q = next
        }
        return q
    }

    public var description: String {
        "[[\(row0.x), \(row0.y), \(row0.z)], [\(row1.x), \(row1.y), \(row1.z)], [\(row2.x), \(row2.y), \(row2.z)]]"
    }

    public static func * (a: Matrix3, b: Matrix3) -> Matrix3 {
        let bt = b.transposed
        return Matrix3(
            rows: SIMD3((a.row0 * bt.row0).sum(), (a.row0 * bt.row1).sum(), (a.row0 * bt.row2).sum()),
            SIMD3((a.row1 * bt.row0).sum(), (a.row1 * bt.row1).sum(), (a.row1 * bt.row2).sum()),
            SIMD3((a.row2 * bt.row0).sum(), (a.row2 * bt.row1).sum(), (a.row2 * bt.row2).sum()))
    }

    public static func * (a: Matrix3, v: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3((a.row0 * v).sum(), (a.row1 * v).sum(), (a.row2 * v).sum())
    }

    public static func * (a: Matrix3, s: Double) -> Matrix3 { Matrix3(rows: a.row0 * s, a.row1 * s, a.row2 * s) }
    public static func + (a: Matrix3, b: Matrix3) -> Matrix3 { Matrix3(rows: a.row0 + b.row0, a.row1 + b.row1, a.row2 + b.row2) }
    public static func - (a: Matrix3, b: Matrix3) -> Matrix3 { Matrix3(rows: a.row0 - b.row0, a.row1 - b.row1, a.row2 - b.row2) }
}

extension SIMD3 where Scalar == Double {
    /// Component-wise absolute values.
    @inlinable public var magnitudes: SIMD3<Double> { SIMD3(Swift.abs(x), Swift.abs(y), Swift.abs(z)) }
    /// Euclidean length.
    @inlinable public var length: Double { (self * self).sum().squareRoot() }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always) func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}
