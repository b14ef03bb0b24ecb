import RegCore

/// Downsampling for multi-resolution pyramids.
public enum Shrink {
    /// The grid of an image shrunk by integer `factors`: voxel `i` of the new grid sits at the
    /// centre of the block of source voxels `f·i … f·i + f − 1`.
    public static func geometry(of g: Geometry, factors: SIMD3<Int>) throws -> Geometry {
        var f = factors
        if g.dimension == 2 { f.z = 1 }
        for a in 0..<3 where f[a] < 1 {
            throw RegError.invalidArgument(name: "shrink factor", reason: "must be ≥ 1, found \(f[a])")
        }
        var size = SIMD3<Int>(1, 1, 1)
        for a in 0..<3 { size[a] = max(1, g.size[a] / f[a]) }
        let df = SIMD3<Double>(f)
        let origin = g.origin + g.direction * (g.spacing * (df - 1) * 0.5)
        return try Geometry(size: size, spacing: g.spacing * df, origin: origin, direction: g.direction, dimension: g.dimension)
    }

    /// Smooths with `sigma` (default: 0.5·factor voxels on each shrunk axis) and samples the
    /// block centres linearly.
    ///
    /// ```swift
    /// let coarse = try Shrink.shrink(image, factors: SIMD3(4, 4, 4))
    /// ```
    public static func shrink(_ image: Image<Float>, factors: SIMD3<Int>, sigma: GaussianSmoothing.Sigma? = nil) throws -> Image<Float> {
        let target = try geometry(of: image.geometry, factors: factors)
        let defaultSigma = GaussianSmoothing.Sigma.perAxisVoxels(SIMD3<Double>(factors.replacing(with: 0, where: factors .== 1)) * 0.5)
        let smoothed = GaussianSmoothing.smooth(image, sigma: sigma ?? defaultSigma)
        return try Resampler.resample(smoothed, onto: target, interpolation: .linear)
    }
}
