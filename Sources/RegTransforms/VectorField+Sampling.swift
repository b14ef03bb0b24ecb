import RegCore

extension VectorField {
    /// The displacement `map(x) − x` at every voxel of `grid`, rows in parallel.
    @inlinable
    public init(sampling grid: Geometry, map: (SIMD3<Double>) -> SIMD3<Double>) {
        self.init(geometry: grid)
        let nx = grid.size.x, ny = grid.size.y
        vectors.withUnsafeMutableBufferPointer { out in
            let o = UnsafeSendable(out.baseAddress!)
            parallelFor(count: ny * grid.size.z, chunkSize: max(1, ny / 4)) { rows in
                for row in rows {
                    for x in 0..<nx {
                        let p = grid.physicalPoint(ofIndex: SIMD3(Double(x), Double(row % ny), Double(row / ny)))
                        var u = map(p) - p
                        if grid.dimension == 2 { u.z = 0 }
                        let k = 3 * (row * nx + x)
                        o.value[k] = Float(u.x); o.value[k + 1] = Float(u.y); o.value[k + 2] = Float(u.z)
                    }
                }
            }
        }
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
