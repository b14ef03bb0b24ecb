import Foundation
import RegCore
import RegKernels

/// A dense transform `T(x) = x + u(x)`, with `u` in LPS mm on a grid (usually the fixed image's):
/// what SyN and demons produce and what ANTs writes as `*Warp.nii.gz`.
///
/// Points of the grid read `u` trilinearly; points more than half a voxel outside the grid are
/// not moved (zero displacement), as ITK's `DisplacementFieldTransform` does.
///
/// ```swift
/// let warp = DisplacementField(try TransformFile.readDisplacementField("reg_warp.nii.gz"))
/// let y = warp.map(SIMD3(10, -20, 5))             // fixed-space point → moving space
/// let back = warp.inverse()                        // warp ∘ back ≈ identity
/// let detJ = warp.jacobianDeterminant              // Image<Float> on the same grid
/// ```
public struct DisplacementField: Sendable, Equatable {
    public var field: VectorField

    public init(_ field: VectorField) { self.field = field }

    public var geometry: Geometry { field.geometry }

    /// `x + u(x)`.
    public func map(_ x: SIMD3<Double>) -> SIMD3<Double> { x + displacement(at: x) }

    /// `u(x)`: trilinear inside the grid, clamped within half a voxel of it, zero beyond. A 2-D
    /// field acts in its plane: the offset of `x` along the plane's normal is ignored (ITK's 2-D
    /// transforms have no third coordinate).
    public func displacement(at x: SIMD3<Double>) -> SIMD3<Double> {
        var j = geometry.continuousIndex(ofPhysicalPoint: x)
        if geometry.dimension == 2 { j.z = 0 }
        let last = SIMD3<Double>(geometry.size &- 1)
        guard all(j .>= -0.5) && all(j .<= last + 0.5) else { return .zero }
        return FieldKernels.trilinear(field, at: j.clamped(lowerBound: .zero, upperBound: last))
    }

    /// The inverse transform on the same grid, solved voxel by voxel by Newton's method to within
    /// `tolerance` mm (see `FieldKernels.inverse`).
    public func inverse(tolerance: Float = 1e-2) -> DisplacementField {
        DisplacementField(FieldKernels.inverse(of: field, tolerance: tolerance))
    }

    /// det of the physical Jacobian of `x ↦ x + u(x)` at every voxel.
    public var jacobianDeterminant: Image<Float> { FieldKernels.jacobianDeterminant(of: field) }
}

/// A stationary velocity field `v` (LPS mm on a grid) whose flow for unit time is the
/// diffeomorphism `exp(v)`; its inverse is exactly `exp(−v)`.
///
/// ```swift
/// let v = VelocityField(update)
/// let forward = v.exponential()        // DisplacementField
/// let backward = v.negated.exponential()
/// ```
public struct VelocityField: Sendable, Equatable {
    public var field: VectorField

    public init(_ field: VectorField) { self.field = field }

    /// `−v`, whose exponential is the inverse transform.
    public var negated: VelocityField { VelocityField(field.scaled(by: -1)) }

    /// `exp(v)` by scaling and squaring; `steps` nil chooses enough halvings for `v / 2ⁿ` to
    /// move no voxel by more than a quarter of a voxel.
    public func exponential(steps: Int? = nil) -> DisplacementField {
        let n = steps ?? Self.squaringSteps(maxVoxelNorm: FieldKernels.maxVoxelNorm(of: field))
        return DisplacementField(FieldKernels.exponential(field, steps: n))
    }

    static func squaringSteps(maxVoxelNorm: Double) -> Int {
        guard maxVoxelNorm > 0.25 else { return 0 }
        return Int(log2(maxVoxelNorm / 0.25).rounded(.up))
    }
}
