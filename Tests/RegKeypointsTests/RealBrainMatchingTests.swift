import Foundation
import RegCore
import RegIO
import RegKernels
@testable import RegKeypoints
import RegTestSupport
import RegTransforms
import Testing

/// Matching on a real brain (a crop of OASIS lapirn A) moved by a known affine.
@Suite(.enabled(if: SharedData.isAvailable, Comment(rawValue: SharedData.skipMessage)))
struct RealBrainMatchingTests {
    @Test func keypointsOfARealBrainMatchUnderAKnownAffineAndRansacRecoversIt() throws {
        let brain = try ImageFile.read(SharedData.path("brain/lapirn/image_A_160x192x144.nii.gz")).image.floatImage()
        let g = brain.geometry
        let lo = SIMD3(36, 48, 36), size = SIMD3(88, 96, 72)
        let cropGrid = try Geometry(size: size, spacing: g.spacing, origin: g.physicalPoint(ofIndex: SIMD3<Double>(lo)), direction: g.direction)
        let fixed = try Resampler.resample(brain, onto: cropGrid)
        let centre = cropGrid.physicalPoint(ofIndex: SIMD3<Double>(size) / 2)
        // moving(x) = fixed(A x): the fixed point p lies at A⁻¹ p in the moving image.
        let a = AffineMap(matrix: Phantoms.rotation(0.06, -0.1, 0.08) * Matrix3.diagonal([1.04, 0.97, 1.02]),
                          translation: [3.5, -4, 2.5], center: centre)
        let moving = try Resampler.resample(fixed, onto: cropGrid, mapping: PointMapping(a), interpolation: .bspline)
        let truth = try #require(a.inverse)
        var mask = Image<UInt8>(geometry: cropGrid)
        for i in mask.voxels.indices where fixed.voxels[i] > 0.05 { mask.voxels[i] = 1 }

        let found = try KeypointCorrespondence(detector: ForstnerDetector(count: 600), filter: .affine)
            .find(fixed: fixed, moving: moving, fixedMask: mask)
        let errors = found.kept.map { ($0.moving - truth.apply($0.fixed)).length }
        #expect(found.kept.count >= 200, "kept \(found.kept.count) of \(found.matched.count) matched, \(found.detected.count) detected")
        #expect(Double(errors.filter { $0 < 2 }.count) >= 0.9 * Double(errors.count))
        let fit = try #require(found.transform)
        let worst = cropGrid.cornerPoints.map { (fit.map($0) - truth.apply($0)).length }.max()!
        #expect(worst < 1, "RANSAC affine off by \(worst) mm at a corner of the crop")
    }
}
