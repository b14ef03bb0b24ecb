import RegCore

/// Resamples images onto any target grid through a `PointMapping`, in parallel over rows.
///
/// The output voxel at target index `i` takes the source value at
/// `mapping.map(target.physicalPoint(i))`; points more than half a voxel outside the source
/// get `defaultValue`. Results are bitwise identical for any thread count.
///
/// ```swift
/// let resampled = try Resampler.resample(moving, onto: fixed.geometry)                   // linear
/// let warped = try Resampler.resample(moving, onto: field.geometry, mapping: PointMapping(displacement: field))
/// let labels = try Resampler.resample(seg, onto: fixed.geometry, interpolation: .label) // Image<Int32>
/// ```
public enum Resampler {
    /// Resamples a float image (each component separately) with any interpolation; `.label`
    /// treats the values as labels.
    public static func resample(_ image: Image<Float>, onto target: Geometry, mapping: PointMapping = .identity,
                                interpolation: Interpolation = .linear, defaultValue: Float = 0) throws -> Image<Float> {
        try check(mapping, target: target)
        if image.components > 1 {
            return try eachComponent(of: image, onto: target) {
                try resample($0, onto: target, mapping: mapping, interpolation: interpolation, defaultValue: defaultValue)
            }
        }
        let bounds = SourceBounds(image.geometry.size)
        switch interpolation {
        case .linear:
            return image.voxels.withUnsafeBufferPointer { src in
                let sampler = LinearSampler(data: src.baseAddress!, bounds: bounds)
                // The warp loop holds voxel offsets in Int32 and floors indices below 2^22.
                if let field = mapping.displacement, image.geometry.voxelCount < Int(Int32.max),
                   image.geometry.size.max() < 1 << 22 {
                    return warpLinear(sampler, from: image.geometry, by: field, mapping: mapping, outside: defaultValue)
                }
                return run(sampler, from: image.geometry, onto: target, mapping: mapping, outside: defaultValue)
            }
        case .nearest:
            return image.voxels.withUnsafeBufferPointer { src in
                run(NearestSampler(data: src.baseAddress!, bounds: bounds), from: image.geometry, onto: target, mapping: mapping, outside: defaultValue)
            }
        case .bspline:
            let coefficients = BSplinePrefilter.coefficients(of: image)
            return coefficients.voxels.withUnsafeBufferPointer { src in
                run(BSplineSampler(coefficients: src.baseAddress!, bounds: bounds), from: image.geometry, onto: target, mapping: mapping, outside: defaultValue)
            }
        case .label:
            let labels = image.converted(to: Int32.self)
            return try resample(labels, onto: target, mapping: mapping, interpolation: .label,
                                defaultValue: Int32(clampingDouble: Double(defaultValue))).converted(to: Float.self)
        }
    }

    /// Resamples an image of any scalar type, keeping the type: nearest and label interpolation
    /// copy values; linear and B-spline interpolate in `Float` and round (and clamp) back.
    public static func resample<T: VoxelScalar>(_ image: Image<T>, onto target: Geometry, mapping: PointMapping = .identity,
                                                interpolation: Interpolation, defaultValue: T = .zero) throws -> Image<T> {
        if let floats = image as? Image<Float> {
            return try resample(floats, onto: target, mapping: mapping, interpolation: interpolation,
                                defaultValue: defaultValue as! Float) as! Image<T>
        }
        try check(mapping, target: target)
        guard interpolation == .nearest || interpolation == .label else {
            return try resample(image.converted(to: Float.self), onto: target, mapping: mapping, interpolation: interpolation,
                                defaultValue: Float(defaultValue.doubleValue)).converted(to: T.self)
        }
        if image.components > 1 {
            return try eachComponent(of: image, onto: target) {
                try resample($0, onto: target, mapping: mapping, interpolation: interpolation, defaultValue: defaultValue)
            }
        }
        let bounds = SourceBounds(image.geometry.size)
        return image.voxels.withUnsafeBufferPointer { src in
            interpolation == .nearest
                ? run(NearestSampler(data: src.baseAddress!, bounds: bounds), from: image.geometry, onto: target, mapping: mapping, outside: defaultValue)
                : run(LabelSampler(data: src.baseAddress!, bounds: bounds), from: image.geometry, onto: target, mapping: mapping, outside: defaultValue)
        }
    }

    /// Warps `image` by a displacement field: the output lives on the field's grid and takes
    /// `image(x + u(x))`.
    public static func warp(_ image: Image<Float>, by field: VectorField, interpolation: Interpolation = .linear,
                            defaultValue: Float = 0) throws -> Image<Float> {
        try resample(image, onto: field.geometry, mapping: PointMapping(displacement: field), interpolation: interpolation,
                     defaultValue: defaultValue)
    }

    /// Resamples each component of a multi-component image separately.
    static func eachComponent<T: VoxelScalar>(of image: Image<T>, onto target: Geometry,
                                              _ resampleOne: (Image<T>) throws -> Image<T>) rethrows -> Image<T> {
        var out = Image<T>(geometry: target, components: image.components)
        for c in 0..<image.components {
            let part = try resampleOne(image.component(c))
            for i in 0..<target.voxelCount { out.voxels[i * image.components + c] = part.voxels[i] }
        }
        return out
    }

    static func check(_ mapping: PointMapping, target: Geometry) throws {
        if let u = mapping.displacement, !u.geometry.sameGrid(as: target) {
            throw RegError.geometryMismatch("the displacement field's grid (\(u.geometry.size)) is not the target grid (\(target.size))")
        }
    }

    /// The resampling loop, specialised for each sampler.
    static func run<S: VoxelSampler>(_ sampler: S, from source: Geometry, onto target: Geometry, mapping: PointMapping,
                                     outside: S.Output) -> Image<S.Output> where S.Output: VoxelScalar {
        let map = IndexMap(target: target, source: source, mapping: mapping)
        let (nx, ny) = (target.size.x, target.size.y)
        let q = map.displacementToIndex
        let (q0, q1, q2) = (q.column(0), q.column(1), q.column(2))
        let step = map.stepX
        let rows = target.size.y * target.size.z
        let count = target.voxelCount
        let voxels = withFieldPointer(mapping.displacement) { field in
            VoxelBuffer<S.Output>(unsafeUninitializedCapacity: count) { buffer, initialized in
                let d = UnsafeSendable(buffer.baseAddress!)
                let u = UnsafeSendable(field)
                parallelFor(count: rows, chunkSize: max(1, ny / 4)) { rowRange in
                    for row in rowRange {
                        let start = map.rowStart(y: row % ny, z: row / ny)
                        let (bx, by, bz) = (start.x, start.y, start.z)
                        let out = d.value + row &* nx
                        if let f = u.value {
                            let fr = f + 3 &* row &* nx
                            for x in 0..<nx {
                                let ux = Double(fr[3 &* x]), uy = Double(fr[3 &* x &+ 1]), uz = Double(fr[3 &* x &+ 2])
                                let dx = Double(x)
                                (out + x).initialize(to: sampler.sample(
                                    bx + step.x * dx + q0.x * ux + q1.x * uy + q2.x * uz,
                                    by + step.y * dx + q0.y * ux + q1.y * uy + q2.y * uz,
                                    bz + step.z * dx + q0.z * ux + q1.z * uy + q2.z * uz, outside: outside))
                            }
                        } else {
                            for x in 0..<nx {
                                let dx = Double(x)
                                (out + x).initialize(to: sampler.sample(bx + step.x * dx, by + step.y * dx, bz + step.z * dx, outside: outside))
                            }
                        }
                    }
                }
                initialized = count
            }
        }
        return try! Image(geometry: target, voxels: voxels)
    }

    /// The trilinear warp through a dense field, the hottest loop of deformable registration,
    /// written out by hand: coordinates in `Float` (exact to ~1e-5 voxel on grids up to 512),
    /// interior voxels read at fixed strides, the rare edge voxels through the sampler.
    static func warpLinear(_ sampler: LinearSampler, from source: Geometry, by field: VectorField, mapping: PointMapping,
                           outside: Float) -> Image<Float> {
        let target = field.geometry
        let map = IndexMap(target: target, source: source, mapping: mapping)
        let (nx, ny) = (target.size.x, target.size.y)
        let q = map.displacementToIndex
        let rows = target.size.y * target.size.z
        let count = target.voxelCount
        let voxels = field.vectors.withUnsafeBufferPointer { fieldBuffer in
            VoxelBuffer<Float>(unsafeUninitializedCapacity: count) { buffer, initialized in
                let d = UnsafeSendable(buffer.baseAddress!), u = UnsafeSendable(fieldBuffer.baseAddress!)
                parallelFor(count: rows, chunkSize: max(1, ny / 4)) { rowRange in
                    let sampler = sampler, map = map, outside = outside
                    let (sx, sy, sz) = (Float(map.stepX.x), Float(map.stepX.y), Float(map.stepX.z))
                    let (a00, a10, a20) = (Float(q[0, 0]), Float(q[1, 0]), Float(q[2, 0]))
                    let (a01, a11, a21) = (Float(q[0, 1]), Float(q[1, 1]), Float(q[2, 1]))
                    let (a02, a12, a22) = (Float(q[0, 2]), Float(q[1, 2]), Float(q[2, 2]))
                    let (lx, ly, lz) = (Float(sampler.lastX), Float(sampler.lastY), Float(sampler.lastZ))
                    let data = sampler.data, sx1 = sampler.bounds.nx, sxy = sampler.bounds.nxy
                    let f = u.value, output = d.value
                    // Pass 1 computes a row's source coordinates (vectorisable), pass 2 gathers:
                    // fewer live registers in each loop than in one fused loop.
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 3 * nx)
                    let offsets = UnsafeMutablePointer<Int32>.allocate(capacity: nx)
                    defer { scratch.deallocate(); offsets.deallocate() }
                    let cx = scratch, cy = scratch + nx, cz = scratch + 2 * nx
                    let strideY = Int32(truncatingIfNeeded: sx1), strideZ = Int32(truncatingIfNeeded: sxy)
                    for row in rowRange {
                        let start = map.rowStart(y: row % ny, z: row / ny)
                        let (bx, by, bz) = (Float(start.x), Float(start.y), Float(start.z))
                        let out = output + row &* nx
                        let fr = f + 3 &* row &* nx
                        // Pass 1 (vectorised by the compiler): source coordinates split into the
                        // voxel offset and the fractions; -1 marks edge voxels.
                        for x in 0..<nx {
                            let ux = fr[3 &* x], uy = fr[3 &* x &+ 1], uz = fr[3 &* x &+ 2]
                            let dx = Float(x)
                            let jx = bx + sx * dx + a00 * ux + a01 * uy + a02 * uz
                            let jy = by + sy * dx + a10 * ux + a11 * uy + a12 * uz
                            let jz = bz + sz * dx + a20 * ux + a21 * uy + a22 * uz
                            let inside = jx >= 0 && jx < lx && jy >= 0 && jy < ly && jz >= 0 && jz < lz
                            let (ix, fx) = floorOfSmall(jx), (iy, fy) = floorOfSmall(jy), (iz, fz) = floorOfSmall(jz)
                            cx[x] = jx - fx; cy[x] = jy - fy; cz[x] = jz - fz
                            offsets[x] = inside ? ix &+ iy &* strideY &+ iz &* strideZ : -1
                        }
                        // Pass 2: gather and interpolate; edge voxels go through the sampler.
                        for x in 0..<nx {
                            let o = offsets[x]
                            guard o >= 0 else {
                                let ux = Double(fr[3 &* x]), uy = Double(fr[3 &* x &+ 1]), uz = Double(fr[3 &* x &+ 2])
                                let dx = Double(x)
                                out[x] = sampler.border(
                                    start.x + map.stepX.x * dx + q[0, 0] * ux + q[0, 1] * uy + q[0, 2] * uz,
                                    start.y + map.stepX.y * dx + q[1, 0] * ux + q[1, 1] * uy + q[1, 2] * uz,
                                    start.z + map.stepX.z * dx + q[2, 0] * ux + q[2, 1] * uy + q[2, 2] * uz, outside: outside)
                                continue
                            }
                            let tx = cx[x], ty = cy[x], tz = cz[x]
                            out[x] = trilinear(data + Int(o), sx1, sxy, tx, ty, tz)
                        }
                    }
                }
                initialized = count
            }
        }
        return try! Image(geometry: target, voxels: voxels)
    }

    /// `⌊v⌋` as an integer and a float, for `0 ≤ v < 2^22`, by the 2^23 trick (the rounded
    /// integer lands in the mantissa): no trapping conversion and no branch, so the loop around it
    /// vectorises. Values outside that range give garbage, which callers discard.
    @inline(__always) static func floorOfSmall(_ v: Float) -> (Int32, Float) {
        let rounded = Int32(truncatingIfNeeded: (v + 8388608).bitPattern & 0x7F_FFFF)
        let r = Float(rounded)
        let down = r > v
        return (down ? rounded &- 1 : rounded, down ? r - 1 : r)
    }

    static func withFieldPointer<R>(_ field: VectorField?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let field else { return body(nil) }
        return field.vectors.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
