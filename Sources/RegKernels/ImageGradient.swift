import RegCore

/// Image gradients in physical space.
public enum ImageGradient {
    /// Central-difference gradient (one-sided at the edges) in LPS, per mm: the index-space
    /// derivative divided by the spacing, rotated by the direction cosines.
    ///
    /// ```swift
    /// let g = ImageGradient.gradient(of: image)   // VectorField on image's grid
    /// let atVoxel = g[10, 20, 30]                 // ∂I/∂x_L, ∂I/∂x_P, ∂I/∂x_S
    /// ```
    public static func gradient(of image: Image<Float>) -> VectorField {
        precondition(image.components == 1, "gradient of a scalar image")
        let g = image.geometry
        var field = VectorField(geometry: g)
        let (nx, ny, nz) = (g.size.x, g.size.y, g.size.z)
        let inv = 1 / g.spacing
        let d = g.direction
        let (r0, r1, r2) = (SIMD3<Float>(d.row0 * inv), SIMD3<Float>(d.row1 * inv), SIMD3<Float>(d.row2 * inv))
        image.voxels.withUnsafeBufferPointer { srcBuf in
            field.vectors.withUnsafeMutableBufferPointer { dstBuf in
                let src = UnsafeSendable(srcBuf.baseAddress!), dst = UnsafeSendable(dstBuf.baseAddress!)
                parallelFor(count: nz) { zs in
                    let s = src.value, out = dst.value
                    for z in zs {
                        let zm = max(0, z - 1), zp = min(nz - 1, z + 1)
                        let dzScale: Float = zp > zm ? 1 / Float(zp - zm) : 0
                        for y in 0..<ny {
                            let ym = max(0, y - 1), yp = min(ny - 1, y + 1)
                            let dyScale: Float = yp > ym ? 1 / Float(yp - ym) : 0
                            for x in 0..<nx {
                                let xm = max(0, x - 1), xp = min(nx - 1, x + 1)
                                let dxScale: Float = xp > xm ? 1 / Float(xp - xm) : 0
                                let row = y &* nx &+ z &* nx &* ny
                                let gi = SIMD3<Float>(
                                    (s[row &+ xp] - s[row &+ xm]) * dxScale,
                                    (s[yp &* nx &+ z &* nx &* ny &+ x] - s[ym &* nx &+ z &* nx &* ny &+ x]) * dyScale,
                                    (s[y &* nx &+ zp &* nx &* ny &+ x] - s[y &* nx &+ zm &* nx &* ny &+ x]) * dzScale)
                                let k = 3 &* (row &+ x)
                                out[k] = (r0 * gi).sum()
                                out[k &+ 1] = (r1 * gi).sum()
                                out[k &+ 2] = (r2 * gi).sum()
                            }
                        }
                    }
                }
            }
        }
        return field
    }
}
