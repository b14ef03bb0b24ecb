import Testing
import RegCore
import RegIO
import RegKernels
import RegMetrics
import RegTestSupport
import RegTransforms

/// Analytic parameter gradients of every linear metric against central finite differences.
enum GradientCheck {
    static let metrics: [Metric] = [.meanSquares, .normalizedCorrelation, .mutualInformation(bins: 24),
                                    .normalizedMutualInformation(bins: 24), .meanAbsoluteDifference]

    /// The small known affine the moving images are made with (fixed point ↦ moving point).
    static func turn(dimension: Int, center c: SIMD3<Double>) -> AffineMap {
        var turn = AffineMap(matrix: .rotation(axis: 2, angle: 0.05) * Matrix3.diagonal(SIMD3(1.03, 0.98, dimension == 3 ? 1.01 : 1)),
                             translation: SIMD3(1.3, -0.8, dimension == 3 ? 0.6 : 0), center: c)
        if dimension == 2 { turn.translation.z = 0 }
        return turn
    }

    /// For each metric, the largest error of the analytic gradient against central differences
    /// (steps of about 1e-3 mm of motion), relative to the gradient's size in scaled units, at a
    /// point away from the optimum (so the gradient is not near zero).
    static func worstErrors(fixed: Image<Float>, moving: Image<Float>, model: LinearModel) throws -> [(Metric, Double)] {
        let dimension = fixed.geometry.dimension
        let c = fixed.geometry.physicalPoint(ofIndex: (SIMD3<Double>(fixed.geometry.size) - 1) * 0.5)
        let samples = try FixedSamples(fixed, strategy: .full, center: c)
        var out: [(Metric, Double)] = []
        for kind in metrics {
            var metric = try ImageMetric(kind, samples: samples, moving: moving)
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
            out.append((kind, norm > 0 ? worst : .infinity))
        }
        return out
    }
}

/// The analytic gradients on a smooth synthetic pair, so that they are checked without the shared
/// data: a sum of anisotropic Gaussian blobs on an oblique, anisotropic grid with a non-zero
/// origin (fixed), and the same function through a small known affine sampled on another oblique
/// grid with other spacings (moving), so that a wrong index-to-physical conversion of the moving
/// gradient shows.
@Suite struct MetricGradientTests {
    static func phantomPair(dimension: Int) -> (Image<Float>, Image<Float>) {
        let fixedGrid = dimension == 3 ? Phantoms.obliqueGeometry(size: SIMD3(24, 22, 20)) : Phantoms.oblique2DGeometry(size: SIMD2(30, 34))
        let c = fixedGrid.physicalPoint(ofIndex: (SIMD3<Double>(fixedGrid.size) - 1) * 0.5)
        let extent = fixedGrid.spacing * SIMD3<Double>(fixedGrid.size &- 1) * 0.3
        let object = Phantoms.blobs(center: c, extent: SIMD3(repeating: min(extent.x, extent.y)), dimension: dimension, seed: 17)
        let turn = GradientCheck.turn(dimension: dimension, center: c)
        let inverse = turn.inverse!
        let movingGrid = dimension == 3
            ? Phantoms.grid(covering: fixedGrid.cornerPoints.map(turn.apply), spacing: SIMD3(1.1, 0.95, 1.7),
                            direction: Phantoms.rotation(20, -10, 35), margin: 3)
            : Phantoms.grid(covering: fixedGrid.cornerPoints.map(turn.apply), spacing: SIMD3(1.1, 0.95, 1),
                            direction: .rotation(axis: 2, angle: -0.5), margin: 3, dimension: 2)
        return (Phantoms.image(on: fixedGrid, object), Phantoms.image(on: movingGrid) { object(inverse.apply($0)) })
    }

    @Test(arguments: [3, 2], [LinearModel.rigid, .similarity, .affine])
    func analyticGradientMatchesFiniteDifferencesOnAPhantom(dimension: Int, model: LinearModel) throws {
        let (fixed, moving) = Self.phantomPair(dimension: dimension)
        #expect(fixed.geometry.dimension == dimension && moving.geometry.dimension == dimension)
        for (kind, worst) in try GradientCheck.worstErrors(fixed: fixed, moving: moving, model: model) {
            #expect(worst < 1e-3, "\(kind.name) \(model) \(dimension)-D: relative error \(worst)")
        }
    }

    /// A weighted sum of measures (one sampling of the moving image) is the weighted sum of each
    /// measure alone, value and gradient; a lone measure of weight 1 is that measure to the bit.
    @Test func weightedSumIsTheSumOfItsMeasures() throws {
        let (fixed, moving) = Self.phantomPair(dimension: 3)
        let c = fixed.geometry.physicalPoint(ofIndex: (SIMD3<Double>(fixed.geometry.size) - 1) * 0.5)
        let samples = try FixedSamples(fixed, strategy: .full, center: c)
        let t = LinearTransform(.affine, dimension: 3, center: c,
                                approximating: AffineMap(matrix: .rotation(axis: 2, angle: 0.02), translation: SIMD3(0.7, 0.4, -0.3), center: c))
        let terms = [WeightedMetric(.meanSquares, weight: 0.3), WeightedMetric(.mutualInformation(bins: 24), weight: 2),
                     WeightedMetric(.normalizedCorrelation, weight: 0.5)]
        var sum = try ImageMetric(terms, samples: samples, moving: moving)
        let total = try sum.evaluate(t)
        var value = 0.0, gradient = [Double](repeating: 0, count: total.gradient.count)
        for term in terms {
            var one = try ImageMetric(term.metric, samples: samples, moving: moving)
            let r = try one.evaluate(t)
            var lone = try ImageMetric([WeightedMetric(term.metric)], samples: samples, moving: moving)
            let same = try lone.evaluate(t)
            #expect(same.value == r.value && same.gradient == r.gradient)
            value += term.weight * r.value
            for i in gradient.indices { gradient[i] += term.weight * r.gradient[i] }
        }
        #expect(abs(total.value - value) <= 1e-12 * abs(value))
        let scale = gradient.map(abs).max()!
        #expect(zip(total.gradient, gradient).allSatisfy { abs($0 - $1) <= 1e-9 * scale }, "\(total.gradient) against \(gradient)")
    }
}

/// The same check on small crops of a real brain on an oblique, anisotropic grid.
@Suite(.enabled(if: SharedData.isAvailable, Comment(rawValue: SharedData.skipMessage)))
struct MetricGradientBrainTests {
    /// `clapirn/image_A_fullsize` shrunk by 4 on an oblique, anisotropic grid with a non-zero origin
    /// (as `BrainCases.obliqueBrain(factor: 4)` in RegMethodsTests).
    static func obliqueBrain() throws -> Image<Float> {
        let image = try ImageFile.read(SharedData.path("brain/clapirn/image_A_fullsize.nii.gz")).image.floatImage()
        let small = try Shrink.shrink(image, factors: SIMD3(repeating: 4))
        let g = try Geometry(size: small.geometry.size, spacing: SIMD3<Double>(1.9, 2.15, 2.3) * 2, origin: SIMD3(-83.5, 101.25, -47.0),
                             direction: Phantoms.rotation(8, -12, 15))
        return try Image(geometry: g, voxels: small.voxels)
    }

    /// A crop pair: fixed = crop of the oblique brain, moving = the same brain through a small
    /// known affine, both smoothed so the cost is smooth at the finite-difference scale.
    static func pair(dimension: Int) throws -> (Image<Float>, Image<Float>) {
        let smooth = GaussianSmoothing.smooth(try obliqueBrain(), sigma: .voxels(1))
        let g = smooth.geometry
        let size = dimension == 3 ? SIMD3(24, 22, 20) : SIMD3(30, 34, 1)
        let start = SIMD3(8, 8, dimension == 3 ? 14 : 27)
        var crop = Image<Float>(geometry: try Geometry(size: size, spacing: g.spacing,
                                                       origin: g.physicalPoint(ofIndex: SIMD3<Double>(start)),
                                                       direction: g.direction, dimension: dimension))
        for z in 0..<size.z { for y in 0..<size.y { for x in 0..<size.x {
            crop[x, y, z] = smooth[x + start.x, y + start.y, z + start.z]
        } } }
        let c = crop.geometry.physicalPoint(ofIndex: (SIMD3<Double>(size) - 1) * 0.5)
        let turn = GradientCheck.turn(dimension: dimension, center: c)
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
        for (kind, worst) in try GradientCheck.worstErrors(fixed: fixed, moving: moving, model: model) {
            #expect(worst < 1e-3, "\(kind.name) \(model) \(dimension)-D: relative error \(worst)")
        }
    }
}
