import RegCore

extension VectorField {
    /// The displacement `map(x) − x` at every voxel of `grid`, rows in parallel.
    ///
    /// ```swift
    /// let total = VectorField(sampling: fixed.geometry) { chain.map($0) }   // one field for a chain
    /// ```
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
