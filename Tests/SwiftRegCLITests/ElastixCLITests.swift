import Foundation
import Testing
import RegCore
import RegIO
import RegTestSupport

/// `swiftreg apply` with elastix parameter files reproduces transformix (cubic B-spline
/// interpolation, as transformix's FinalBSplineInterpolationOrder 3 gives); fixtures made by
/// `Tests/RegIOTests/Fixtures/make_elastix_fixtures.py`.
@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct ElastixCLITests {
    let folder = TemporaryFolder()
    static let fixtures = SharedData.packageRoot + "/Tests/RegIOTests/Fixtures/elastix/"

    @Test(arguments: [("chain2d", 1), ("chain3d", 2)])
    func applyMatchesTransformix(name: String, last: Int) throws {
        let out = folder.file("warped.nii.gz")
        let r = try CLI.run(["apply", "-i", Self.fixtures + "\(name)_moving.nii.gz", "-r", Self.fixtures + "\(name)_fixed.nii.gz",
                             "-t", Self.fixtures + "\(name)_TransformParameters.\(last).txt", "--interp", "bspline", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        let ours = try ImageFile.read(out).image.floatImage(), theirs = try ImageFile.read(Self.fixtures + "\(name)_transformix.nii.gz").image.floatImage()
        #expect(ours.geometry.sameGrid(as: theirs.geometry))
        let range = Double(theirs.voxels.max()! - theirs.voxels.min()!)
        let worst = zip(ours.voxels, theirs.voxels).map { Double(abs($0 - $1)) }.max()!
        #expect(range > 10)
        #expect(worst < 1e-3 * range, "\(name): largest difference from transformix \(worst), range \(range)")
    }

    /// The inverse of a chain holding a B-spline is refused, naming the file.
    @Test func inverseOfBSplineIsRefused() throws {
        let spec = "[" + Self.fixtures + "chain2d_TransformParameters.1.txt,1]"
        let r = try CLI.run(["apply", "-i", Self.fixtures + "chain2d_moving.nii.gz", "-r", Self.fixtures + "chain2d_fixed.nii.gz",
                             "-t", spec, "-o", folder.file("w.nii.gz")])
        #expect(r.status == 1 && r.stderr.contains("B-spline") && r.stderr.contains("chain2d_TransformParameters.1.txt"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("w.nii.gz")))
    }
}
