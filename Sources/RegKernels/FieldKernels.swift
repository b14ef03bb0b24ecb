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
    /// `(id + u) ∘ (id + s·v)`: the map that applies `s·v` first, as the displacement
    /// `s·v(x) + u(x + s·v(x))` on the common grid (`s` = `scale`, 1 by default).
    ///
    /// With `smoothing`, the result is the composition smoothed by that Gaussian
    /// (`GaussianSmoothing.smooth`, the same values), each slice composed as the smoothing reads
    /// it, so the unsmoothed composition is never stored whole.
    ///
    /// ```swift
    /// let next = FieldKernels.compose(phi, after: update, scale: 0.1, smoothing: .voxels(0.25))
    /// ```
    public static func compose(_ u: VectorField, after v: VectorField, scale: Float = 1,
                               smoothing: GaussianSmoothing.Sigma? = nil) -> VectorField {
        precondition(u.geometry.sameGrid(as: v.geometry), "fields on different grids")
        return v.vectors.withUnsafeBufferPointer { vb in
            composed(u, steps: ScaledField(vb.baseAddress!, nx: v.geometry.size.x, scale: scale), smoothing: smoothing)
        }
    }

    /// `(id + u) ∘ (id + w)` on `u`'s grid for the step field `w` of `steps`, rows in parallel,
    /// smoothed slice by slice as it is made when `smoothing` is given.
    static func composed<Steps: StepSource>(_ u: VectorField, steps: Steps, smoothing: GaussianSmoothing.Sigma?) -> VectorField {
        let g = u.geometry
        let composition = Composition(grid: g)
        let (nx, ny) = (g.size.x, g.size.y)
        let sendableSteps = UnsafeSendable(steps)
        if let kernels = smoothing.map({ GaussianSmoothing.Kernels(sigma: $0, geometry: g) }), !kernels.isEmpty {
            let values = u.vectors.withUnsafeBufferPointer { ub in
                let up = UnsafeSendable(ub.baseAddress!)
                return GaussianSmoothing.smoothSlices(size: g.size, components: 3, kernels: kernels) { z, slice in
                    let scratch = Composition.Scratch(width: nx)
                    defer { scratch.deallocate() }
                    for y in 0..<ny {
                        composition.row(z &* ny &+ y, u: up.value, steps: sendableSteps.value, into: slice + 3 &* y &* nx, scratch: scratch)
                    }
                    return UnsafePointer(slice)
                }
            }
            return try! VectorField(image: Image(geometry: g, components: 3, voxels: values))
        }
        // Every value is written below: the field starts uninitialised.
        return VectorField(geometry: g) { outputs in
            u.vectors.withUnsafeBufferPointer { ub in
                let up = UnsafeSendable(ub.baseAddress!), op = UnsafeSendable(outputs)
                parallelFor(count: ny * g.size.z, chunkSize: max(1, ny / 4)) { rows in
                    let scratch = Composition.Scratch(width: nx)
                    defer { scratch.deallocate() }
                    for row in rows {
                        composition.row(row, u: up.value, steps: sendableSteps.value, into: op.value + 3 &* row &* nx, scratch: scratch)
                    }
                }
            }
        }
    }

    /// The constants of `(id + u) ∘ (id + w)` on one grid, and its row kernel, for a step field
    /// `w` that a `StepSource` gives a row at a time.
    struct Composition {
        let nx: Int, ny: Int, nz: Int
        let m: Matrix3Float
        let lastX: Float, lastY: Float, lastZ: Float
        /// Corners below these indices have a neighbour along every axis (a single-voxel axis
        /// has none: its offset is 0 and its fraction 0).
        let limitX: UInt32, limitY: UInt32, limitZ: UInt32
        let dx: Int, dy: Int, dz: Int
        /// Pass 2 reads 4 floats per corner: the cell whose far corner is the last voxel goes
        /// through the edge path, which reads 3. In voxels.
        let cornerLimit: Int32

        init(grid g: Geometry) {
            (nx, ny, nz) = (g.size.x, g.size.y, g.size.z)
            precondition(g.voxelCount < Int(Int32.max), "a field of \(g.voxelCount) voxels: corners are indexed by 32-bit integers")
            m = Matrix3Float(g.physicalToIndex)
            (lastX, lastY, lastZ) = (Float(nx - 1), Float(ny - 1), Float(nz - 1))
            (limitX, limitY, limitZ) = (UInt32(max(1, nx - 1)), UInt32(max(1, ny - 1)), UInt32(max(1, nz - 1)))
            (dx, dy, dz) = (nx > 1 ? 3 : 0, ny > 1 ? 3 * nx : 0, nz > 1 ? 3 * nx * ny : 0)
            cornerLimit = Int32(nx * ny * nz - 1 - (dx + dy + dz) / 3)
        }

        /// Per-thread buffers for one row (at least 16 voxels wide, for pass 1's blocks): each
        /// voxel's step, fractions and corner voxel.
        struct Scratch {
            let steps: UnsafeMutablePointer<Float>, fractions: UnsafeMutablePointer<Float>, corners: UnsafeMutablePointer<Int32>
            let width: Int
            init(width: Int) {
                self.width = max(16, width)
                steps = .allocate(capacity: 3 * self.width)
                fractions = .allocate(capacity: 3 * self.width)
                corners = .allocate(capacity: self.width)
                // Lanes past a row shorter than 16 compute from zero steps, and are not read.
                steps.initialize(repeating: 0, count: 3 * self.width)
            }
            func deallocate() { steps.deallocate(); fractions.deallocate(); corners.deallocate() }
        }

        /// Pass 1 for the 16 voxels from `x0` of a row at index (·, y, z): each one's clamped
        /// sample point `(x, y, z) + P·w` split into the corner voxel (-1 where a neighbour is
        /// missing: the grid's last face, or a NaN) and the fractions, as the scalar
        /// `min(max(j, 0), last)` and `Resampler.floorOfSmall` give them.
        @inline(__always)
        func samplePoints(_ x0: Int, y: Float, z: Float, scratch: Scratch) {
            typealias F = Lanes16.F
            typealias I = SIMD16<Int32>
            @inline(__always) func load(_ p: UnsafeMutablePointer<Float>) -> F { Lanes16.load(p + x0) }
            @inline(__always) func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<V.Scalar>) { Lanes16.store(v, p + x0) }
            @inline(__always) func clampedFloor(_ j: F, last: Float) -> (index: I, fraction: F) {
                let low = j.replacing(with: 0, where: F.zero .>= j)
                let c = low.replacing(with: last, where: F(repeating: last) .< low)
                // c + 2²³ holds round(c) in its low mantissa bits, and less 2²³ is round(c)
                // exactly: no lane-by-lane integer conversion.
                let shifted = c + F(repeating: 8388608)
                let rounded = unsafeBitCast(unsafeBitCast(shifted, to: SIMD16<UInt32>.self) & 0x7F_FFFF, to: I.self)
                let r = shifted - F(repeating: 8388608), down = r .> c
                return (rounded.replacing(with: rounded &- 1, where: down), c - r.replacing(with: r - 1, where: down))
            }
            let w = scratch.width
            let (ox, oy, oz) = (load(scratch.steps), load(scratch.steps + w), load(scratch.steps + 2 &* w))
            let lanes = F(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
            // (r · w) summed as SIMD3's sum() does: ((r.x·w.x + r.y·w.y) + r.z·w.z).
            let jx = (F(repeating: Float(x0)) + lanes) + (m.r0.x * ox + m.r0.y * oy + m.r0.z * oz)
            let jy = F(repeating: y) + (m.r1.x * ox + m.r1.y * oy + m.r1.z * oz)
            let jz = F(repeating: z) + (m.r2.x * ox + m.r2.y * oy + m.r2.z * oz)
            let (ix, tx) = clampedFloor(jx, last: lastX), (iy, ty) = clampedFloor(jy, last: lastY)
            let (iz, tz) = clampedFloor(jz, last: lastZ)
            store(tx, scratch.fractions); store(ty, scratch.fractions + w); store(tz, scratch.fractions + 2 &* w)
            // Negative indices (only from a NaN) are large unsigned ones; within the limits on
            // every axis the corner cannot overflow. Integer lanes compare with a vector: against
            // a scalar, Swift compares them one lane at a time.
            typealias U = SIMD16<UInt32>
            let corner = ix &+ iy &* Int32(truncatingIfNeeded: nx) &+ iz &* Int32(truncatingIfNeeded: nx &* ny)
            @inline(__always) func unsigned(_ i: I) -> U { unsafeBitCast(i, to: U.self) }
            let outside = unsigned(ix) .>= U(repeating: limitX) .| unsigned(iy) .>= U(repeating: limitY)
                .| unsigned(iz) .>= U(repeating: limitZ) .| corner .>= I(repeating: cornerLimit)
            store(corner.replacing(with: -1, where: outside), scratch.corners)
        }

        /// Grid row `row`: `out[3x…] = w(x) + u(x + w(x))`, with `out` pointing at the row's first
        /// vector and `u` at the whole field.
        @inline(__always)
        func row<Source: StepSource>(_ row: Int, u uu: UnsafePointer<Float>, steps source: Source,
                                     into or: UnsafeMutablePointer<Float>, scratch: Scratch) {
            let w = scratch.width
            let (sx, sy, sz) = (scratch.steps, scratch.steps + w, scratch.steps + 2 &* w)
            let (tx, ty, tz) = (scratch.fractions, scratch.fractions + w, scratch.fractions + 2 &* w)
            let corners = scratch.corners
            let y = Float(row % ny), z = Float(row / ny)
            let xs = 0..<nx
            source.fill(row: row, x: sx, y: sy, z: sz)
            // Pass 1 computes the clamped sample points 16 at a time (a row that is not a
            // multiple of 16 ends with a block overlapping the one before); pass 2 gathers and
            // interpolates: fewer live registers in each loop.
            if nx >= 16 {
                Lanes16.blocks(0..<nx) { samplePoints($0, y: y, z: z, scratch: scratch) }
            } else {
                samplePoints(0, y: y, z: z, scratch: scratch)
            }
            // Pass 2 reads corner 0 for edge voxels, pass 3 redoes them: no call in pass 2's
            // loop, so its constants stay in registers.
            var edges = 0
            @inline(__always) func composed(_ x: Int) -> SIMD4<Float> {
                let corner = Int(corners[x])
                edges &+= corner < 0 ? 1 : 0
                return trilinear4(uu + 3 &* max(corner, 0), dx, dy, dz, SIMD3(tx[x], ty[x], tz[x])) + SIMD4(sx[x], sy[x], sz[x], 0)
            }
            // Each vector is stored as 4 floats, the 4th overwritten by the next voxel; the
            // row's last vector as 3, so no write leaves the row.
            let last = nx &- 1
            for x in 0..<last { UnsafeMutableRawPointer(or + 3 &* x).storeBytes(of: composed(x), as: SIMD4<Float>.self) }
            let r = composed(last)
            or[3 &* last] = r.x; or[3 &* last &+ 1] = r.y; or[3 &* last &+ 2] = r.z
            guard edges > 0 else { return }
            for x in xs where corners[x] < 0 {
                let own = SIMD3(sx[x], sy[x], sz[x])
                let r = clampedTrilinear(uu, at: SIMD3<Float>(Float(x), y, z) + m.apply(own), size: (nx, ny, nz)) + own
                or[3 &* x] = r.x; or[3 &* x &+ 1] = r.y; or[3 &* x &+ 2] = r.z
            }
        }
    }

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

    /// `exp(v)` of a stationary velocity field by scaling and squaring: `v / 2ⁿ` composed with
    /// itself `n` times. The result is a diffeomorphism when `v / 2ⁿ` is small (under half a voxel).
    public static func exponential(_ v: VectorField, steps: Int) -> VectorField {
        var u = v.scaled(by: Float(1.0 / Double(1 << max(0, steps))))
        for _ in 0..<max(0, steps) { u = compose(u, after: u) }
        return u
    }

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
            let c = SIMD3(min(max(j.x, 0), last.x), min(max(j.y, 0), last.y), min(max(j.z, 0), last.z))
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

    @inline(__always) static func cross(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> SIMD3<Float> {
        SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
    }

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
        let values = [Float](unsafeUninitializedCapacity: g.voxelCount) { buffer, count in
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

    @inline(__always) static func vector3(_ p: UnsafePointer<Float>, _ voxel: Int) -> SIMD3<Float> {
        SIMD3(p[3 &* voxel], p[3 &* voxel &+ 1], p[3 &* voxel &+ 2])
    }

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

    /// `(id + u) ∘ (id + w)` for the step `w(x) = scale·v(x) + weight·∇ᵢl(x)`, with `∇ᵢl` the
    /// central-difference gradient of the scalar image `l` in index units (one-sided at the
    /// edges) carried to LPS mm through the spacing and direction cosines: a step of `weight`
    /// voxels per unit of `l`'s change per voxel. The step is made a row at a time as the
    /// composition reads it. Fields and image share one grid. `smoothing` smooths the result
    /// as in `compose(_:after:scale:smoothing:)`.
    ///
    /// ```swift
    /// // SyN's volume penalty: the scaled update plus κ·∇(G ∗ log det J), composed into the half field.
    /// let next = FieldKernels.compose(phi, after: update, scale: 0.1, plusVoxelGradientOf: logJ, weight: 1.25)
    /// ```
    public static func compose(_ u: VectorField, after v: VectorField, scale: Float, plusVoxelGradientOf l: Image<Float>,
                               weight: Float, smoothing: GaussianSmoothing.Sigma? = nil) -> VectorField {
        let g = v.geometry
        precondition(u.geometry.sameGrid(as: g), "fields on different grids")
        precondition(l.geometry.sameGrid(as: g) && l.components == 1, "a scalar image on the field's grid")
        let dir = g.direction, spacing = g.spacing
        let rows = (SIMD3<Float>(dir.row0 * spacing) * weight, SIMD3<Float>(dir.row1 * spacing) * weight,
                    SIMD3<Float>(dir.row2 * spacing) * weight)
        return v.vectors.withUnsafeBufferPointer { vb in
            l.voxels.withUnsafeBufferPointer { lb in
                composed(u, steps: StepWithGradient(v: vb.baseAddress!, scale: scale, l: lb.baseAddress!, size: g.size, rows: rows),
                         smoothing: smoothing)
            }
        }
    }

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

    @inline(__always) static func lerp(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ t: Float) -> SIMD3<Float> {
        let va = SIMD3<Float>(a[0], a[1], a[2]), vb = SIMD3<Float>(b[0], b[1], b[2])
        return va + (vb - va) * t
    }
}

/// A 3×3 matrix in `Float` for per-voxel work.
struct Matrix3Float {
    let r0: SIMD3<Float>, r1: SIMD3<Float>, r2: SIMD3<Float>
    init(_ m: Matrix3) { r0 = SIMD3<Float>(m.row0); r1 = SIMD3<Float>(m.row1); r2 = SIMD3<Float>(m.row2) }
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

extension VectorField {
    /// Every vector multiplied by `factor`.
    public func scaled(by factor: Float) -> VectorField {
        // Written into a new field in parallel: a copy of `self` first would be one more serial pass.
        VectorField(geometry: geometry) { out in
            vectors.withUnsafeBufferPointer { b in
                let (p, o) = (UnsafeSendable(b.baseAddress!), UnsafeSendable(out))
                parallelFor(count: b.count, chunkSize: 1 << 16) { r in for i in r { o.value[i] = p.value[i] * factor } }
            }
        }
    }

    /// The largest absolute component, in mm.
    public var maxAbsComponent: Double { Double(vectors.reduce(0) { max($0, abs($1)) }) }

    /// The mean and the largest vector length, in mm.
    public var meanAndMaxNorm: (mean: Double, max: Double) {
        let n = geometry.voxelCount
        let sums = vectors.withUnsafeBufferPointer { b in
            let p = UnsafeSendable(b.baseAddress!)
            return parallelReduce(count: n, chunkSize: 1 << 15, initial: SIMD2<Double>.zero,
                                  combine: { SIMD2($0.x + $1.x, max($0.y, $1.y)) }) { range in
                var total = 0.0, largest: Float = 0
                for i in range {
                    let v = SIMD3<Float>(p.value[3 &* i], p.value[3 &* i &+ 1], p.value[3 &* i &+ 2])
                    let length = (v * v).sum().squareRoot()
                    total += Double(length); largest = max(largest, length)
                }
                return SIMD2(total, Double(largest))
            }
        }
        return (sums.x / Double(max(1, n)), sums.y)
    }

}

/// Where a composition's step field comes from, a grid row at a time; specialised, so no call
/// per voxel.
protocol StepSource {
    /// Writes the steps of grid row `row` as three planes of the row's length (x, y and z parts).
    func fill(row: Int, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, z: UnsafeMutablePointer<Float>)
}

/// The step `s·v(x)` of a field.
struct ScaledField: StepSource {
    let v: UnsafePointer<Float>, nx: Int, scale: Float
    init(_ v: UnsafePointer<Float>, nx: Int, scale: Float) { (self.v, self.nx, self.scale) = (v, nx, scale) }

    @inline(__always)
    func fill(row: Int, x sx: UnsafeMutablePointer<Float>, y sy: UnsafeMutablePointer<Float>, z sz: UnsafeMutablePointer<Float>) {
        let (v, scale) = (v + 3 &* row &* nx, scale)
        for x in 0..<nx { sx[x] = v[3 &* x] * scale; sy[x] = v[3 &* x &+ 1] * scale; sz[x] = v[3 &* x &+ 2] * scale }
    }
}

/// The step `s·v(x) + R·∇ᵢl(x)` (`R` the weighted index-to-mm rows) of a field and a scalar image.
struct StepWithGradient: StepSource {
    let v: UnsafePointer<Float>, scale: Float, l: UnsafePointer<Float>
    let size: SIMD3<Int>
    let rows: (SIMD3<Float>, SIMD3<Float>, SIMD3<Float>)

    @inline(__always)
    func fill(row: Int, x sx: UnsafeMutablePointer<Float>, y sy: UnsafeMutablePointer<Float>, z sz: UnsafeMutablePointer<Float>) {
        let nx = size.x
        let (base, upY, downY, upZ, downZ, fy, fz) = RowStencil(row: row, nx: nx, ny: size.y, nz: size.z).parts
        let (v, scale, l, r0, r1, r2) = (v + 3 &* row &* nx, scale, l, rows.0, rows.1, rows.2)
        // Central differences inside, one-sided at the row's ends, none on a single voxel.
        @inline(__always) func write(_ x: Int, _ xm: Int, _ xp: Int, _ fx: Float) {
            let i = base &+ x
            let gi = SIMD3<Float>((l[xp] - l[xm]) * fx, (l[i &+ upY] - l[i &- downY]) * fy, (l[i &+ upZ] - l[i &- downZ]) * fz)
            let k = 3 &* x
            sx[x] = scale * v[k] + (r0 * gi).sum()
            sy[x] = scale * v[k &+ 1] + (r1 * gi).sum()
            sz[x] = scale * v[k &+ 2] + (r2 * gi).sum()
        }
        // The ends apart, so the interior loop has no branch and vectorises.
        write(0, base, base &+ min(1, nx &- 1), nx > 1 ? 1 : 0)
        if nx > 2 { for x in 1..<(nx &- 1) { write(x, base &+ x &- 1, base &+ x &+ 1, 0.5) } }
        if nx > 1 { write(nx &- 1, base &+ nx &- 2, base &+ nx &- 1, 1) }
    }
}

/// Row passes 16 lanes at a time.
enum Lanes16 {
    typealias F = SIMD16<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> F { UnsafeRawPointer(p).loadUnaligned(as: F.self) }

    @inline(__always) static func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<V.Scalar>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// The x, y and z parts of the 16 vectors of 3 interleaved floats from `p`.
    @inline(__always) static func deinterleave(_ p: UnsafePointer<Float>) -> (F, F, F) {
        let a = load(p), b = load(p + 16), c = load(p + 32)
        return (F(a[0], a[3], a[6], a[9], a[12], a[15], b[2], b[5], b[8], b[11], b[14], c[1], c[4], c[7], c[10], c[13]),
                F(a[1], a[4], a[7], a[10], a[13], b[0], b[3], b[6], b[9], b[12], b[15], c[2], c[5], c[8], c[11], c[14]),
                F(a[2], a[5], a[8], a[11], a[14], b[1], b[4], b[7], b[10], b[13], c[0], c[3], c[6], c[9], c[12], c[15]))
    }

    /// Calls `body` with the first index of each block of 16 covering `range` (16 or more long);
    /// the last block overlaps the one before unless the count is a multiple of 16.
    @inline(__always) static func blocks(_ range: Range<Int>, _ body: (Int) -> Void) {
        var x = range.lowerBound
        while x < range.upperBound {
            body(min(x, range.upperBound &- 16))
            x &+= 16
        }
    }
}

/// One grid row's central differences along y and z: the row's first voxel, the offsets to the
/// neighbours above and below (0 at an edge, where the difference is one-sided) and the factors
/// that turn the differences into derivatives per voxel (½ inside, 1 at an edge, 0 on a one-voxel axis).
struct RowStencil {
    let parts: (base: Int, upY: Int, downY: Int, upZ: Int, downZ: Int, sy: Float, sz: Float)

    @inline(__always) init(row: Int, nx: Int, ny: Int, nz: Int) {
        let y = row % ny, z = row / ny, slice = nx &* ny
        let (ym, yp) = (max(0, y - 1), min(ny - 1, y + 1)), (zm, zp) = (max(0, z - 1), min(nz - 1, z + 1))
        parts = (row &* nx, (yp &- y) &* nx, (y &- ym) &* nx, (zp &- z) &* slice, (z &- zm) &* slice,
                 yp > ym ? 1 / Float(yp - ym) : 0, zp > zm ? 1 / Float(zp - zm) : 0)
    }
}
