// FieldKernels: field inversion by Newton's method per voxel (PointInversion).
import RegCore
import Synchronization

extension FieldKernels {
    /// The inverse displacement `w` with `(id + u) ∘ (id + w) = id`, solved voxel by voxel: the
    /// residual `r(w) = w + u(x + w)` depends on `w(x)` alone, so each voxel runs Newton's method
    /// on the trilinear interpolant of `u` (clamped to the grid, as `compose` samples it),
    /// halving a step that does not shrink `‖r‖`, until `‖r‖ < tolerance` mm or `iterations`
    /// steps. It starts from the linear extrapolation of the two voxels before it in its row
    /// when both converged, else from `w = −u(x)`. Where `id + u` folds, a voxel keeps its
    /// smallest residual. A row is solved by one thread, so the result is the same for any
    /// thread count.
    ///
    /// ```swift
    /// let back = FieldKernels.inverse(of: u)
    /// let identity = FieldKernels.compose(u, after: back)   // ≈ 0 inside the grid
    /// ```
    public static func inverse(of u: VectorField, tolerance: Float = 1e-2, iterations: Int = 20) -> VectorField {
        let g = u.geometry
        let solver = PointInversion(grid: g, tolerance: tolerance, iterations: iterations)
        return VectorField(geometry: g) { outputs in
            u.vectors.withUnsafeBufferPointer { ub in
                let up = UnsafeSendable(ub.baseAddress!), op = UnsafeSendable(outputs)
                parallelFor(count: g.size.y * g.size.z, chunkSize: max(1, g.size.y / 8)) { rows in
                    for row in rows { solver.row(row, u: up.value, into: op.value) }
                }
            }
        }
    }

    /// Newton's method for `w + u(x + w) = 0` at single voxels, on one grid.
    struct PointInversion {
        let nx: Int, ny: Int, nz: Int
        let m: Matrix3Float
        let last: SIMD3<Float>
        let lastCell: (x: Int, y: Int, z: Int)
        let dx: Int, dy: Int, dz: Int
        let toleranceSquared: Float, iterations: Int

        init(grid g: Geometry, tolerance: Float, iterations: Int) {
            (nx, ny, nz) = (g.size.x, g.size.y, g.size.z)
            m = Matrix3Float(g.physicalToIndex)
            last = SIMD3(Float(nx - 1), Float(ny - 1), Float(nz - 1))
            lastCell = (max(0, nx - 2), max(0, ny - 2), max(0, nz - 2))
            (dx, dy, dz) = (nx > 1 ? 3 : 0, ny > 1 ? 3 * nx : 0, nz > 1 ? 3 * nx * ny : 0)
            (toleranceSquared, self.iterations) = (tolerance * tolerance, max(0, iterations))
        }

        /// The residual `w + u(j)` at continuous index `j`, and the index-space derivatives of
        /// `u` there (0 along an axis where `j` lies beyond the grid, as the clamp holds `u` constant).
        @inline(__always)
        func residual(_ w: SIMD3<Float>, at j: SIMD3<Float>, u: UnsafePointer<Float>)
            -> (r: SIMD3<Float>, ux: SIMD3<Float>, uy: SIMD3<Float>, uz: SIMD3<Float>) {
            // NaN (a field with huge vectors overflowing) is taken as 0, never converted to an index.
            let c = SIMD3(j.x.isNaN ? 0 : min(max(j.x, 0), last.x), j.y.isNaN ? 0 : min(max(j.y, 0), last.y),
                          j.z.isNaN ? 0 : min(max(j.z, 0), last.z))
            // The cell below the last face: the fraction is then 1 there (0 on a one-voxel axis).
            let ix = min(Int(c.x), lastCell.x), iy = min(Int(c.y), lastCell.y), iz = min(Int(c.z), lastCell.z)
            let t = c - SIMD3(Float(ix), Float(iy), Float(iz))
            let p = u + 3 &* (ix &+ iy &* nx &+ iz &* nx &* ny)
            let c000 = vector3(p, 0), c100 = vector3(p + dx, 0), c010 = vector3(p + dy, 0), c110 = vector3(p + dy + dx, 0)
            let c001 = vector3(p + dz, 0), c101 = vector3(p + dz + dx, 0), c011 = vector3(p + dz + dy, 0)
            let c111 = vector3(p + dz + dy + dx, 0)
            let d00 = c100 - c000, d10 = c110 - c010, d01 = c101 - c001, d11 = c111 - c011
            let a00 = c000 + d00 * t.x, a10 = c010 + d10 * t.x, a01 = c001 + d01 * t.x, a11 = c011 + d11 * t.x
            let b0 = a00 + (a10 - a00) * t.y, b1 = a01 + (a11 - a01) * t.y
            let e0 = d00 + (d10 - d00) * t.y, e1 = d01 + (d11 - d01) * t.y
            let ux = j.x == c.x ? e0 + (e1 - e0) * t.z : .zero
            let uy = j.y == c.y ? (a10 - a00) + ((a11 - a01) - (a10 - a00)) * t.z : .zero
            let uz = j.z == c.z ? b1 - b0 : .zero
            return (w + b0 + (b1 - b0) * t.z, ux, uy, uz)
        }

        /// Solves the voxels of grid row `row`, writing their vectors to `out` (the whole field).
        @inline(__always)
        func row(_ row: Int, u: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
            let y = Float(row % ny), z = Float(row / ny)
            let (m, toleranceSquared, iterations) = (m, toleranceSquared, iterations)
            // The last two voxels' solutions, while both converged: a smooth inverse continues
            // along the row, so their linear extrapolation starts closer than `−u(x)`.
            var (previous, beforePrevious, solved) = (SIMD3<Float>.zero, SIMD3<Float>.zero, 0)
            for x in 0..<nx {
                let voxel = row &* nx &+ x
                let origin = SIMD3<Float>(Float(x), y, z)
                var w = solved >= 2 ? 2 * previous - beforePrevious : -vector3(u, voxel)
                var (r, ux, uy, uz) = residual(w, at: origin + m.apply(w), u: u)
                var size = (r * r).sum()
                var steps = 0
                while size >= toleranceSquared && steps < iterations {
                    // J = I + (∂u/∂j)·P: its columns, then Cramer's rule for J·s = r.
                    let (c0, c1, c2) = m.identityPlus(ux, uy, uz)
                    let c12 = cross(c1, c2), det = (c0 * c12).sum()
                    // A folded or nearly singular Jacobian gets a damped fixed-point step instead.
                    var s = det > 1e-3 ? SIMD3((r * c12).sum(), (c0 * cross(r, c2)).sum(), (c0 * cross(c1, r)).sum()) / det : 0.5 * r
                    while true {
                        steps &+= 1
                        let next = w - s
                        let trial = residual(next, at: origin + m.apply(next), u: u)
                        let trialSize = (trial.r * trial.r).sum()
                        if trialSize < size {
                            (w, r, ux, uy, uz, size) = (next, trial.r, trial.ux, trial.uy, trial.uz, trialSize)
                            break
                        }
                        guard steps < iterations else { break }
                        s *= 0.5
                    }
                }
                (beforePrevious, previous, solved) = (previous, w, size < toleranceSquared ? solved &+ 1 : 0)
                out[3 &* voxel] = w.x; out[3 &* voxel &+ 1] = w.y; out[3 &* voxel &+ 2] = w.z
            }
        }
    }
}
