extension Image {
    /// The voxels of the box `low..<high` (voxel indices, per axis) as an image of their own, on
    /// a grid with the same spacing and direction whose origin is the physical point of `low`:
    /// every voxel keeps its place in the patient.
    ///
    /// ```swift
    /// let head = image.cropped(from: SIMD3(40, 10, 0), to: SIMD3(200, 240, 226))
    /// // head.geometry.physicalPoint(ofIndex: .zero) == image.geometry.physicalPoint(ofIndex: SIMD3(40, 10, 0))
    /// ```
    public func cropped(from low: SIMD3<Int>, to high: SIMD3<Int>) -> Image {
        let s = geometry.size
        precondition(all(low .>= SIMD3(repeating: 0)) && all(high .<= s) && all(low .< high), "crop box outside the grid")
        let size = high &- low
        let origin = geometry.physicalPoint(ofIndex: SIMD3<Double>(low))
        let grid = try! geometry.with(size: size, origin: origin)
        let c = components, row = size.x * c
        var out = VoxelBuffer<Voxel>(repeating: .zero, count: grid.voxelCount * c)
        voxels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for z in 0..<size.z { for y in 0..<size.y {
                    let from = c * geometry.offset(low.x, low.y + y, low.z + z), to = row * (y + size.y * z)
                    (dst.baseAddress! + to).update(from: src.baseAddress! + from, count: row)
                } }
            }
        }
        return try! Image(geometry: grid, components: c, voxels: out)
    }
}
