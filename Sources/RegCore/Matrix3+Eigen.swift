extension Matrix3 {
    /// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: eigenvalues in
    /// ascending order and the matching unit eigenvectors as the columns of `vectors`.
    ///
    /// ```swift
    /// let (values, vectors) = covariance.symmetricEigen()
    /// let principalAxis = vectors.column(2)          // largest eigenvalue
    /// ```
    public func symmetricEigen() -> (values: SIMD3<Double>, vectors: Matrix3) {
        var a = [rowMajor[0], rowMajor[1], rowMajor[2], rowMajor[3], rowMajor[4], rowMajor[5], rowMajor[6], rowMajor[7], rowMajor[8]]
        var v: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        for _ in 0..<50 {
            let off = a[1] * a[1] + a[2] * a[2] + a[5] * a[5]
            if off < 1e-30 * max(1, a[0] * a[0] + a[4] * a[4] + a[8] * a[8]) { break }
            for (p, q) in [(0, 1), (0, 2), (1, 2)] where a[p * 3 + q] != 0 {
                let app = a[p * 3 + p], aqq = a[q * 3 + q], apq = a[p * 3 + q]
                let theta = (aqq - app) / (2 * apq)
                let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<3 {   // A ← A·J
                    let akp = a[k * 3 + p], akq = a[k * 3 + q]
                    a[k * 3 + p] = c * akp - s * akq; a[k * 3 + q] = s * akp + c * akq
                }
                for k in 0..<3 {   // A ← Jᵀ·A
                    let apk = a[p * 3 + k], aqk = a[q * 3 + k]
                    a[p * 3 + k] = c * apk - s * aqk; a[q * 3 + k] = s * apk + c * aqk
                }
                for k in 0..<3 {   // V ← V·J
                    let vkp = v[k * 3 + p], vkq = v[k * 3 + q]
                    v[k * 3 + p] = c * vkp - s * vkq; v[k * 3 + q] = s * vkp + c * vkq
                }
            }
        }
        let order = [0, 1, 2].sorted { a[$0 * 3 + $0] < a[$1 * 3 + $1] }
        let columns = order.map { SIMD3(v[$0], v[3 + $0], v[6 + $0]) }
        return (SIMD3(order.map { a[$0 * 3 + $0] }), Matrix3(columns: columns[0], columns[1], columns[2]))
    }

    public var trace: Double { row0.x + row1.y + row2.z }
}
