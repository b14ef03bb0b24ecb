// FieldKernels: trilinear interpolation of vector fields (Float corner kernels, the clamped edge path, the Double sampler).
import RegCore
import Synchronization

/// Trilinear sampling of displacement fields. **Boundary policy: clamp.** Every field sampler in
/// SwiftReg reads a point outside the grid as the nearest point on it (the edge displacement
/// extends outward): `clampedTrilinear` clamps the continuous index per axis; `trilinear4` and
/// `trilinear(_:_:_:_:_:)` are its fast interior forms, for corners whose neighbours exist (the
/// caller passes a zero offset on the last face); the `Double` sampler `trilinear(_:size:at:)`
/// expects a clamped index and caps the upper corner. The inverse's Newton residual
/// (`PointInversion.residual`) samples with the same clamp and also returns the derivatives.
/// (`DisplacementField.displacement(at:)` adds one rule on top: zero displacement beyond half a
/// voxel outside the grid, as ITK's displacement-field transform does.) The Float forms blend as
/// `a + (b − a)·t` along x and y and `a·(1 − t) + b·t` along z; the Double form uses
/// `a·(1 − t) + b·t` throughout.
extension FieldKernels {
    /// The trilinear value of a field at corner `c` + fractions `t`, with the offsets to the
    /// next corner along x, y and z (0 on the grid's last face, where the fraction is 0).
    @inline(__always) static func trilinear(_ c: UnsafePointer<Float>, _ dx: Int, _ dy: Int, _ dz: Int, _ t: SIMD3<Float>) -> SIMD3<Float> {
        let c00 = lerp(c, c + dx, t.x), c10 = lerp(c + dy, c + dy + dx, t.x)
        let c01 = lerp(c + dz, c + dz + dx, t.x), c11 = lerp(c + dz + dy, c + dz + dy + dx, t.x)
        return (c00 + (c10 - c00) * t.y) * (1 - t.z) + (c01 + (c11 - c01) * t.y) * t.z
    }

    /// `trilinear` reading each corner as 4 floats (one load), the 4th lane ignored: the caller
    /// ensures the far corner is not the last voxel.
    @inline(__always) static func trilinear4(_ c: UnsafePointer<Float>, _ dx: Int, _ dy: Int, _ dz: Int, _ t: SIMD3<Float>) -> SIMD4<Float> {
        @inline(__always) func lerp4(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ t: Float) -> SIMD4<Float> {
            let va = UnsafeRawPointer(a).loadUnaligned(as: SIMD4<Float>.self), vb = UnsafeRawPointer(b).loadUnaligned(as: SIMD4<Float>.self)
            return va + (vb - va) * t
        }
        let c00 = lerp4(c, c + dx, t.x), c10 = lerp4(c + dy, c + dy + dx, t.x)
        let c01 = lerp4(c + dz, c + dz + dx, t.x), c11 = lerp4(c + dz + dy, c + dz + dy + dx, t.x)
        return (c00 + (c10 - c00) * t.y) * (1 - t.z) + (c01 + (c11 - c01) * t.y) * t.z
    }

    /// The trilinear value of a field of `size` voxels at continuous index `j`, clamped to the grid.
    @inline(never) static func clampedTrilinear(_ u: UnsafePointer<Float>, at j: SIMD3<Float>, size: (Int, Int, Int)) -> SIMD3<Float> {
        let (nx, ny, nz) = size
        let jx = min(max(j.x, 0), Float(nx - 1)), jy = min(max(j.y, 0), Float(ny - 1)), jz = min(max(j.z, 0), Float(nz - 1))
        // Non-negative after the clamp, so truncation is the floor.
        let ix = Int(jx), iy = Int(jy), iz = Int(jz)
        let t = SIMD3<Float>(jx - Float(ix), jy - Float(iy), jz - Float(iz))
        let dx = ix < nx &- 1 ? 3 : 0, dy = iy < ny &- 1 ? 3 &* nx : 0, dz = iz < nz &- 1 ? 3 &* nx &* ny : 0
        return trilinear(u + 3 &* (ix &+ iy &* nx &+ iz &* nx &* ny), dx, dy, dz, t)
    }

    /// `u` at a continuous index inside its grid (clamp it first).
    @inline(__always) public static func trilinear(_ u: VectorField, at j: SIMD3<Double>) -> SIMD3<Double> {
        u.vectors.withUnsafeBufferPointer { trilinear($0.baseAddress!, size: u.geometry.size, at: j) }
    }

    /// `trilinear(_:at:)` on the vectors of a field of `size` voxels.
    @inline(__always) static func trilinear(_ u: UnsafePointer<Float>, size: SIMD3<Int>, at j: SIMD3<Double>) -> SIMD3<Double> {
        let f = j.rounded(.down), t = j - f
        let i0 = SIMD3<Int>(Int(f.x), Int(f.y), Int(f.z))
        let i1 = SIMD3<Int>(min(i0.x &+ 1, size.x &- 1), min(i0.y &+ 1, size.y &- 1), min(i0.z &+ 1, size.z &- 1))
        @inline(__always) func at(_ x: Int, _ y: Int, _ z: Int) -> SIMD3<Double> {
            let o = 3 &* (x &+ size.x &* (y &+ size.y &* z))
            return SIMD3(Double(u[o]), Double(u[o &+ 1]), Double(u[o &+ 2]))
        }
        let c00 = at(i0.x, i0.y, i0.z) * (1 - t.x) + at(i1.x, i0.y, i0.z) * t.x
        let c10 = at(i0.x, i1.y, i0.z) * (1 - t.x) + at(i1.x, i1.y, i0.z) * t.x
        let c01 = at(i0.x, i0.y, i1.z) * (1 - t.x) + at(i1.x, i0.y, i1.z) * t.x
        let c11 = at(i0.x, i1.y, i1.z) * (1 - t.x) + at(i1.x, i1.y, i1.z) * t.x
        return (c00 * (1 - t.y) + c10 * t.y) * (1 - t.z) + (c01 * (1 - t.y) + c11 * t.y) * t.z
    }

    @inline(__always) static func lerp(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ t: Float) -> SIMD3<Float> {
        let va = SIMD3<Float>(a[0], a[1], a[2]), vb = SIMD3<Float>(b[0], b[1], b[2])
        return va + (vb - va) * t
    }
}
