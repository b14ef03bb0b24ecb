import Foundation
import RegCore
import RegIO
import RegTestSupport
import Testing

/// `swiftreg segment` and `fuse` end to end on oblique, anisotropic phantoms.
@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct SegmentCLITests {
    let folder = TemporaryFolder()

    /// Two blobs of different brightness; `shift` moves them (mm).
    static func scene(_ p: SIMD3<Double>, shift: SIMD3<Double> = .zero) -> Double {
        let a = p - SIMD3(30, 24, 0) - shift, b = p - SIMD3(22, 30, 0) - shift
        return 100 * exp(-(a * a).sum() / 60) + 60 * exp(-(b * b).sum() / 25)
    }

    /// A target, and `count` atlases (image + labels) on grids of their own with shifted anatomy.
    func writeScene(atlases count: Int) throws -> (target: String, atlases: [(String, String)]) {
        let target = folder.file("target.nii.gz")
        // Oblique, anisotropic, centred near (27.5, 25) mm; the atlases' grids are axis-aligned.
        try ImageFile.write(Phantoms.image(on: Phantoms.oblique2DGeometry(size: SIMD2(56, 44))) { Self.scene($0) }, to: target)
        var atlases: [(String, String)] = []
        for k in 0..<count {
            let shift = SIMD3(1.5 - Double(k), 0.8 * Double(k) - 0.5, 0)
            let grid = try Geometry(size: SIMD3(48, 52, 1), spacing: SIMD3(1, 0.9, 1), origin: SIMD3(3.5 + Double(k), 1.6, 0), dimension: 2)
            let image = Phantoms.image(on: grid) { Self.scene($0, shift: shift) }
            var labels = Image<Int16>(geometry: grid)
            for i in labels.voxels.indices { labels.voxels[i] = image.voxels[i] > 50 ? 2 : image.voxels[i] > 15 ? 1 : 0 }
            let (img, seg) = (folder.file("atlas\(k).nii.gz"), folder.file("atlas\(k)_seg.nii.gz"))
            try ImageFile.write(image, to: img)
            try ImageFile.write(labels, to: seg)
            atlases.append((img, seg))
        }
        return (target, atlases)
    }

    @Test func majorityWithOneAtlasEqualsApplyingARegisterRun() throws {
        let (target, atlases) = try writeScene(atlases: 1)
        let (image, labels) = atlases[0]
        let reg = folder.file("reg")
        #expect(try CLI.run(["register", "-f", target, "-m", image, "-o", reg, "--preset", "syn", "-q", "--threads", "2"]).status == 0)
        let applied = folder.file("applied.nii.gz")
        #expect(try CLI.run(["apply", "-i", labels, "-r", target, "-t", reg + "_warp.nii.gz", "-t", reg + "_affine.txt",
                             "--interp", "label", "-o", applied]).status == 0)
        let seg = folder.file("seg")
        let run = try CLI.run(["segment", "-t", target, "-a", image, labels, "--fusion", "majority", "-o", seg, "-q", "--threads", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        let expected = try ImageFile.read(applied).image.labelImage(), fused = try ImageFile.read(seg + "_labels.nii.gz").image.labelImage()
        #expect(fused.voxels == expected.voxels)
        #expect(Set(expected.voxels) == [0, 1, 2])
        #expect(fused.geometry.sameGrid(as: try ImageFile.read(target).image.geometry))
        // Posteriors: one volume per label, 0/1 from a single atlas, in the order the summary gives.
        let posteriors = try ImageFile.read(seg + "_posteriors.nii.gz")
        #expect(posteriors.info.timePoints == 3)
        struct Summary: Decodable { var posteriorLabels: [Int]; var volumes: [Volume]; struct Volume: Decodable { var label: Int; var voxels: Int } }
        let summary = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: URL(fileURLWithPath: seg + "_summary.json")))
        #expect(summary.posteriorLabels == [0, 1, 2])
        let p = posteriors.image.floatImage()
        for v in stride(from: 0, to: fused.voxels.count, by: 7) {
            let k = summary.posteriorLabels.firstIndex(of: Int(fused.voxels[v]))!
            if p.voxels[v * 3 + k] != 0 { #expect(p.voxels[v * 3 + k] == 1) }
        }
        for volume in summary.volumes { #expect(volume.voxels == fused.voxels.filter { Int($0) == volume.label }.count) }
        let csv = try String(contentsOfFile: seg + "_volumes.csv", encoding: .utf8)
        #expect(csv.hasPrefix("label,name,voxels,mm2\n1,,"))
        #expect(FileManager.default.fileExists(atPath: seg + "_report.html"))
    }

    /// For joint label fusion a preset registers without its finest deformable level unless
    /// asked; the other fusions take the whole preset; a plan file keeps its own levels, and
    /// --finest-level with one is refused.
    @Test func presetsLeaveOutTheFinestDeformableLevelUnlessAsked() throws {
        let (target, atlases) = try writeScene(atlases: 1)
        let (image, labels) = atlases[0]
        struct Kept: Decodable { var deformableLevels: [Level]; struct Level: Decodable { var shrink: Int } }
        func shrinks(_ extra: [String]) throws -> [Int] {
            let seg = folder.file("levels\(extra.count)")
            let run = try CLI.run(["segment", "-t", target, "-a", image, labels, "-o", seg, "--keep-warps", "-q", "--threads", "2"] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            let data = try Data(contentsOf: URL(fileURLWithPath: seg + "_atlas01_summary.json"))
            return try JSONDecoder().decode(Kept.self, from: data).deformableLevels.map(\.shrink)
        }
        #expect(try shrinks([]) == [4, 2])
        // A rerun finds the registration it kept without the finest level, and reuses it.
        let rerun = try CLI.run(["segment", "-t", target, "-a", image, labels, "-o", folder.file("levels0"), "--keep-warps", "--threads", "2"])
        #expect(rerun.status == 0 && rerun.stderr.contains("registration read from"), "\(rerun.stderr)")
        #expect(try shrinks(["--finest-level"]) == [4, 2, 1])
        #expect(try shrinks(["--fusion", "majority"]) == [4, 2, 1])
        let plan = folder.file("plan.yaml")
        try "deformable: {method: syn, shrink: [2, 1], smoothing: [1, 0], iterations: [5, 3]}\n".write(toFile: plan, atomically: true, encoding: .utf8)
        #expect(try shrinks(["--plan", plan, "--fusion", "staple", "-q"]) == [2, 1])
        let refused = try CLI.run(["segment", "-t", target, "-a", image, labels, "-o", folder.file("no"), "--plan", plan, "--finest-level"])
        #expect(refused.status == 2 && refused.stderr.contains("--finest-level applies to presets"))
    }

    @Test func keptRegistrationsAreReusedByALaterRun() throws {
        let (target, atlases) = try writeScene(atlases: 3)
        let seg = folder.file("seg")
        let args = ["segment", "-t", target] + atlases.flatMap { ["-a", $0.0, $0.1] } + ["-o", seg, "--keep-warps", "--preset", "affine", "--threads", "2"]
        let first = try CLI.run(args + ["--fusion", "jlf"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(FileManager.default.fileExists(atPath: seg + "_atlas03_affine.txt"))
        let jlf = try ImageFile.read(seg + "_labels.nii.gz").image.labelImage()
        let second = try CLI.run(args + ["--fusion", "majority"])
        #expect(second.status == 0)
        #expect(second.stderr.components(separatedBy: "registration read from").count == 4, "\(second.stderr)")
        let third = try CLI.run(args + ["--fusion", "jlf"])
        #expect(third.status == 0)
        #expect(try ImageFile.read(seg + "_labels.nii.gz").image.labelImage() == jlf)
        // Another plan does not reuse them.
        let other = try CLI.run(args.map { $0 == "affine" ? "rigid" : $0 } + ["--fusion", "majority"])
        #expect(other.status == 0 && !other.stderr.contains("registration read from"))
    }

    @Test func concurrentRegistrationsGiveTheSameResult() throws {
        let (target, atlases) = try writeScene(atlases: 3)
        let base = ["segment", "-t", target] + atlases.flatMap { ["-a", $0.0, $0.1] } + ["--preset", "syn", "--fusion", "jlf", "--threads", "2", "-q"]
        let one = try CLI.run(base + ["-o", folder.file("one"), "--concurrent", "1"])
        let two = try CLI.run(base + ["-o", folder.file("two"), "--concurrent", "2", "--keep-warps"])
        #expect(one.status == 0 && two.status == 0, "\(one.stderr) \(two.stderr)")
        #expect(try ImageFile.read(folder.file("one_labels.nii.gz")).image == (try ImageFile.read(folder.file("two_labels.nii.gz")).image))
        #expect(try ImageFile.read(folder.file("one_confidence.nii.gz")).image == (try ImageFile.read(folder.file("two_confidence.nii.gz")).image))
        // The registrations written from the two workers' threads joined the run's set.
        #expect(FileManager.default.fileExists(atPath: folder.file("two_atlas02_warp.nii.gz")))
    }

    @Test func selectKeepsTheMostSimilarAtlases() throws {
        let (target, atlases) = try writeScene(atlases: 3)
        let seg = folder.file("sel")
        let r = try CLI.run(["segment", "-t", target] + atlases.flatMap { ["-a", $0.0, $0.1] }
                            + ["-o", seg, "--preset", "affine", "--select", "2", "--fusion", "majority", "--threads", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        struct Summary: Decodable { var atlases: [Atlas]; struct Atlas: Decodable { var score: Double?; var selected: Bool } }
        let s = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: URL(fileURLWithPath: seg + "_summary.json")))
        #expect(s.atlases.filter(\.selected).count == 2)
        let unselected = try #require(s.atlases.first { !$0.selected })
        #expect(s.atlases.filter(\.selected).allSatisfy { $0.score! >= unselected.score! })
    }

    @Test func fuseTakesAtlasesOnTheTargetGrid() throws {
        let (target, atlases) = try writeScene(atlases: 2)
        // Atlases off the target's grid are refused, naming the file.
        let r = try CLI.run(["fuse", "-t", target, "-a", atlases[0].0, atlases[0].1, "-o", folder.file("f")])
        #expect(r.status == 1 && r.stderr.contains(atlases[0].1) && r.stderr.contains("segment registers them"))
        // On the grid: a textured target as both atlases' image (each patch matches itself best), labels on its grid.
        let grid = try ImageFile.read(target).image.geometry
        let textured = folder.file("textured.nii.gz")
        try ImageFile.write(Phantoms.randomImage(Float.self, on: grid, seed: 3), to: textured)
        var labels = Image<Int32>(geometry: grid)
        for i in labels.voxels.indices { labels.voxels[i] = Int32(i % 3) }
        let seg = folder.file("ongrid_seg.nii.gz")
        try ImageFile.write(labels, to: seg)
        let ok = try CLI.run(["fuse", "-t", textured, "-a", textured, seg, "-a", textured, seg, "--fusion", "jlf", "-o", folder.file("f")])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try ImageFile.read(folder.file("f_labels.nii.gz")).image.labelImage().voxels == labels.voxels)
    }

    @Test func badInputsFailClearlyAndLeaveNoOutputs() throws {
        let (target, atlases) = try writeScene(atlases: 2)
        let (image, labels) = atlases[0]
        // A label map on another grid than its image.
        let offGrid = folder.file("offgrid_seg.nii.gz")
        try ImageFile.write(Image<Int16>(geometry: try Geometry(size: SIMD3(20, 20, 1), dimension: 2)), to: offGrid)
        // Labels that are not whole numbers.
        let fractional = folder.file("fractional_seg.nii.gz")
        var f = try ImageFile.read(labels).image.floatImage()
        f.voxels[5] = 0.5
        try ImageFile.write(f, to: fractional)
        // A 3-D target for 2-D atlases.
        let volume = folder.file("volume.nii.gz")
        try ImageFile.write(Phantoms.image(on: Phantoms.obliqueGeometry()) { Self.scene($0) }, to: volume)
        // A list naming a file that does not exist.
        let list = folder.file("atlases.csv")
        try "image,labels\n\(image),\(labels)\nmissing.nii.gz,\(labels)\n".write(toFile: list, atomically: true, encoding: .utf8)
        let cases: [([String], [String])] = [
            (["-a", image, offGrid], [offGrid, image]),
            (["-a", image, fractional], [fractional, "whole numbers"]),
            (["-a", image, labels, "--select", "3"], ["--select", "1…1"]),
            (["--atlases", list], [list, "line 3", "missing.nii.gz"]),
            (["-a", image], ["IMAGE LABELS"]),
        ]
        for (extra, words) in cases {
            let r = try CLI.run(["segment", "-t", target] + extra + ["-o", folder.file("bad"), "--preset", "affine"])
            #expect(r.status == 1, "\(extra): exit \(r.status)")
            for w in words { #expect(r.stderr.contains(w), "\(extra): '\(w)' missing from \(r.stderr)") }
        }
        // A missing output folder is named before any image is read (here the atlas does not even exist).
        for command in ["segment", "fuse"] {
            let r = try CLI.run([command, "-t", target, "-a", "missing.nii.gz", labels, "-o", folder.file("nowhere/out")])
            #expect(r.status == 1 && r.stderr.contains("nowhere") && r.stderr.contains("does not exist") && !r.stderr.contains("missing.nii.gz"),
                    "\(command): \(r.stderr)")
        }
        let dimension = try CLI.run(["segment", "-t", volume, "-a", image, labels, "-o", folder.file("bad"), "--preset", "affine"])
        #expect(dimension.status == 1 && dimension.stderr.contains("2-D") && dimension.stderr.contains(volume), "\(dimension.stderr)")
        #expect(!folder.contents.contains { $0.hasPrefix("bad") || $0.contains(".partial") }, "\(folder.contents)")
    }
}
