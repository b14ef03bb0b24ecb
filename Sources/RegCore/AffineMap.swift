/// A linear map of physical points, `y = matrix · x + translation` (LPS mm).
///
/// Every rigid, similarity and affine transform reduces to one; transform files and the
/// resampler exchange them.
///
/// ```swift
/// let shift = AffineMap(translation: SIMD3(2, 0, -1))
/// let turn = AffineMap(matrix: .rotation(axis: 2, angle: 0.1))
/// let both = turn.then(shift)                 // shift(turn(x))
/// let back = both.inverse!.apply(both.apply(SIMD3(1, 2, 3)))   // ≈ (1, 2, 3)
/// ```
public struct AffineMap: Equatable, Sendable, Codable, CustomStringConvertible {
    public var matrix: Matrix3
    public var translation: SIMD3<Double>

    public init(matrix: Matrix3 = .identity, translation: SIMD3<Double> = .zero) {
        self.matrix = matrix
        self.translation = translation
    }

    public static let identity = AffineMap()

    /// The map `x ↦ matrix · (x − center) + center + translation`, as ITK parameterises it.
    public init(matrix: Matrix3, translation: SIMD3<Double>, center: SIMD3<Double>) {
        self.init(matrix: matrix, translation: center + translation - matrix * center)
    }

    @inlinable public func apply(_ x: SIMD3<Double>) -> SIMD3<Double> { matrix * x + translation }

    /// `next ∘ self`: first this map, then `next`.
    public func then(_ next: AffineMap) -> AffineMap {
        AffineMap(matrix: next.matrix * matrix, translation: next.matrix * translation + next.translation)
    }

    /// The inverse map, or nil when the matrix is singular or the inverse is not finite (a map
    /// with entries near the limits of `Double`).
    public var inverse: AffineMap? {
        guard let inv = matrix.inverse else { return nil }
        let map = AffineMap(matrix: inv, translation: -(inv * translation))
        let entries = inv.rowMajor + [map.translation.x, map.translation.y, map.translation.z]
        return entries.allSatisfy(\.isFinite) ? map : nil
    }

    /// ITK's `translation` parameter for this map about `center` (`FixedParameters`).
    public func translation(about center: SIMD3<Double>) -> SIMD3<Double> {
        translation + matrix * center - center
    }

    public var description: String { "AffineMap(matrix: \(matrix), translation: \(translation))" }
}
