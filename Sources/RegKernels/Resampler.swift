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
            var out = Image<Float>(geometry: target, components: image.components)
            for c in 0..<image.components {
                let part = try resample(image.component(c), onto: target, mapping: mapping, interpolation: interpolation, defaultValue: defaultValue)
                for i in 0..<target.voxelCount { out.voxels[i * image.components + c] = part.voxels[i] }
            }
            return out
        }
        let bounds = SourceBounds(image.geometry.size)
        switch interpolation {
        case .linear:
            return image.voxels.withUnsafeBufferPointer { src in
                run(LinearSampler(data: src.baseAddress!, bounds: bounds), from: image.geometry, onto: target, mapping: mapping, outside: defaultValue)
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
            var out = Image<T>(geometry: target, components: image.components)
            for c in 0..<image.components {
                let part = try resample(image.component(c), onto: target, mapping: mapping, interpolation: interpolation, defaultValue: defaultValue)
                for i in 0..<target.voxelCount { out.voxels[i * image.components + c] = part.voxels[i] }
            }
            return out
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
            [S.Output](unsafeUninitializedCapacity: count) { buffer, initialized in
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

    static func withFieldPointer<R>(_ field: VectorField?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let field else { return body(nil) }
        return field.vectors.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
