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

    /// `count` levels from values given once for every level or once per level (nil: not
    /// given); what is not given comes from `defaults`, matched from the finest level, so
    /// `iterations: [100, 50]` over a 4-2-1 schedule keeps shrink 2 and 1. Callers check the
    /// values and their counts.
    ///
    /// ```swift
    /// let levels = Level.schedule(count: 2, shrink: nil, sigmas: nil, iterations: [100, 50], defaults: LinearStage.defaultLevels)
    /// ```
    public static func schedule(count: Int, shrink: [Int]?, sigmas: [GaussianSmoothing.Sigma]?, iterations: [Int]?,
                                defaults: [Level]) -> [Level] {
        func pick<T>(_ values: [T]?, _ k: Int, _ fallback: T) -> T {
            guard let values else { return fallback }
            return values.count == 1 ? values[0] : values[k]
        }
        return (0..<count).map { k in
            let d = defaults[min(k + max(0, defaults.count - count), defaults.count - 1)]
            return Level(shrink: pick(shrink, k, d.shrink), sigma: pick(sigmas, k, d.sigma), iterations: pick(iterations, k, d.iterations))
        }
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
