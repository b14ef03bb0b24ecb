// FieldKernels: Jacobian determinants and log-Jacobians, plain and smoothed (DeterminantStencil, the inline logarithm).
import RegCore
import Synchronization

extension FieldKernels {
    /// The determinant of the Jacobian of `x ↦ x + u(x)` in physical space at every voxel:
    /// `det(I + (∂u/∂i)·P)` with `P` the physical-to-index matrix, so direction cosines and
    /// spacing are honoured. Central differences inside, one-sided at the edges; 2-D fields
    /// give the in-plane determinant.
    public static func jacobianDeterminant(of u: VectorField) -> Image<Float> {
        determinants(of: u, logarithmFloor: nil, tolerance: 0)
    }

    /// `log det J` of `x ↦ x + u(x)` (as `jacobianDeterminant`), with determinants below `floor`
    /// taken as `floor` so folded voxels give a large finite value. With a `tolerance` τ > 0 each
    /// value is shrunk toward 0 by τ (`sign(l)·max(|l| − τ, 0)`): the volume change beyond ±τ.
    ///
    /// ```swift
    /// let logJ = FieldKernels.logJacobianDeterminant(of: phi)                   // 0 where volume is kept
    /// let excess = FieldKernels.logJacobianDeterminant(of: phi, tolerance: 0.15) // 0 within ±0.15
    /// ```
    public static func logJacobianDeterminant(of u: VectorField, floor: Float = 1e-3, tolerance: Float = 0) -> Image<Float> {
        determinants(of: u, logarithmFloor: floor, tolerance: tolerance)
    }

    private static func determinants(of u: VectorField, logarithmFloor: Float?, tolerance: Float) -> Image<Float> {
        let g = u.geometry
        let stencil = DeterminantStencil(geometry: g, logarithmFloor: logarithmFloor, tolerance: tolerance)
        // Every value is written below: the image starts uninitialised.
        let values = VoxelBuffer<Float>(unsafeUninitializedCapacity: g.voxelCount) { buffer, count in
            u.vectors.withUnsafeBufferPointer { src in
                let s = UnsafeSendable(src.baseAddress!), d = UnsafeSendable(buffer.baseAddress!)
                parallelFor(count: g.size.y * g.size.z, chunkSize: max(1, g.size.y / 4)) { rows in
                    stencil.rows(rows, field: s.value, into: d.value, firstVoxel: 0)
                }
            }
            count = g.voxelCount
        }
        return try! Image(geometry: g, voxels: values)
    }

    /// `logJacobianDeterminant(of:floor:tolerance:)` smoothed by a Gaussian of `sigma`, the
    /// log-Jacobian made slice by slice as the smoothing reads it: the same values as the two
    /// steps apart, without the unsmoothed map crossing memory.
    ///
    /// ```swift
    /// let excess = FieldKernels.smoothedLogJacobian(of: phi, tolerance: 0.15, sigma: .voxels(3))
    /// ```
    public static func smoothedLogJacobian(of u: VectorField, floor: Float = 1e-3, tolerance: Float = 0,
                                           sigma: GaussianSmoothing.Sigma) -> Image<Float> {
        let g = u.geometry
        let stencil = DeterminantStencil(geometry: g, logarithmFloor: floor, tolerance: tolerance)
        let sliceVoxels = g.size.x * g.size.y
        let values = u.vectors.withUnsafeBufferPointer { src in
            let field = UnsafeSendable(src.baseAddress!)
            return GaussianSmoothing.smoothSlices(size: g.size, components: 1, kernels: .init(sigma: sigma, geometry: g)) { z, slice in
                stencil.rows(z * g.size.y..<(z + 1) * g.size.y, field: field.value, into: slice, firstVoxel: z * sliceVoxels)
                return UnsafePointer(slice)
            }
        }
        return try! Image(geometry: g, voxels: values)
    }

    /// The Jacobian determinant's constants on one grid, and its row kernel.
    struct DeterminantStencil {
        let nx: Int, ny: Int, nz: Int
        let m: Matrix3Float
        let takeLog: Bool, floor: Float, tolerance: Float

        init(geometry g: Geometry, logarithmFloor: Float?, tolerance: Float) {
            (nx, ny, nz) = (g.size.x, g.size.y, g.size.z)
            m = Matrix3Float(g.physicalToIndex)
            (takeLog, floor, self.tolerance) = (logarithmFloor != nil, logarithmFloor ?? 0, tolerance)
        }

        /// det J (or its excess log) at the voxels of grid rows `rows`, written to `out` from
        /// voxel `firstVoxel` on.
        @inline(__always)
        func rows(_ rows: Range<Int>, field v: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, firstVoxel: Int) {
            let (nx, ny, nz, m, takeLog, floor, tolerance) = (nx, ny, nz, m, takeLog, floor, tolerance)
            for row in rows {
                let (base, upY, downY, upZ, downZ, sy, sz) = RowStencil(row: row, nx: nx, ny: ny, nz: nz).parts
                // J = I + G·P with G's columns dx, dy, dz (the index derivatives of u).
                @inline(__always) func determinant(_ i: Int, _ xm: Int, _ xp: Int, _ sx: Float) -> Float {
                    let dx = (vector3(v, xp) - vector3(v, xm)) * sx
                    let dy = (vector3(v, i &+ upY) - vector3(v, i &- downY)) * sy
                    let dz = (vector3(v, i &+ upZ) - vector3(v, i &- downZ)) * sz
                    let (c0, c1, c2) = m.identityPlus(dx, dy, dz)
                    let det = (c0 * cross(c1, c2)).sum()
                    guard takeLog else { return det }
                    let l = logarithm(max(det, floor))
                    return l > tolerance ? l - tolerance : (l < -tolerance ? l + tolerance : 0)
                }
                let o = out + (base &- firstVoxel), last = nx &- 1
                // The edges apart, so the interior loop has no branch and vectorises.
                o[0] = determinant(base, base, base &+ min(1, last), nx > 1 ? 1 : 0)
                if nx > 2 { for x in 1..<last { o[x] = determinant(base &+ x, base &+ x &- 1, base &+ x &+ 1, 0.5) } }
                if nx > 1 { o[last] = determinant(base &+ last, base &+ last &- 1, base &+ last, 1) }
            }
        }
    }

    /// The natural logarithm of a positive normal `Float`, within about 2e-7 of `log`, in
    /// straight-line arithmetic (no call) so the loops around it stay tight: `x = m·2ᵉ` with
    /// `m` in [√½, √2), and `log m = 2 atanh((m − 1)/(m + 1))` by its series to t¹¹.
    @inline(__always) static func logarithm(_ x: Float) -> Float {
        let bits = x.bitPattern
        let e = Int32(bitPattern: bits &- 0x3F35_04F3) >> 23      // 0x3F3504F3: √½
        let m = Float(bitPattern: bits &- (UInt32(bitPattern: e) << 23))
        let t = (m - 1) / (m + 1), t2 = t * t
        let series: Float = 2 + t2 * (2 / 3 + t2 * (2 / 5 + t2 * (2 / 7 + t2 * (2 / 9 + t2 * (2 / 11)))))
        return Float(e) * 0.693_147_18 + t * series
    }
}
