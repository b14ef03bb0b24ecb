extension AffineMap {
    /// The map `S` with `S ∘ S = self`: the halfway point of a motion, so that two images related by
    /// `self` can each be resampled by half of it (`S⁻¹` and `S`) into a space that favours neither.
    /// The matrix root is the principal one (Denman–Beavers iteration), which for a rotation by θ
    /// about an axis is the rotation by θ/2 about the same axis; the translation solves
    /// `(√A + I) t_S = t`. Nil when the matrix has no principal root (an eigenvalue on the negative
    /// real axis, such as a half turn or a reflection) or the iteration does not settle.
    ///
    /// ```swift
    /// let motion = AffineMap(matrix: .rotation(axis: 2, angle: 0.2), translation: SIMD3(4, 0, 0))
    /// let half = motion.squareRoot!
    /// half.then(half).apply(SIMD3(1, 2, 3))   // ≈ motion.apply(SIMD3(1, 2, 3))
    /// ```
    public var squareRoot: AffineMap? {
        guard matrix.determinant > 0 else { return nil }
        var y = matrix, z = Matrix3.identity
        for _ in 0..<60 {
            guard let yInverse = y.inverse, let zInverse = z.inverse else { return nil }
            let nextY = (y + zInverse) * 0.5, nextZ = (z + yInverse) * 0.5
            let settled = nextY.maxAbsDifference(y) < 1e-14 * max(1, abs(nextY.determinant))
            (y, z) = (nextY, nextZ)
            if settled { break }
        }
        guard (y * y).maxAbsDifference(matrix) < 1e-9 * max(1, matrix.rowMajor.map(abs).max() ?? 1),
              let solve = (y + .identity).inverse else { return nil }
        let root = AffineMap(matrix: y, translation: solve * translation)
        let entries = root.matrix.rowMajor + [root.translation.x, root.translation.y, root.translation.z]
        return entries.allSatisfy(\.isFinite) ? root : nil
    }
}
