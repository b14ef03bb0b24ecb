// Matrix3Float: a 3×3 Float matrix for per-voxel work.
import RegCore
import Synchronization

/// A 3×3 matrix in `Float` for per-voxel work.
struct Matrix3Float {
    let r0: SIMD3<Float>, r1: SIMD3<Float>, r2: SIMD3<Float>
    @inline(__always) init(_ m: Matrix3) { r0 = SIMD3<Float>(m.row0); r1 = SIMD3<Float>(m.row1); r2 = SIMD3<Float>(m.row2) }
    @inline(__always) func apply(_ v: SIMD3<Float>) -> SIMD3<Float> {
        SIMD3((r0 * v).sum(), (r1 * v).sum(), (r2 * v).sum())
    }

    /// The columns of `I + [a b c]·self` for the index derivatives `a, b, c` of a displacement
    /// (`self` the physical-to-index matrix): the physical Jacobian of `x ↦ x + u(x)`.
    @inline(__always) func identityPlus(_ a: SIMD3<Float>, _ b: SIMD3<Float>, _ c: SIMD3<Float>)
        -> (SIMD3<Float>, SIMD3<Float>, SIMD3<Float>) {
        (a * r0.x + b * r1.x + c * r2.x + SIMD3(1, 0, 0), a * r0.y + b * r1.y + c * r2.y + SIMD3(0, 1, 0),
         a * r0.z + b * r1.z + c * r2.z + SIMD3(0, 0, 1))
    }
}
