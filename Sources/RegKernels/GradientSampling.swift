import RegCore

/// Samples an image and its gradient, by trilinear interpolation, at points given through an
/// affine map into the image's continuous index space: `j = matrix · p + offset`. The hot loop of
/// every linear registration metric.
///
/// ```swift
/// var values = [Float](repeating: 0, count: points.count)
/// var gradients = [SIMD3<Float>](repeating: .zero, count: points.count)
/// GradientSampling.sample(moving, at: points, matrix: q, offset: r, values: &values, gradients: &gradients)
/// // values[i] is .nan where the point falls outside the image (or outside `mask`)
/// ```
public enum GradientSampling {
    /// Writes the interpolated value and its gradient with respect to the continuous index
    /// `(∂/∂jx, ∂/∂jy, ∂/∂jz)` of each point. Points outside the interpolation domain
    /// (`0 ≤ j ≤ size − 1` per axis; the z axis is ignored for a single-slice image) or where
    /// `mask` (same grid, nearest voxel) is zero get value `.nan` and gradient zero.
    public static func sample(_ image: Image<Float>, at points: [SIMD3<Float>], matrix: Matrix3, offset: SIMD3<Double>,
                              mask: VoxelBuffer<UInt8>? = nil, values: inout [Float], gradients: inout [SIMD3<Float>]) {
        precondition(image.components == 1 && values.count == points.count && gradients.count == points.count)
        let size = image.geometry.size
        let (nx, ny, nz) = (size.x, size.y, size.z)
        let nxy = nx * ny
        let flat = nz == 1
        let last = SIMD3<Double>(Double(nx - 1), Double(ny - 1), Double(nz - 1))
        let (m0, m1, m2) = (matrix.row0, matrix.row1, matrix.row2)
        // The cell's first corner stays one below the last voxel, so that points on the far faces
        // still have 8 neighbours; a single-voxel axis has stride 0.
        let (cornerX, cornerY, cornerZ) = (max(0, nx - 2), max(0, ny - 2), max(0, nz - 2))
        let (sx, sy, sz) = (nx > 1 ? 1 : 0, ny > 1 ? nx : 0, flat ? 0 : nxy)
        let count = points.count
        image.voxels.withUnsafeBufferPointer { src in
            points.withUnsafeBufferPointer { pts in
                values.withUnsafeMutableBufferPointer { vals in
                    gradients.withUnsafeMutableBufferPointer { grads in
                        withMaskPointer(mask) { maskPointer in
                            let s = UnsafeSendable(src.baseAddress!), p = UnsafeSendable(pts.baseAddress!)
                            let v = UnsafeSendable(vals.baseAddress!), g = UnsafeSendable(grads.baseAddress!)
                            let mk = UnsafeSendable(maskPointer)
                            parallelFor(count: count, chunkSize: 4096) { range in
                                let data = s.value, out = v.value, grad = g.value
                                for i in range {
                                    let q = p.value[i]
                                    let x = Double(q.x), y = Double(q.y), z = Double(q.z)
                                    let jx = m0.x * x + m0.y * y + m0.z * z + offset.x
                                    let jy = m1.x * x + m1.y * y + m1.z * z + offset.y
                                    var jz = m2.x * x + m2.y * y + m2.z * z + offset.z
                                    if flat { jz = 0 }
                                    guard jx >= 0, jx <= last.x, jy >= 0, jy <= last.y, jz >= 0, jz <= last.z else {
                                        out[i] = .nan; grad[i] = .zero; continue
                                    }
                                    let ix = min(Int(jx), cornerX), iy = min(Int(jy), cornerY), iz = min(Int(jz), cornerZ)
                                    if let mp = mk.value {
                                        let nearest = Int(jx + 0.5) &+ Int(jy + 0.5) &* nx &+ Int(jz + 0.5) &* nxy
                                        if mp[nearest] == 0 { out[i] = .nan; grad[i] = .zero; continue }
                                    }
                                    let tx = Float(jx - Double(ix)), ty = Float(jy - Double(iy)), tz = Float(jz - Double(iz))
                                    let base = data + (ix &+ iy &* nx &+ iz &* nxy)
                                    let v000 = base[0], v100 = base[sx], v010 = base[sy], v110 = base[sx &+ sy]
                                    let v001 = base[sz], v101 = base[sz &+ sx], v011 = base[sz &+ sy], v111 = base[sz &+ sx &+ sy]
                                    let a0 = v000 + tx * (v100 - v000), a1 = v010 + tx * (v110 - v010)
                                    let b0 = v001 + tx * (v101 - v001), b1 = v011 + tx * (v111 - v011)
                                    let c0 = a0 + ty * (a1 - a0), c1 = b0 + ty * (b1 - b0)
                                    out[i] = c0 + tz * (c1 - c0)
                                    let dx0 = (v100 - v000) + ty * ((v110 - v010) - (v100 - v000))
                                    let dx1 = (v101 - v001) + ty * ((v111 - v011) - (v101 - v001))
                                    grad[i] = SIMD3(dx0 + tz * (dx1 - dx0), (a1 - a0) + tz * ((b1 - b0) - (a1 - a0)), c1 - c0)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static func withMaskPointer<R>(_ mask: VoxelBuffer<UInt8>?, _ body: (UnsafePointer<UInt8>?) -> R) -> R {
        guard let mask else { return body(nil) }
        return mask.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
