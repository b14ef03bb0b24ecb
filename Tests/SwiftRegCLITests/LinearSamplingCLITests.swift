import Foundation
import RegCore
import RegIO
import RegTestSupport
import Testing

/// Real whole heads: map 01 holds the neck, map 03 ends at the cerebellum. Sampled in the fixed
/// head with its neck, the `affine` preset tilts map 03 out of line (mean Dice of the carried
/// labels 0.05); sampled in map 03 (the default, `--linear-sampling smaller`), 0.22.
@Suite(.enabled(if: CLI.binary != nil && SharedData.isAvailable, "swiftreg binary not built, or \(SharedData.skipMessage)"))
struct LinearSamplingCLITests {
    let folder = TemporaryFolder()

    /// Mean Dice over the labels of `fixed` (background left out), absent labels counting 0.
    static func meanDice(_ fixed: Image<Int32>, _ moving: Image<Int32>) -> Double {
        var both: [Int32: Int] = [:], sizes: [Int32: Int] = [:]
        for (a, b) in zip(fixed.voxels, moving.voxels) {
            if a != 0 { sizes[a, default: 0] += 1 }
            if b != 0 { sizes[b, default: 0] += 1 }
            if a != 0, a == b { both[a, default: 0] += 1 }
        }
        let labels = Set(fixed.voxels).subtracting([0])
        return labels.map { 2 * Double(both[$0] ?? 0) / Double(sizes[$0]!) }.reduce(0, +) / Double(labels.count)
    }

    @Test func theHeadWithoutTheNeckIsSampled() throws {
        for map in ["01", "03"] {
            let r = try CLI.run(["synth", "contrast", SharedData.path("brain/synthseg_label_maps/training_seg_\(map).nii.gz"), "--seed", "7",
                                 "--shrink", "2", "--labels-output", folder.file("l\(map).nii.gz"), "-o", folder.file("c\(map).nii.gz")])
            #expect(r.status == 0, "\(r.stderr)")
        }
        func dice(_ sampling: String) throws -> (Double, String) {
            let prefix = folder.file(sampling)
            let r = try CLI.run(["register", "-f", folder.file("c01.nii.gz"), "-m", folder.file("c03.nii.gz"), "--preset", "affine",
                                 "--linear-sampling", sampling, "-o", prefix, "-q", "--threads", "2"])
            #expect(r.status == 0, "\(r.stderr)")
            let a = try CLI.run(["apply", "-i", folder.file("l03.nii.gz"), "-r", folder.file("c01.nii.gz"), "-t", prefix + "_affine.txt",
                                 "--interp", "label", "-o", prefix + "_labels.nii.gz"])
            #expect(a.status == 0, "\(a.stderr)")
            let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: prefix + "_summary.json"))) as? [String: Any]
            return (Self.meanDice(try ImageFile.readLabels(folder.file("l01.nii.gz")), try ImageFile.readLabels(prefix + "_labels.nii.gz")),
                    summary?["linearSampledIn"] as? String ?? "")
        }
        let (smaller, sampledIn) = try dice("smaller"), (fixed, fixedIn) = try dice("fixed")
        #expect(sampledIn == "moving" && fixedIn == "fixed")
        #expect(smaller > 0.15 && smaller > 3 * fixed, "mean Dice sampled in map 03 \(smaller), in map 01 with its neck \(fixed)")
    }
}
