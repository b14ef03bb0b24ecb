import Foundation
import RegCore
import RegIO
import RegTestSupport
import Testing

/// `keypoints` on ITK's T1 and proton-density slices (one subject, two contrasts), the PD one
/// shifted by a known 13, 17 pixels (both with the 20-pixel border of the ITK examples).
@Suite(.enabled(if: CLI.binary != nil && SharedData.isAvailable, "swiftreg binary not built or ../shared/data absent"))
struct KeypointsCLITests {
    let folder = TemporaryFolder()
    let data = SharedData.path("2d/itk_examples/")

    @Test func matchesAcrossContrastsFindTheKnownShiftAndFeedRegister() throws {
        let pairs = folder.file("pairs.csv")
        let r = try CLI.run(["keypoints", data + "BrainT1SliceBorder20.png", "--match", data + "BrainProtonDensitySliceShifted13x17y.png",
                             "-o", pairs, "--filter", "rigid", "--search-radius", "30"])
        #expect(r.status == 0 && r.stdout.contains("kept by the rigid filter"), "\(r.stdout)\(r.stderr)")
        let fixed = try LandmarkFile.read(folder.file("pairs_fixed.csv")).points
        let moving = try LandmarkFile.read(folder.file("pairs_moving.csv")).points
        #expect(fixed.count >= 50 && fixed.count == moving.count)
        let shifts = zip(fixed, moving).map { $1 - $0 }
        let within = shifts.filter { ($0 - SIMD3(13, 17, 0)).length < 2 }.count
        #expect(within == shifts.count, "\(shifts)")
        let points = folder.file("points.csv")
        #expect(try CLI.run(["keypoints", data + "BrainT1Slice.png", "-o", points, "--count", "50"]).status == 0)
        #expect(try LandmarkFile.read(points).count == 50)
    }

    @Test func registerWithAutomaticKeypointsFitsThemWithoutIterations() throws {
        let prefix = folder.file("reg")
        let r = try CLI.run(["register", "-f", data + "BrainT1SliceBorder20.png", "-m", data + "BrainProtonDensitySliceShifted13x17y.png",
                             "-o", prefix, "--preset", "rigid", "--keypoints", "auto", "--iterations", "0x0x0", "-q"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: prefix + "_summary.json"))) as! [String: Any]
        let t = summary["translation"] as! [Double], m = summary["matrix"] as! [Double]
        // The pure landmark fit of the keypoints found: the known shift, with no turn.
        #expect(abs(t[0] - 13) < 0.3 && abs(t[1] - 17) < 0.3, "translation \(t)")
        #expect(abs(m[0] - 1) < 1e-3 && abs(m[1]) < 5e-3, "matrix \(m)")
        let both = try CLI.run(["register", "-f", data + "BrainT1SliceBorder20.png", "-m", data + "BrainProtonDensitySliceShifted13x17y.png",
                                "-o", prefix, "--keypoints", "auto", "--landmarks", points(), points()])
        #expect(both.status == 2 && both.stderr.contains("leave out --landmarks"), "\(both.stderr)")
    }

    /// A landmark file of one point.
    func points() throws -> String {
        let path = folder.file("one.csv")
        try Data("1,2,0\n".utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func badRequestsAreExplainedAndWriteNothing() throws {
        let out = folder.file("bad.csv")
        let filter = try CLI.run(["keypoints", data + "BrainT1Slice.png", "--match", data + "BrainProtonDensitySlice.png", "-o", out, "--filter", "tps"])
        #expect(filter.status == 2 && filter.stderr.contains("--filter takes none, rigid, affine, smooth"), "\(filter.stderr)")
        let count = try CLI.run(["keypoints", data + "BrainT1Slice.png", "-o", out, "--count", "0"])
        #expect(count.status == 2 && count.stderr.contains("--count"), "\(count.stderr)")
        let missing = try CLI.run(["keypoints", data + "BrainT1Slice.png", "--match", folder.file("absent.nii.gz"), "-o", out])
        #expect(missing.status == 1 && missing.stderr.contains("absent.nii.gz"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
