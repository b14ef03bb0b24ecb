// FieldKernels: the namespace's declaration and the helpers its passes share; the passes are in FieldKernels+*.swift.
import RegCore
import Synchronization

/// The dense-field passes of deformable registration: composition, scaling and squaring,
/// inversion (Newton per voxel), Jacobian determinants and forces. Fields are displacements in LPS mm
/// on one grid; `x ↦ x + u(x)`. Every pass runs over rows in parallel and is bitwise identical
/// for any thread count.
///
/// ```swift
/// let both = FieldKernels.compose(u, after: v)        // (id + u) ∘ (id + v)
/// let phi = FieldKernels.exponential(velocity, steps: 6)
/// let back = FieldKernels.inverse(of: phi)           // (id + phi) ∘ (id + back) ≈ id
/// let detJ = FieldKernels.jacobianDeterminant(of: phi)
/// ```
public enum FieldKernels {
    @inline(__always) static func cross(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> SIMD3<Float> {
        SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
    }

    @inline(__always) static func vector3(_ p: UnsafePointer<Float>, _ voxel: Int) -> SIMD3<Float> {
        SIMD3(p[3 &* voxel], p[3 &* voxel &+ 1], p[3 &* voxel &+ 2])
    }
}
