// FieldKernels: the largest displacement in voxels (maxVoxelNorm and its 16-lane kernel).
import RegCore
import Synchronization

extension FieldKernels {
    /// The largest displacement of a field in voxels of its grid (‖P·u‖ over voxels).
    public static func maxVoxelNorm(of u: VectorField) -> Double {
        let p = u.geometry.physicalToIndex
        let m = Matrix3Float(p)
        return u.vectors.withUnsafeBufferPointer { b in
            let bp = UnsafeSendable(b.baseAddress!)
            return parallelReduce(count: u.geometry.voxelCount, chunkSize: 1 << 15, initial: 0.0, combine: max) { range in
                Double(largestSquaredVoxelLength(bp.value + 3 &* range.lowerBound, voxels: range.count, m)).squareRoot()
            }
        }
    }

    /// The largest `‖m·v‖²` over `voxels` vectors from `p` (0 for none), 16 vectors at a time;
    /// each length is summed as the scalar `m.apply` and `sum()` do, so the maximum is the same.
    @inline(__always) static func largestSquaredVoxelLength(_ p: UnsafePointer<Float>, voxels: Int, _ m: Matrix3Float) -> Float {
        typealias F = Lanes16.F
        var lanes = F.zero, i = 0
        while i &+ 16 <= voxels {
            let (vx, vy, vz) = Lanes16.deinterleave(p + 3 &* i)
            let jx = m.r0.x * vx + m.r0.y * vy + m.r0.z * vz
            let jy = m.r1.x * vx + m.r1.y * vy + m.r1.z * vz
            let jz = m.r2.x * vx + m.r2.y * vy + m.r2.z * vz
            let squared = jx * jx + jy * jy + jz * jz
            lanes = lanes.replacing(with: squared, where: squared .>= lanes)
            i &+= 16
        }
        var best: Float = 0
        for lane in 0..<16 { best = max(best, lanes[lane]) }
        while i < voxels {
            let j = m.apply(SIMD3<Float>(p[3 &* i], p[3 &* i &+ 1], p[3 &* i &+ 2]))
            best = max(best, (j * j).sum())
            i &+= 1
        }
        return best
    }
}
