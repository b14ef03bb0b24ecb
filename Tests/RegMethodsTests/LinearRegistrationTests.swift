import Foundation
import Testing
import RegCore
import RegIO
import RegKernels
import RegMethods
import RegMetrics
import RegTestSupport
import RegTransforms

@Suite(.enabled(if: SharedData.isAvailable, Comment(rawValue: SharedData.skipMessage)))
struct ITKSliceRegistrationTests {
    static func slice(_ name: String) throws -> Image<Float> {
        try ImageFile.read(SharedData.path("2d/itk_examples/" + name)).image.floatImage()
    }

    /// T1 (fixed) against the rotated, shifted PD slice (moving) by Mattes MI. Ground truth, from
    /// a mono-modal fit of the PD slice: 10.00° mapping fixed (110, 128) to moving (123.10, 143.92).
    @Test func multiModalRigidByMutualInformation() throws {
        let fixed = try Self.slice("BrainT1SliceBorder20.png"), moving = try Self.slice("BrainProtonDensitySliceR10X13Y17.png")
        let reg = LinearRegistration(stages: RegistrationPlan.preset("rigid", linearMetric: .mutualInformation(bins: 32))!.linear)
        let map = try reg.run(fixed: fixed, moving: moving).map
        let angle = atan2(map.matrix[1, 0], map.matrix[0, 0]) * 180 / .pi
        let p = map.apply(SIMD3(110, 128, 0))
        #expect(abs(angle - 10) < 0.2, "angle \(angle)°")
        #expect((p - SIMD3(123.10, 143.92, 0)).length < 0.3, "point \(p)")
        #expect(map.translation.z == 0 && map.matrix[2, 2] == 1)
    }

    /// The mono-modal ground truth itself: PD slice against its rotated copy by mean squares.
    @Test func monoModalRigidByMeanSquares() throws {
        let fixed = try Self.slice("BrainProtonDensitySliceBorder20.png"), moving = try Self.slice("BrainProtonDensitySliceR10X13Y17.png")
        let map = try LinearRegistration(stages: RegistrationPlan.preset("rigid", linearMetric: .meanSquares)!.linear).run(fixed: fixed, moving: moving).map
        let angle = atan2(map.matrix[1, 0], map.matrix[0, 0]) * 180 / .pi
        #expect(abs(angle - 10) < 0.05, "angle \(angle)°")
        #expect((map.apply(SIMD3(110, 128, 0)) - SIMD3(123.10, 143.92, 0)).length < 0.05)
    }

    @Test func shiftedSliceGivesExactlyThirteenSeventeen() throws {
        let fixed = try Self.slice("BrainProtonDensitySliceBorder20.png"), moving = try Self.slice("BrainProtonDensitySliceShifted13x17y.png")
        let map = try LinearRegistration(stages: RegistrationPlan.preset("translation", linearMetric: .meanSquares)!.linear).run(fixed: fixed, moving: moving).map
        #expect(abs(map.translation.x - 13) < 0.05 && abs(map.translation.y - 17) < 0.05, "\(map.translation)")
    }
}

/// Known random rigid and affine transforms recovered on real brains on oblique, anisotropic
/// grids, mono- and multi-modal.
@Suite(.enabled(if: SharedData.isAvailable, Comment(rawValue: SharedData.skipMessage)))
struct BrainRecoveryTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var metric: Metric
        var affine: Bool
        var seed: UInt64
        var contrast: String
        var testDescription: String { "\(metric.name) \(affine ? "affine" : "rigid") seed \(seed) \(contrast)" }
    }

    static let cases: [Case] = [
        Case(metric: .meanSquares, affine: false, seed: 11, contrast: "same"),
        Case(metric: .normalizedCorrelation, affine: true, seed: 12, contrast: "same"),
        Case(metric: .mutualInformation(bins: 32), affine: true, seed: 13, contrast: "same"),
        Case(metric: .mutualInformation(bins: 32), affine: false, seed: 14, contrast: "inverted"),
        Case(metric: .mutualInformation(bins: 32), affine: true, seed: 15, contrast: "remapped"),
        Case(metric: .meanSquares, affine: true, seed: 16, contrast: "same"),
    ]

    static func recover(_ c: Case, fixed: Image<Float>) throws -> Double {
        let truth = BrainCases.randomTransform(affine: c.affine, center: BrainCases.center(fixed.geometry), seed: c.seed)
        var moving = try BrainCases.moving(from: fixed, truth: truth)
        let top = moving.voxels.max() ?? 1
        switch c.contrast {
        case "inverted": moving.voxels = VoxelBuffer(moving.voxels.map { top - $0 })
        case "remapped": moving.voxels = VoxelBuffer(moving.voxels.map { top * sqrt(max(0, $0) / top) + 0.3 * top * sin(3 * $0 / top) })
        default: break
        }
        let reg = LinearRegistration(stages: RegistrationPlan.preset(c.affine ? "affine" : "rigid", linearMetric: c.metric)!.linear)
        let result = try reg.run(fixed: fixed, moving: moving)
        return BrainCases.meanEndpointError(result.map, truth, over: fixed)
    }

    @Test(arguments: cases)
    func recoversKnownTransformOnClapirnBrain(_ c: Case) throws {
        let error = try Self.recover(c, fixed: try BrainCases.obliqueBrain(factor: 2))
        #expect(error < 0.5, "mean endpoint error \(error) mm")
    }

    /// The 256³ LIA brain (shrunk ×2 to keep the test quick).
    @Test(arguments: [Case(metric: .mutualInformation(bins: 32), affine: true, seed: 21, contrast: "same"),
                      Case(metric: .normalizedCorrelation, affine: false, seed: 22, contrast: "same")])
    func recoversKnownTransformOnLIABrain(_ c: Case) throws {
        let error = try Self.recover(c, fixed: try BrainCases.obliqueBrain("brain/c2fvit/image_A.nii.gz", factor: 2))
        #expect(error < 0.5, "mean endpoint error \(error) mm")
    }
}

/// Badly rotated starts: the PD slice turned by 70° about its centre.
@Suite(.enabled(if: SharedData.isAvailable, Comment(rawValue: SharedData.skipMessage)))
struct BadStartTests {
    static func turned(_ degrees: Double) throws -> (Image<Float>, Image<Float>, AffineMap) {
        let fixed = try ITKSliceRegistrationTests.slice("BrainProtonDensitySliceBorder20.png")
        let c = BrainCases.center(fixed.geometry)
        let truth = AffineMap(matrix: .rotation(axis: 2, angle: degrees * .pi / 180), translation: SIMD3(6, -4, 0), center: c)
        let s = truth.inverse!
        let moving = try Resampler.resample(fixed, onto: fixed.geometry, mapping: PointMapping(s),
                                            interpolation: .bspline)
        return (fixed, moving, truth)
    }

    @Test func rotationSearchRecoversASeventyDegreeTurn() throws {
        let (fixed, moving, truth) = try Self.turned(70)
        var reg = LinearRegistration(stages: RegistrationPlan.preset("rigid", linearMetric: .meanSquares)!.linear)
        reg.multiStart = false
        let without = try reg.run(fixed: fixed, moving: moving).map
        reg.rotationSearch = true
        let with = try reg.run(fixed: fixed, moving: moving).map
        #expect(BrainCases.meanEndpointError(without, truth, over: fixed) > 5, "should fail without the search")
        #expect(BrainCases.meanEndpointError(with, truth, over: fixed) < 0.2)
    }

    @Test func principalAxesStartRecoversALargeTurn() throws {
        let (fixed, moving, truth) = try Self.turned(-55)
        var reg = LinearRegistration(stages: RegistrationPlan.preset("rigid", linearMetric: .meanSquares)!.linear)
        reg.initialization = .principalAxes
        let map = try reg.run(fixed: fixed, moving: moving).map
        #expect(BrainCases.meanEndpointError(map, truth, over: fixed) < 0.2)
    }
}
