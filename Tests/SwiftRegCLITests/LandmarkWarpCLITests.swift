import Foundation
import RegCore
import RegIO
import RegTestSupport
import Testing

/// `landmark-warp` on elastix's lung CT point sets, then `apply-points` through the written warp.
@Suite(.enabled(if: CLI.binary != nil && SharedData.isAvailable, "swiftreg binary not built or ../shared/data absent"))
struct LandmarkWarpCLITests {
    let folder = TemporaryFolder()
    let data = SharedData.path("ct/elastix_lung/")

    @Test func thinPlateWarpCarriesTheFixedLungPointsOntoTheMovingOnes() throws {
        let warp = folder.file("tps.nii.gz"), mapped = folder.file("mapped.csv")
        let r = try CLI.run(["landmark-warp", "--fixed-landmarks", data + "CT_3D_lung_fixed_point_set_corrected.txt",
                             "--moving-landmarks", data + "CT_3D_lung_moving_point_set_corrected.txt",
                             "-r", data + "3DCT_lung_baseline_small.mha", "-o", warp, "--inverse", folder.file("tps_inverse.nii.gz")])
        #expect(r.status == 0 && r.stdout.contains("51 landmark pairs") && r.stdout.contains("folded 0 voxels"), "\(r.stdout)\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: folder.file("tps_inverse.nii.gz")))
        #expect(try CLI.run(["apply-points", "-p", data + "CT_3D_lung_fixed_point_set_corrected.txt", "-t", warp, "-o", mapped]).status == 0)
        let moving = try LandmarkFile.read(data + "CT_3D_lung_moving_point_set_corrected.txt").points
        let out = try LandmarkFile.read(mapped).points
        let errors = zip(out, moving).map { ($0 - $1).length }
        // The points move 35 mm on average; the warp, sampled on a 2.7 × 2.7 × 5 mm grid, brings them within 0.5 mm.
        #expect(errors.reduce(0, +) / Double(errors.count) < 0.5, "\(errors)")
    }

    @Test func badRequestsAreExplained() throws {
        let fixed = data + "CT_3D_lung_fixed_point_set_corrected.txt"
        let threeD = try CLI.run(["landmark-warp", "--fixed-landmarks", fixed, "--moving-landmarks", fixed, "-r", data + "3DCT_lung_baseline_small.mha",
                                  "-o", folder.file("pa.nii.gz"), "--model", "piecewise-affine"])
        #expect(threeD.status == 2 && threeD.stderr.contains("2-D reference"), "\(threeD.stderr)")
        let few = folder.file("few.csv")
        try Data("1,2,3\n4,5,6\n".utf8).write(to: URL(fileURLWithPath: few))
        let mismatch = try CLI.run(["landmark-warp", "--fixed-landmarks", fixed, "--moving-landmarks", few, "-r", data + "3DCT_lung_baseline_small.mha",
                                    "-o", folder.file("bad.nii.gz")])
        #expect(mismatch.status == 1 && mismatch.stderr.contains("51 and 2"), "\(mismatch.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("bad.nii.gz")))
    }
}
