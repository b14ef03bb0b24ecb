import Foundation
import Testing
import RegCore
import RegMethods
import RegMetrics
import RegTestSupport
import RegTransforms

/// Synthetic pairs for linear registration without the shared data: a smooth object of
/// anisotropic Gaussian blobs on an oblique, anisotropic grid with a non-zero origin (fixed), and
/// the same object through the inverse of a known map, sampled on another oblique grid with other
/// spacings (moving), so registering moving to fixed should give the map back.
enum LinearPhantoms {
    static func fixedGrid(dimension: Int) -> Geometry {
        dimension == 3 ? Phantoms.obliqueGeometry(size: SIMD3(32, 30, 24)) : Phantoms.oblique2DGeometry(size: SIMD2(48, 44))
    }

    static func center(_ g: Geometry) -> SIMD3<Double> { g.physicalPoint(ofIndex: (SIMD3<Double>(g.size) - 1) * 0.5) }

    /// Fourteen blobs spread over the grid's field of view. (Clustered in the middle of a uniform
    /// background, as for the metric gradients, they leave Mattes MI's affine optimum a few
    /// percent of scale away from the truth: the warped moving histogram's entropy grows as the
    /// object is stretched over more samples.)
    static func object(on g: Geometry, seed: UInt64 = 5) -> @Sendable (SIMD3<Double>) -> Double {
        let extent = g.spacing * SIMD3<Double>(g.size &- 1) * 0.45
        return Phantoms.blobs(center: center(g), extent: SIMD3(repeating: min(extent.x, extent.y)), dimension: g.dimension,
                              count: 14, seed: seed)
    }

    /// A known map about the fixed centre (fixed point ↦ moving point): a rotation (degrees, about
    /// z only in 2-D) and a shift, and for `affine` anisotropic scales and a shear as well.
    static func truth(dimension: Int, affine: Bool, degrees: SIMD3<Double>, shift: SIMD3<Double>, center c: SIMD3<Double>) -> AffineMap {
        let flat = dimension == 2
        var m = flat ? Matrix3.rotation(axis: 2, angle: degrees.z * .pi / 180) : Phantoms.rotation(degrees.x, degrees.y, degrees.z)
        if affine {
            let scale = Matrix3.diagonal(SIMD3(1.07, 0.94, flat ? 1 : 1.04))
            let shear = Matrix3(rows: SIMD3(1, 0.05, flat ? 0 : -0.03), SIMD3(0, 1, flat ? 0 : 0.04), SIMD3(0, 0, 1))
            m = m * scale * shear
        }
        return AffineMap(matrix: m, translation: flat ? SIMD3(shift.x, shift.y, 0) : shift, center: c)
    }

    /// The moving image: `object ∘ truth⁻¹` (then `remap` of each value) on another oblique grid
    /// covering the mapped fixed domain.
    static func moving(object: (SIMD3<Double>) -> Double, fixedGrid g: Geometry, truth: AffineMap,
                       remap: (Double) -> Double = { $0 }) -> Image<Float> {
        let inverse = truth.inverse!
        let grid = g.dimension == 3
            ? Phantoms.grid(covering: g.cornerPoints.map(truth.apply), spacing: SIMD3(1.15, 0.85, 1.6),
                            direction: Phantoms.rotation(-12, 18, -25), margin: 3)
            : Phantoms.grid(covering: g.cornerPoints.map(truth.apply), spacing: SIMD3(0.95, 1.1, 1),
                            direction: .rotation(axis: 2, angle: -0.45), margin: 3, dimension: 2)
        return Phantoms.image(on: grid) { remap(object(inverse.apply($0))) }
    }

    /// Mean distance (mm) between the two maps over the corners of `g`.
    static func cornerError(_ a: AffineMap, _ b: AffineMap, on g: Geometry) -> Double {
        let corners = g.cornerPoints
        return corners.map { (a.apply($0) - b.apply($0)).length }.reduce(0, +) / Double(corners.count)
    }

    /// The angle (degrees) of the rotation between the rotation parts (polar factors) of the maps.
    static func rotationError(_ a: AffineMap, _ b: AffineMap) -> Double {
        guard let ra = a.matrix.nearestOrthogonal, let rb = b.matrix.nearestOrthogonal else { return .infinity }
        let r = ra * rb.transposed
        return acos(max(-1, min(1, (r.trace - 1) / 2))) * 180 / .pi
    }

    /// Three tenths of the fixed grid's smallest spacing: the tolerance on the corner error.
    static func tolerance(_ g: Geometry) -> Double {
        0.3 * (g.dimension == 2 ? min(g.spacing.x, g.spacing.y) : g.spacing.min())
    }

    /// A preset with shorter pyramids for these small grids: shrink 2, then full resolution.
    static func plan(_ preset: String, metric: Metric) -> RegistrationPlan {
        var plan = RegistrationPlan.preset(preset, linearMetric: metric)!
        for i in plan.linear.indices {
            plan.linear[i].levels = [Level(shrink: 2, sigma: .voxels(1), iterations: 120), Level(shrink: 1, sigma: .voxels(0), iterations: 80)]
        }
        return plan
    }
}

/// Known rigid and affine maps recovered through `Registration.run`, mono-modal (mean squares) and
/// multi-modal (Mattes MI against a nonlinear, inverted intensity remapping), in 2-D and 3-D.
@Suite struct LinearPhantomTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var dimension: Int
        var affine: Bool
        var metric: Metric
        var testDescription: String { "\(dimension)-D \(affine ? "affine" : "rigid") \(metric)" }
    }

    static let cases: [Case] = [2, 3].flatMap { d in
        [false, true].flatMap { affine in [Case(dimension: d, affine: affine, metric: .meanSquares),
                                           Case(dimension: d, affine: affine, metric: .mutualInformation(bins: 32))] }
    }

    /// Intensities of the multi-modal moving image: decreasing and curved (no linear relation).
    static func remap(_ v: Double) -> Double { 100 * exp(-(v - 10) / 45) }

    @Test(arguments: cases)
    func recoversAKnownMap(_ c: Case) throws {
        let g = LinearPhantoms.fixedGrid(dimension: c.dimension)
        let object = LinearPhantoms.object(on: g)
        let truth = LinearPhantoms.truth(dimension: c.dimension, affine: c.affine, degrees: SIMD3(5, -4, 7),
                                         shift: SIMD3(2.6, -1.9, 1.4), center: LinearPhantoms.center(g))
        let fixed = Phantoms.image(on: g, object)
        let multiModal = c.metric != .meanSquares
        let moving = LinearPhantoms.moving(object: object, fixedGrid: g, truth: truth, remap: multiModal ? Self.remap : { $0 })
        let plan = LinearPhantoms.plan(c.affine ? "affine" : "rigid", metric: c.metric)
        let result = try Registration(plan).run(fixed: fixed, moving: moving)
        let error = LinearPhantoms.cornerError(result.affine, truth, on: g)
        let angle = LinearPhantoms.rotationError(result.affine, truth)
        let before = LinearPhantoms.cornerError(.identity, truth, on: g)
        #expect(error < LinearPhantoms.tolerance(g), "\(c): mean corner error \(error) mm (from \(before) mm)")
        #expect(angle < 0.3, "\(c): rotation error \(angle)°")
        #expect(result.linear?.transform.model == (c.affine ? .affine : .rigid))
        if c.dimension == 2 { #expect(result.affine.matrix[2, 2] == 1 && result.affine.translation.z == 0) }
        if !multiModal { #expect(result.summary.correlationAfter > 0.99 && result.summary.correlationAfter > result.summary.correlationBefore) }
    }

    /// A 3-D affine map with a turn of 140° about z (and 20–30° about x and y), which the default
    /// (centre-of-mass) start does not recover, is recovered from six landmark pairs placed with
    /// errors of up to ±0.6 mm: the landmark fit starts the run and the image then corrects the
    /// landmarks' errors. With a heavy landmark term the result is the landmarks' least-squares
    /// affine instead.
    @Test func landmarksStartTheRunAndTheirTermPullsTowardsThem() throws {
        let g = LinearPhantoms.fixedGrid(dimension: 3)
        let c = LinearPhantoms.center(g)
        let object = LinearPhantoms.object(on: g)
        let truth = LinearPhantoms.truth(dimension: 3, affine: true, degrees: SIMD3(30, 20, 140), shift: SIMD3(3, -2, 2.5), center: c)
        let fixed = Phantoms.image(on: g, object)
        let moving = LinearPhantoms.moving(object: object, fixedGrid: g, truth: truth)
        let offsets = Phantoms.randomValues(count: 18, seed: 4, range: -1...1)
        let fixedPoints = (0..<6).map { i in c + SIMD3(offsets[3 * i], offsets[3 * i + 1], offsets[3 * i + 2]) * 12 }
        let noise = Phantoms.randomValues(count: 18, seed: 6, range: -0.6...0.6)
        let movingPoints = fixedPoints.enumerated().map { i, p in truth.apply(p) + SIMD3(noise[3 * i], noise[3 * i + 1], noise[3 * i + 2]) }
        let pairs = LandmarkPairs(fixed: Landmarks(points: fixedPoints), moving: Landmarks(points: movingPoints))

        var plan = LinearPhantoms.plan("affine", metric: .meanSquares)
        plan.multiStart = false   // the moments start alone; the multi-start finds this turn too (MultiStartTests)
        let unaided = try Registration(plan).run(fixed: fixed, moving: moving)
        #expect(LinearPhantoms.cornerError(unaided.affine, truth, on: g) > 5, "the moments start alone should fail here")

        plan.initialization = .landmarks
        plan.landmarkWeight = 1
        let aided = try Registration(plan).run(fixed: fixed, moving: moving, landmarks: pairs)
        let error = LinearPhantoms.cornerError(aided.affine, truth, on: g)
        #expect(error < LinearPhantoms.tolerance(g), "mean corner error \(error) mm")
        #expect(LinearPhantoms.rotationError(aided.affine, truth) < 0.3)
        // The summary's landmark RMS is that of the returned map, near that of the placement errors.
        func rmsDistance(_ map: AffineMap) -> Double {
            (zip(fixedPoints, movingPoints).map { p, q in (map.apply(p) - q).length * (map.apply(p) - q).length }.reduce(0, +) / 6).squareRoot()
        }
        let rms = try #require(aided.summary.landmarkRMS)
        let recovered = rmsDistance(aided.affine), atTruth = rmsDistance(truth)
        #expect(abs(rms - recovered) < 1e-9, "landmark RMS \(rms) mm in the summary, \(recovered) mm for the returned map")
        #expect(abs(rms - atTruth) < 0.05, "landmark RMS \(rms) mm, \(atTruth) mm at the true map")

        plan.landmarkWeight = 1e6
        let pulled = try Registration(plan).run(fixed: fixed, moving: moving, landmarks: pairs)
        let fit = try LandmarkFit.fit(.affine, dimension: 3, fixed: fixedPoints, moving: movingPoints, center: c).affineMap
        let toFit = LinearPhantoms.cornerError(pulled.affine, fit, on: g), fitToTruth = LinearPhantoms.cornerError(fit, truth, on: g)
        #expect(fitToTruth > 0.5 && toFit < 0.1 * fitToTruth, "heavy landmark term: \(toFit) mm from the landmark fit, which is \(fitToTruth) mm from the truth")
    }

    /// A structure that moves on its own (a bright blob shifted 5 mm in the moving image) biases
    /// the fit unless a fixed mask leaves it out; with the mask the rigid map of the rest is found.
    @Test func fixedMaskLeavesOutAStructureThatMovesOnItsOwn() throws {
        let g = LinearPhantoms.fixedGrid(dimension: 2)
        let c = LinearPhantoms.center(g)
        let object = LinearPhantoms.object(on: g, seed: 11)
        let truth = LinearPhantoms.truth(dimension: 2, affine: false, degrees: SIMD3(0, 0, -6), shift: SIMD3(-2.2, 1.7, 0), center: c)
        // The loose blob, 19 mm from the centre along the grid's long axis, in the fixed image;
        // in the moving one it sits 5 mm further along the grid's short axis than the map puts it.
        let spot = c + g.direction * SIMD3(0, 19, 0), drift = g.direction * SIMD3(5, 0, 0)
        func blob(_ p: SIMD3<Double>, at q: SIMD3<Double>) -> Double {
            var d = p - q
            d.z = 0
            return 150 * exp(-0.5 * (d * d).sum() / 9)
        }
        let fixed = Phantoms.image(on: g) { object($0) + blob($0, at: spot) }
        let moving = LinearPhantoms.moving(object: { p in object(p) + blob(p, at: spot + drift) }, fixedGrid: g, truth: truth)
        var mask = Image<UInt8>(geometry: g)
        for y in 0..<g.size.y { for x in 0..<g.size.x {
            let p = g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), 0))
            var d = p - (spot + 0.5 * drift)
            d.z = 0
            mask[x, y, 0] = d.length > 14 ? 1 : 0
        } }
        let plan = LinearPhantoms.plan("rigid", metric: .meanSquares)
        let masked = try Registration(plan).run(fixed: fixed, moving: moving, masks: RegistrationMasks(fixed: mask))
        let unmasked = try Registration(plan).run(fixed: fixed, moving: moving)
        let maskedError = LinearPhantoms.cornerError(masked.affine, truth, on: g)
        let unmaskedError = LinearPhantoms.cornerError(unmasked.affine, truth, on: g)
        #expect(maskedError < LinearPhantoms.tolerance(g), "with the mask: mean corner error \(maskedError) mm")
        #expect(LinearPhantoms.rotationError(masked.affine, truth) < 0.3)
        #expect(unmaskedError > 3 * LinearPhantoms.tolerance(g), "without the mask: \(unmaskedError) mm (the loose blob should bias it)")
    }
}
