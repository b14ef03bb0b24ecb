import Foundation
import RegCore
import RegIO
import RegTestSupport
import Testing

/// `swiftreg synth atrophy` and `swiftreg longitudinal` on real 2-D slices.
@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct LongitudinalCLITests {
    let folder = TemporaryFolder()

    struct Summary: Decodable {
        var percentVolumeChange: Double
        var boundaryShiftPercentVolumeChange: Double
        var rotationDegrees: Double
        var translationMillimetres: Double
    }
    struct Truth: Decodable { var percentVolumeChange: Double }

    func summary(_ prefix: String) throws -> Summary {
        try JSONDecoder().decode(Summary.self, from: Data(contentsOf: URL(fileURLWithPath: prefix + "_summary.json")))
    }

    /// A real brain slice loses 2 % of its area (the tissue at its edge, `synth atrophy`), is
    /// turned 3° and moved 2 mm, with noise in both scans: `longitudinal` finds the change within
    /// 0.4 points by det J and by boundary shift, and the motion.
    @Test(.enabled(if: SharedData.isAvailable, "\(SharedData.skipMessage)"))
    func simulatedAtrophyOfARealSliceIsRecovered() throws {
        let slice = SharedData.path("brain/clapirn/image_A_2D.nii.gz")
        let sim = folder.file("sim")
        let made = try CLI.run(["synth", "atrophy", slice, "--change", "-2%", "--noise", "0.02", "--motion", "3,2", "--seed", "3", "-o", sim])
        #expect(made.status == 0, "\(made.stderr)")
        let truth = try JSONDecoder().decode(Truth.self, from: Data(contentsOf: URL(fileURLWithPath: sim + "_truth.json")))
        #expect(abs(truth.percentVolumeChange + 2) < 1e-3)
        let out = folder.file("lg")
        let run = try CLI.run(["longitudinal", sim + "_baseline.nii.gz", sim + "_followup.nii.gz", "-o", out, "-q"])
        #expect(run.status == 0, "\(run.stderr)")
        let s = try summary(out)
        #expect(abs(s.percentVolumeChange - truth.percentVolumeChange) < 0.4, "det J \(s.percentVolumeChange)")
        #expect(abs(s.boundaryShiftPercentVolumeChange - truth.percentVolumeChange) < 0.4, "boundary shift \(s.boundaryShiftPercentVolumeChange)")
        #expect(abs(s.rotationDegrees - 3) < 0.3 && abs(s.translationMillimetres - 2) < 0.5, "\(s.rotationDegrees)° \(s.translationMillimetres) mm")
        let logJ = try ImageFile.read(out + "_logjacobian_baseline.nii.gz").image
        #expect(logJ.geometry.sameGrid(as: try ImageFile.read(slice).image.geometry))
    }

    /// The real longitudinal pair with its baseline mask: the run completes with a small change,
    /// a QC page with pictures, and the maps on the baseline's grid.
    @Test(.enabled(if: SharedData.isAvailable, "\(SharedData.skipMessage)"))
    func realLongitudinalPair() throws {
        let bl = SharedData.path("2d/greedy/t1longi_2d_bl.nii.gz"), fu = SharedData.path("2d/greedy/t1longi_2d_fu.nii.gz")
        let out = folder.file("pair")
        let run = try CLI.run(["longitudinal", bl, fu, "--mask", SharedData.path("2d/greedy/t1longi_2d_bl_mask.nii.gz"), "-o", out])
        #expect(run.status == 0, "\(run.stderr)")
        let s = try summary(out)
        #expect(s.percentVolumeChange.isFinite && abs(s.percentVolumeChange) < 10)
        #expect(s.boundaryShiftPercentVolumeChange.isFinite && abs(s.boundaryShiftPercentVolumeChange) < 10)
        let page = try String(contentsOfFile: out + "_report.html", encoding: .utf8)
        #expect(page.contains("data:image/png;base64") && page.contains("boundary shift"))
    }

    /// A 2-D follow-up for a 3-D baseline, and an empty mask: exit 1, an error naming the file,
    /// no outputs.
    @Test func badInputsExitOneAndWriteNothing() throws {
        let g3 = Phantoms.obliqueGeometry(size: SIMD3(20, 18, 16))
        let volume = folder.file("volume.nii.gz"), flat = folder.file("flat.nii.gz"), empty = folder.file("empty.nii.gz")
        try ImageFile.write(Phantoms.image(on: g3) { $0.x + $0.y }, to: volume)
        try ImageFile.write(Phantoms.image(on: Phantoms.oblique2DGeometry()) { $0.x }, to: flat)
        try ImageFile.write(Image<UInt8>(geometry: g3), to: empty)
        let mixed = try CLI.run(["longitudinal", volume, flat, "-o", folder.file("out"), "-q"])
        #expect(mixed.status == 1 && mixed.stderr.contains("flat.nii.gz"), "\(mixed.stderr)")
        let masked = try CLI.run(["longitudinal", volume, volume, "--mask", empty, "-o", folder.file("out"), "-q"])
        #expect(masked.status == 1 && masked.stderr.contains("empty.nii.gz"), "\(masked.stderr)")
        let change = try CLI.run(["synth", "atrophy", volume, "--change", "-90%", "-o", folder.file("out")])
        #expect(change.status == 1 && change.stderr.contains("change"), "\(change.stderr)")
        #expect(!folder.contents.contains { $0.hasPrefix("out") })
    }
}
