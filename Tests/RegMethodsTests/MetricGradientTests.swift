import Testing
import RegCore
import RegIO
import RegKernels
import RegMetrics
import RegTestSupport
import RegTransforms

/// Analytic parameter gradients of every metric against central finite differences, on small
/// crops of a real brain on an oblique, anisotropic grid.
@Suite(.enabled(if: SharedData.isAvailable, Comment(rawValue: SharedData.skipMessage)))
struct MetricGradientTests {
    static let metrics: [Metric] = [.meanSquares, .normalizedCorrelation, .mutualInformation(bins: 24),
                                        .normalizedMutualInformation(bins: 24), .meanAbsoluteDifference]

    /// A 3-D crop pair: fixed = crop of the oblique brain, moving = the same brain through a small
    /// known affine, both smoothed so the cost is smooth at the finite-difference scale.
    static func pair(dimension: Int) throws -> (Image<Float>, Image<Float>) {
        let brain = try BrainCases.obliqueBrain(factor: 4)
        let smooth = GaussianSmoothing.smooth(brain, sigma: .voxels(1))
        let g = smooth.geometry
        let size = dimension == 3 ? SIMD3(24, 22, 20) : SIMD3(30, 34, 1)
        let start = SIMD3(8, 8, dimension == 3 ? 14 : 27)
        var crop = Image<Float>(geometry: try Geometry(size: size, spacing: g.spacing,
                                                       origin: g.physicalPoint(ofIndex: SIMD3<Double>(start)),
                                                       direction: g.direction, dimension: dimension))
        for z in 0..<size.z { for y in 0..<size.y { for x in 0..<size.x {
            crop[x, y, z] = smooth[x + start.x, y + start.y, z + start.z]
        } } }
        let c = BrainCases.center(crop.geometry)
        var turn = AffineMap(matrix: .rotation(axis: 2, angle: 0.05) * Matrix3.diagonal(SIMD3(1.03, 0.98, dimension == 3 ? 1.01 : 1)),
                             translation: SIMD3(1.3, -0.8, dimension == 3 ? 0.6 : 0), center: c)
        if dimension == 2 { turn.translation.z = 0 }
        let moving = try Resampler.resample(smooth, onto: try Geometry(size: size &+ SIMD3(4, 4, dimension == 3 ? 4 : 0),
                                                                        spacing: g.spacing,
                                                                        origin: crop.geometry.physicalPoint(ofIndex: SIMD3(-2, -2, dimension == 3 ? -2 : 0)),
                                                                        direction: g.direction, dimension: dimension),
                                            mapping: PointMapping(turn), interpolation: .linear)
        return (crop, moving)
    }

    @Test(arguments: [3, 2], [LinearModel.rigid, .similarity, .affine])
    func analyticGradientMatchesFiniteDifferences(dimension: Int, model: LinearModel) throws {
        let (fixed, moving) = try Self.pair(dimension: dimension)
        let c = BrainCases.center(fixed.geometry)
        let samples = try FixedSamples(fixed, strategy: .full, center: c)
        for kind in Self.metrics {
            var metric = try ImageMetric(kind, samples: samples, moving: moving)
            // A point away from the optimum, so the gradient is not near zero.
            var t = LinearTransform(model, dimension: dimension, center: c,
                                    approximating: AffineMap(matrix: .rotation(axis: 2, angle: 0.02), translation: SIMD3(0.7, 0.4, dimension == 3 ? -0.3 : 0), center: c))
            if model == .affine { t.parameters[1] += 0.01 }
            let analytic = try metric.evaluate(t).gradient
            let scales = t.physicalShiftScales(at: fixed.geometry.cornerPoints)
            var worst = 0.0
            let norm = zip(analytic, scales).map { $0 / $1 }.map { $0 * $0 }.reduce(0, +).squareRoot()
            for k in analytic.indices {
                let h = 1e-3 / scales[k]   // about 1e-3 mm of motion
                var plus = t, minus = t
                plus.parameters[k] += h; minus.parameters[k] -= h
                let fd = (try metric.evaluate(plus, gradient: false).value - metric.evaluate(minus, gradient: false).value) / (2 * h)
                // Error relative to the gradient's size (in scaled units, so parameters compare).
                worst = max(worst, abs(fd - analytic[k]) / scales[k] / norm)
            }
            #expect(worst < 1e-3, "\(kind.name) \(model) \(dimension)-D: relative error \(worst)")
        }
    }
}
