// FieldKernels: the force field w·∇I, plain and smoothed with its largest vector (ForceStencil).
import RegCore
import Synchronization

extension FieldKernels {
    /// The force field `w(x)·∇I(x)`: a voxel-wise metric derivative `w = ∂C/∂I(x)` times the
    /// image's physical gradient (central differences, one-sided at the edges). Voxels where
    /// `w` is 0 get no force.
    public static func force(weights w: [Float], image: Image<Float>) -> VectorField {
        let g = image.geometry
        precondition(w.count == g.voxelCount && image.components == 1)
        let stencil = ForceStencil(geometry: g)
        // Every value is written below (zeros where w is 0): the field starts uninitialised.
        return VectorField(geometry: g) { outputs in
            w.withUnsafeBufferPointer { wb in
                image.voxels.withUnsafeBufferPointer { ib in
                    let wp = UnsafeSendable(wb.baseAddress!), ip = UnsafeSendable(ib.baseAddress!), op = UnsafeSendable(outputs)
                    parallelFor(count: g.size.y * g.size.z, chunkSize: max(1, g.size.y / 4)) { rows in
                        stencil.rows(rows, weights: wp.value, image: ip.value, into: op.value, firstVoxel: 0)
                    }
                }
            }
        }
    }

    /// The force field `w·∇I` (as `force`) smoothed by a Gaussian of `sigma`, and its largest
    /// vector in voxels (as `maxVoxelNorm`): the force is made slice by slice as the smoothing
    /// reads it, and the largest vector found as the smoothing writes it, so neither the force
    /// nor the result crosses memory an extra time. The same values as the three steps apart.
    ///
    /// ```swift
    /// let (update, largest) = FieldKernels.smoothedForce(weights: lcc.movingDerivative, image: warped, sigma: .voxels(3))
    /// ```
    public static func smoothedForce(weights w: [Float], image: Image<Float>, sigma: GaussianSmoothing.Sigma)
        -> (field: VectorField, maxVoxelNorm: Double) {
        let g = image.geometry
        precondition(w.count == g.voxelCount && image.components == 1)
        let stencil = ForceStencil(geometry: g)
        let m = Matrix3Float(g.physicalToIndex)
        let sliceVoxels = g.size.x * g.size.y
        // The largest squared length: non-negative floats order as their bit patterns.
        let largest = Atomic<UInt32>(0)
        let values = w.withUnsafeBufferPointer { wb in
            image.voxels.withUnsafeBufferPointer { ib in
                let wp = UnsafeSendable(wb.baseAddress!), ip = UnsafeSendable(ib.baseAddress!)
                return GaussianSmoothing.smoothSlices(size: g.size, components: 3, kernels: .init(sigma: sigma, geometry: g),
                                                      source: { z, slice in
                    stencil.rows(z * g.size.y..<(z + 1) * g.size.y, weights: wp.value, image: ip.value, into: slice,
                                 firstVoxel: z * sliceVoxels)
                    return UnsafePointer(slice)
                }, finished: { values, count in
                    largest.max(largestSquaredVoxelLength(values, voxels: count / 3, m).bitPattern, ordering: .relaxed)
                })
            }
        }
        let field = try! VectorField(image: Image(geometry: g, components: 3, voxels: values))
        return (field, Double(Float(bitPattern: largest.load(ordering: .relaxed))).squareRoot())
    }

    /// The force's constants on one grid, and its row kernel.
    struct ForceStencil {
        let nx: Int, ny: Int, nz: Int
        let r0: SIMD3<Float>, r1: SIMD3<Float>, r2: SIMD3<Float>

        init(geometry g: Geometry) {
            (nx, ny, nz) = (g.size.x, g.size.y, g.size.z)
            let inv = 1 / g.spacing, dir = g.direction
            (r0, r1, r2) = (SIMD3<Float>(dir.row0 * inv), SIMD3<Float>(dir.row1 * inv), SIMD3<Float>(dir.row2 * inv))
        }

        /// The force at the voxels of grid rows `rows`, written to `o` from voxel `firstVoxel` on.
        @inline(__always)
        func rows(_ rows: Range<Int>, weights: UnsafePointer<Float>, image s: UnsafePointer<Float>, into o: UnsafeMutablePointer<Float>,
                  firstVoxel: Int) {
            let (nx, ny, nz, r0, r1, r2) = (nx, ny, nz, r0, r1, r2)
            for row in rows {
                let (base, upY, downY, upZ, downZ, sy, sz) = RowStencil(row: row, nx: nx, ny: ny, nz: nz).parts
                @inline(__always) func write(_ i: Int, _ xm: Int, _ xp: Int, _ sx: Float) {
                    let wx = weights[i]
                    let gi = SIMD3<Float>((s[xp] - s[xm]) * sx, (s[i &+ upY] - s[i &- downY]) * sy, (s[i &+ upZ] - s[i &- downZ]) * sz)
                    let k = 3 &* (i &- firstVoxel)
                    // 0 where w is 0, whatever the gradient.
                    o[k] = wx == 0 ? 0 : wx * (r0 * gi).sum()
                    o[k &+ 1] = wx == 0 ? 0 : wx * (r1 * gi).sum()
                    o[k &+ 2] = wx == 0 ? 0 : wx * (r2 * gi).sum()
                }
                // The edges apart, so the interior loop has no branch.
                write(base, base, base &+ min(1, nx &- 1), nx > 1 ? 1 : 0)
                if nx > 2 { for i in (base &+ 1)..<(base &+ nx &- 1) { write(i, i &- 1, i &+ 1, 0.5) } }
                if nx > 1 { write(base &+ nx &- 1, base &+ nx &- 2, base &+ nx &- 1, 1) }
            }
        }
    }
}
