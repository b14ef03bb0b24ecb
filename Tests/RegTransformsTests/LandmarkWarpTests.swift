import Foundation
import RegCore
import RegIO
import RegKernels
import RegTestSupport
@testable import RegTransforms
import Testing

@Suite struct ThinPlateSplineTests {
    struct Case: Decodable {
        var fixed: [[Double]], moving: [[Double]], queries: [[Double]], mapped: [[Double]]
    }

    static func point(_ v: [Double]) -> SIMD3<Double> { SIMD3(v[0], v[1], v.count > 2 ? v[2] : 0) }

    /// Values from SciPy's `RBFInterpolator` (`Fixtures/make_tps_fixtures.py`), an independent implementation.
    @Test(arguments: [("3d_smoothing0.0", 3, 0.0), ("2d_smoothing0.0", 2, 0.0), ("2d_smoothing0.5", 2, 0.5)])
    func matchesSciPy(_ name: String, _ dimension: Int, _ stiffness: Double) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tps.json")
        let cases = try JSONDecoder().decode([String: Case].self, from: Data(contentsOf: url))
        let c = try #require(cases[name])
        let tps = try ThinPlateSpline(fixed: c.fixed.map(Self.point), moving: c.moving.map(Self.point), dimension: dimension,
                                      stiffness: stiffness)
        for (q, expected) in zip(c.queries, c.mapped) {
            let y = tps.map(Self.point(q))
            #expect(Approx.maxDifference(y, Self.point(expected)) < 1e-6, "\(name): \(y) vs \(expected)")
        }
        if stiffness == 0 {
            for (p, q) in zip(c.fixed, c.moving) { #expect(Approx.maxDifference(tps.map(Self.point(p)), Self.point(q)) < 1e-8) }
        }
    }

    @Test func reproducesAnAffineMapExactlyAndOnADenseOrientedGrid() throws {
        let truth = AffineMap(matrix: Phantoms.rotation(5, -8, 12) * Matrix3.diagonal(SIMD3(1.1, 0.9, 1.05)), translation: SIMD3(3, -2, 7))
        let fixed = Phantoms.randomValues(count: 30, seed: 4, range: -30...30)
        let points = (0..<10).map { SIMD3(fixed[3 * $0], fixed[3 * $0 + 1], fixed[3 * $0 + 2]) }
        let tps = try ThinPlateSpline(fixed: points, moving: points.map(truth.apply), dimension: 3)
        let grid = Phantoms.obliqueGeometry()
        let field = tps.field(on: grid)
        for (x, y, z) in [(0, 0, 0), (18, 16, 12), (5, 9, 3)] {
            let p = grid.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
            #expect(Approx.maxDifference(p + SIMD3<Double>(field[x, y, z]), truth.apply(p)) < 1e-4)
        }
    }

    @Test func degenerateLandmarksAreRejected() {
        let flat = [SIMD3<Double>(0, 0, 0), SIMD3(1, 0, 0), SIMD3(0, 1, 0), SIMD3(1, 1, 0)]
        #expect(throws: RegError.self) { try ThinPlateSpline(fixed: flat, moving: flat, dimension: 3) }
        #expect(throws: RegError.self) { try ThinPlateSpline(fixed: flat, moving: Array(flat.prefix(3)), dimension: 2) }
    }
}

@Suite struct PiecewiseAffineWarpTests {
    static let fixed: [SIMD3<Double>] = [SIMD3(0, 0, 0), SIMD3(40, 0, 0), SIMD3(40, 30, 0), SIMD3(0, 30, 0), SIMD3(18, 14, 0),
                                         SIMD3(25, 5, 0), SIMD3(8, 22, 0)]

    @Test func triangulationIsDelaunayAndCoversTheHull() throws {
        let warp = try PiecewiseAffineWarp(fixed: Self.fixed, moving: Self.fixed)
        // 7 points, 4 on the hull: 2·7 − 2 − 4 = 8 triangles.
        #expect(warp.triangles.count == 8)
        let points = Self.fixed.map { SIMD2($0.x, $0.y) }
        for t in warp.triangles {
            for (i, p) in points.enumerated() where ![t.x, t.y, t.z].contains(i) {
                #expect(!PiecewiseAffineWarp.inCircumcircle(p, t, points), "point \(i) inside the circumcircle of \(t)")
            }
        }
        var area = 0.0
        for t in warp.triangles { area += PiecewiseAffineWarp.cross(points[t.y] - points[t.x], points[t.z] - points[t.x]) / 2 }
        #expect(abs(area - 1200) < 1e-9)
    }

    @Test func landmarksMapExactlyTrianglesAffinelyAndAnAffineEverywhere() throws {
        let moving = Self.fixed.enumerated().map { i, p in p + SIMD3(Double(i % 3) - 1, Double(i % 2) * 2 - 1, 0) * 1.5 }
        let warp = try PiecewiseAffineWarp(fixed: Self.fixed, moving: moving)
        for (p, q) in zip(Self.fixed, moving) { #expect(Approx.maxDifference(warp.map(p), q) < 1e-9) }
        // Inside a triangle the map is affine: the midpoint goes to the midpoint.
        let t = warp.triangles[0]
        let a = Self.fixed[t.x], b = Self.fixed[t.y], c = Self.fixed[t.z]
        let inside = (a + b + c) / 3
        #expect(Approx.maxDifference(warp.map(inside), (moving[t.x] + moving[t.y] + moving[t.z]) / 3) < 1e-9)
        // An affine set of landmarks gives that affine inside and outside the hull.
        let affine = AffineMap(matrix: Matrix3(rows: SIMD3(1.1, 0.2, 0), SIMD3(-0.1, 0.95, 0), SIMD3(0, 0, 1)), translation: SIMD3(4, -3, 0))
        let exact = try PiecewiseAffineWarp(fixed: Self.fixed, moving: Self.fixed.map(affine.apply))
        for p in [SIMD3<Double>(10, 10, 0), SIMD3(39, 1, 0), SIMD3(-20, 50, 0)] {
            #expect(Approx.maxDifference(exact.map(p), affine.apply(p)) < 1e-9)
        }
        let field = exact.field(on: Phantoms.oblique2DGeometry())
        #expect(field.vectors.allSatisfy { $0.isFinite })
    }

    @Test func collinearOrRepeatedPointsAreRejected() {
        let line = [SIMD3<Double>(0, 0, 0), SIMD3(1, 1, 0), SIMD3(2, 2, 0)]
        #expect(throws: RegError.self) { try PiecewiseAffineWarp(fixed: line, moving: line) }
        let twice = [SIMD3<Double>(0, 0, 0), SIMD3(1, 0, 0), SIMD3(1, 0, 0), SIMD3(0, 1, 0)]
        #expect(throws: RegError.self) { try PiecewiseAffineWarp(fixed: twice, moving: twice) }
    }
}

/// The 51 corresponding points of elastix's lung CT example (a real breathing motion).
@Suite(.enabled(if: SharedData.isAvailable, Comment(rawValue: SharedData.skipMessage)))
struct LandmarkWarpRealDataTests {
    /// Leave-one-out: each point predicted from the other 50. SciPy's RBFInterpolator gives
    /// 2.12 mm for the thin-plate spline and 2.76 mm for the least-squares affine.
    @Test func thinPlateSplinePredictsHeldOutLungPointsBetterThanAnAffine() throws {
        let fixed = try LandmarkFile.read(SharedData.path("ct/elastix_lung/CT_3D_lung_fixed_point_set_corrected.txt")).points
        let moving = try LandmarkFile.read(SharedData.path("ct/elastix_lung/CT_3D_lung_moving_point_set_corrected.txt")).points
        #expect(fixed.count == 51 && moving.count == 51)
        var tpsError = 0.0, affineError = 0.0
        for i in fixed.indices {
            let f = fixed.enumerated().filter { $0.offset != i }.map(\.element)
            let m = moving.enumerated().filter { $0.offset != i }.map(\.element)
            tpsError += (try ThinPlateSpline(fixed: f, moving: m, dimension: 3).map(fixed[i]) - moving[i]).length
            affineError += (try LandmarkFit.fit(.affine, dimension: 3, fixed: f, moving: m).map(fixed[i]) - moving[i]).length
        }
        tpsError /= 51; affineError /= 51
        #expect(abs(tpsError - 2.1155) < 1e-3, "TPS leave-one-out \(tpsError) mm")
        #expect(abs(affineError - 2.7599) < 1e-3, "affine leave-one-out \(affineError) mm")
    }

    /// Landmarks placed by the known rigid motion of ITK's rotated PD slice (10°, mapping
    /// (110, 128) to (123.10, 143.92); see ITKSliceRegistrationTests in RegMethodsTests) bring it back onto the
    /// unrotated slice through a piecewise-affine warp and through a 2-D thin-plate spline.
    @Test(arguments: ["piecewise-affine", "tps"])
    func landmarkWarpsUndoTheRotatedRealSlice(model: String) throws {
        func slice(_ name: String) throws -> Image<Float> {
            try ImageFile.read(SharedData.path("2d/itk_examples/" + name)).image.floatImage()
        }
        let fixed = try slice("BrainProtonDensitySliceBorder20.png")
        let moving = try slice("BrainProtonDensitySliceR10X13Y17.png")
        let rotation = Matrix3.rotation(axis: 2, angle: 10 * .pi / 180)
        let truth = AffineMap(matrix: rotation, translation: SIMD3(123.10, 143.92, 0) - rotation * SIMD3(110, 128, 0))
        let g = fixed.geometry
        var points: [SIMD3<Double>] = []
        for y in stride(from: 30.0, through: Double(g.size.y) - 30, by: 50) {
            for x in stride(from: 30.0, through: Double(g.size.x) - 30, by: 45) { points.append(g.physicalPoint(ofIndex: SIMD3(x + y / 10, y, 0))) }
        }
        let field = model == "tps" ? try ThinPlateSpline(fixed: points, moving: points.map(truth.apply), dimension: 2).field(on: g)
            : try PiecewiseAffineWarp(fixed: points, moving: points.map(truth.apply)).field(on: g)
        let warped = try Resampler.resample(moving, onto: g, mapping: PointMapping(displacement: field))
        let unwarped = try Resampler.resample(moving, onto: g)
        func meanDifference(_ a: Image<Float>) -> Double {
            var sum = 0.0, n = 0
            for i in 0..<g.voxelCount where fixed.voxels[i] > 20 && a.voxels[i] > 0 { sum += Double(abs(a.voxels[i] - fixed.voxels[i])); n += 1 }
            return sum / Double(max(n, 1))
        }
        let before = meanDifference(unwarped), after = meanDifference(warped)
        #expect(after < 0.15 * before, "\(model): mean |difference| \(before) → \(after)")
    }
}
