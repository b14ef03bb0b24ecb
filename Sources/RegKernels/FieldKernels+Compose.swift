// FieldKernels: composition of displacement fields (Composition's row kernel), scaling and squaring, and the step with a volume-penalty gradient.
import RegCore
import Synchronization

extension FieldKernels {
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

    /// `exp(v)` of a stationary velocity field by scaling and squaring: `v / 2ⁿ` composed with
    /// itself `n` times. The result is a diffeomorphism when `v / 2ⁿ` is small (under half a voxel).
    public static func exponential(_ v: VectorField, steps: Int) -> VectorField {
        var u = v.scaled(by: Float(1.0 / Double(1 << max(0, steps))))
        for _ in 0..<max(0, steps) { u = compose(u, after: u) }
        return u
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
}
