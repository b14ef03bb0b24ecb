// FieldKernels: a field resampled onto another grid (change of pyramid level).
import RegCore
import Synchronization

extension FieldKernels {
    /// The field read trilinearly at the voxels of another grid (for a change of level); points
    /// off the source grid take its nearest edge values. Displacements are in mm, so they carry
    /// over without rescaling.
    public static func resampled(_ u: VectorField, onto target: Geometry) -> VectorField {
        if u.geometry.sameGrid(as: target) { return u }
        let src = u.geometry
        let toSource = src.physicalToIndex
        let base = toSource * (target.origin - src.origin)
        let steps = toSource * target.indexToPhysical
        let (nx, ny) = (target.size.x, target.size.y)
        let last = SIMD3<Double>(src.size &- 1)
        return VectorField(geometry: target) { outputs in
            u.vectors.withUnsafeBufferPointer { ub in
                let up = UnsafeSendable(ub.baseAddress!), op = UnsafeSendable(outputs)
                parallelFor(count: target.size.y * target.size.z, chunkSize: max(1, ny / 4)) { rows in
                    for row in rows {
                        for x in 0..<nx {
                            let i = base + steps * SIMD3(Double(x), Double(row % ny), Double(row / ny))
                            // Clamped lane by lane: SIMD's `clamped` is a generic call per voxel.
                            let j = SIMD3(min(max(i.x, 0), last.x), min(max(i.y, 0), last.y), min(max(i.z, 0), last.z))
                            let v = trilinear(up.value, size: src.size, at: j)
                            let k = 3 &* (row &* nx &+ x)
                            op.value[k] = Float(v.x); op.value[k &+ 1] = Float(v.y); op.value[k &+ 2] = Float(v.z)
                        }
                    }
                }
            }
        }
    }
}
