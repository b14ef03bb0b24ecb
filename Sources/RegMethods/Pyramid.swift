import RegCore
import RegKernels

/// One resolution level of a stage: shrink factor, smoothing and iteration budget (ANTs'
/// `--shrink-factors`, `--smoothing-sigmas`, `--convergence`).
///
/// ```swift
/// let levels = [Level(shrink: 4, sigma: .voxels(2), iterations: 200), Level(shrink: 1, sigma: .voxels(0), iterations: 50)]
/// ```
public struct Level: Equatable, Sendable {
    public var shrink: Int
    /// Smoothing applied before shrinking, in voxels of the full-resolution image or in mm.
    public var sigma: GaussianSmoothing.Sigma
    public var iterations: Int

    public init(shrink: Int, sigma: GaussianSmoothing.Sigma, iterations: Int) {
        self.shrink = shrink
        self.sigma = sigma
        self.iterations = iterations
    }
}

extension Level {
    /// ANTs' usual pyramid: shrink factors (4, 2, 1 by default) smoothed by half the factor in
    /// voxels (none at full resolution), with these iterations, coarsest first.
    ///
    /// ```swift
    /// let levels = Level.pyramid(iterations: [200, 100, 50])   // 4x2x1, 2x1x0 voxels
    /// ```
    public static func pyramid(iterations: [Int], shrink: [Int] = [4, 2, 1]) -> [Level] {
        zip(shrink, iterations).map { s, n in Level(shrink: s, sigma: .voxels(s > 1 ? Double(s) / 2 : 0), iterations: n) }
    }
}

/// What a pyramid level's images depend on (not its iteration count).
struct PyramidKey: Hashable {
    let shrink: Int
    let sigma: GaussianSmoothing.Sigma
}

/// Images and masks at one level.
enum Pyramid {
    /// The image smoothed by `level.sigma` and shrunk by `level.shrink` (in-plane for 2-D images).
    static func image(_ image: Image<Float>, at level: Level) throws -> Image<Float> {
        guard level.shrink > 1 else { return GaussianSmoothing.smooth(image, sigma: level.sigma) }
        return try Shrink.shrink(image, factors: SIMD3(repeating: level.shrink), sigma: level.sigma)
    }

    /// A mask carried onto a level grid (nearest neighbour).
    static func mask(_ mask: Image<UInt8>, onto geometry: Geometry) throws -> Image<UInt8> {
        guard !mask.geometry.sameGrid(as: geometry) else { return mask }
        return try Resampler.resample(mask, onto: geometry, interpolation: .nearest)
    }
}
