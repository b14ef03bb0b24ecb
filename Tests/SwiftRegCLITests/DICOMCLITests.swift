import Foundation
import Testing
import RegCore
import RegIO
import RegTestSupport

/// DICOM straight into the commands: `info` lists a folder's series, `convert` writes one, and a
/// registration reads a DICOM file as its fixed image.
@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct DICOMCLITests {
    let folder = TemporaryFolder()
    static let fixtures = SharedData.packageRoot + "/Tests/RegIOTests/Fixtures/dicom/"
    static let ctSmall = SharedData.packageRoot + "/data/dicom/pydicom/CT_small.dcm"

    @Test func infoListsSeriesAndConvertWritesOne() throws {
        for name in ["oblique", "rle"] { try FileManager.default.copyItem(atPath: Self.fixtures + name, toPath: folder.file("study/" + name)) }
        let info = try CLI.run(["info", folder.file("study")])
        #expect(info.status == 0 && info.stdout.contains("2 series") && info.stdout.contains("12 × 10 × 6") && info.stdout.contains("12 × 10 × 4"), "\(info.stdout)\(info.stderr)")
        let refused = try CLI.run(["convert", folder.file("study"), folder.file("out.nii.gz")])
        #expect(refused.status == 1 && refused.stderr.contains("choose one"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("out.nii.gz")))
        let converted = try CLI.run(["convert", folder.file("study") + "#1", folder.file("out.nii.gz")])
        #expect(converted.status == 0, "\(converted.stderr)")
        let a = try ImageFile.read(folder.file("out.nii.gz")).image, b = try ImageFile.read(Self.fixtures + "oblique").image
        #expect(a.geometry.sameGrid(as: b.geometry, tolerance: 1e-5) && a.converted(to: Double.self).voxels == b.converted(to: Double.self).voxels)
        let missing = try CLI.run(["info", Self.fixtures + "gap"])
        #expect(missing.status == 1 && missing.stderr.contains("missing slices"))
    }

    /// CT_small (pydicom's sample) registered to itself moved by a known rigid transform (4°, 3.6 mm):
    /// the transform found undoes it within 0.1 mm over the slice.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: ctSmall), "DICOM samples not fetched (scripts/fetch-data.sh)"))
    func registrationReadsDICOMAndRecoversAKnownRigidMotion() throws {
        let known = folder.file("known.txt")
        try "#Insight Transform File V1.0\n#Transform 0\nTransform: Euler2DTransform_double_2_2\nParameters: 0.06981317 3.0 -2.0\nFixedParameters: -116 -137\n"
            .write(toFile: known, atomically: true, encoding: .utf8)
        let moving = folder.file("moving.nii.gz")
        #expect(try CLI.run(["apply", "-i", Self.ctSmall, "-r", Self.ctSmall, "-t", known, "--interp", "bspline", "-o", moving]).status == 0)
        let r = try CLI.run(["register", "-f", Self.ctSmall, "-m", moving, "-o", folder.file("reg"), "--preset", "rigid", "--threads", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        let found = try TransformFile.read(folder.file("reg_affine.txt"))[0].map
        let truth = try TransformFile.read(known)[0].map
        let grid = try ImageFile.read(Self.ctSmall).image.geometry
        var worst = 0.0
        for i in [0.0, 127] {
            for j in [0.0, 127] {
                let p = grid.physicalPoint(ofIndex: SIMD3(i, j, 0))
                worst = max(worst, Approx.maxDifference(truth.apply(found.apply(p)), p))
            }
        }
        #expect(worst < 0.1, "the motion is undone to within \(worst) mm at the corners")
    }
}
