import Foundation
import Testing
import RegCore
import RegIO
import RegKernels
import RegTestSupport

@Suite(.enabled(if: CLI.binary != nil && SharedData.isAvailable, "swiftreg binary not built or ../shared/data absent"))
struct RegisterCLITests {
    let folder = TemporaryFolder()
    static let slices = SharedData.path("2d/itk_examples/")

    @Test func registerWritesTransformsWarpedImageAndSummaryThatApplyReproduces() throws {
        let prefix = folder.file("reg")
        let r = try CLI.run(["register", "-f", Self.slices + "BrainProtonDensitySliceBorder20.png",
                             "-m", Self.slices + "BrainProtonDensitySliceR10X13Y17.png", "-o", prefix,
                             "--preset", "rigid", "--metric", "mse", "--threads", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        for suffix in ["_affine.txt", "_affine.mat", "_warped.nii.gz", "_summary.json"] {
            #expect(FileManager.default.fileExists(atPath: prefix + suffix), "missing \(suffix)")
        }
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: prefix + "_summary.json"))) as! [String: Any]
        #expect((summary["correlationAfter"] as! Double) > 0.99)
        #expect((summary["linearLevels"] as? [Any])?.count == 3)
        // apply with either transform file reproduces the warped image.
        let warped = try ImageFile.read(prefix + "_warped.nii.gz").image.floatImage()
        for file in ["_affine.txt", "_affine.mat"] {
            let out = folder.file("applied\(file).nii.gz")
            let a = try CLI.run(["apply", "-i", Self.slices + "BrainProtonDensitySliceR10X13Y17.png",
                                 "-r", Self.slices + "BrainProtonDensitySliceBorder20.png", "-t", prefix + file, "-o", out])
            #expect(a.status == 0, "\(a.stderr)")
            #expect(a.stderr.contains("points are mapped by, in order:"))
            let applied = try ImageFile.read(out).image.floatImage()
            let worst = zip(applied.voxels, warped.voxels).map { abs($0 - $1) }.max() ?? 1
            #expect(worst < 1e-3, "\(file): \(worst)")
        }
    }

    /// A prefix in a missing folder fails before the registration runs, naming the folder.
    @Test func missingOutputFolderFailsAtOnce() throws {
        let prefix = folder.file("no/such/folder/reg")
        let r = try CLI.run(["register", "-f", Self.slices + "BrainProtonDensitySliceBorder20.png",
                             "-m", Self.slices + "BrainProtonDensitySliceR10X13Y17.png", "-o", prefix, "--preset", "rigid"])
        #expect(r.status != 0)
        #expect(r.stderr.contains(folder.file("no/such/folder")) && r.stderr.contains("does not exist"), "\(r.stderr)")
        #expect(!r.stderr.contains("level 1/3"), "the registration ran first: \(r.stderr)")
    }

    @Test func applyPointsMapsFixedPointsIntoMovingSpaceAndInverseBack() throws {
        let t = folder.file("t.txt")
        try TransformFile.write([LinearTransformRecord(map: AffineMap(matrix: .rotation(axis: 2, angle: 0.3), translation: SIMD3(5, -2, 1)))], to: t)
        let points = folder.file("p.csv")
        try LandmarkFile.write(Landmarks(points: [SIMD3(10, 20, 30), SIMD3(-4, 0, 2)], labels: ["a", "b"]), to: points)
        #expect(try CLI.run(["apply-points", "-p", points, "-t", t, "-o", folder.file("m.csv")]).status == 0)
        #expect(try CLI.run(["apply-points", "-p", folder.file("m.csv"), "-t", "[\(t),1]", "-o", folder.file("back.csv")]).status == 0)
        let moved = try LandmarkFile.read(folder.file("m.csv")), back = try LandmarkFile.read(folder.file("back.csv"))
        let expected = AffineMap(matrix: .rotation(axis: 2, angle: 0.3), translation: SIMD3(5, -2, 1)).apply(SIMD3(10, 20, 30))
        #expect(Approx.maxDifference(moved.points[0], expected) < 1e-6)
        #expect(Approx.maxDifference(back.points[1], SIMD3(-4, 0, 2)) < 1e-6 && back.labels == ["a", "b"])
    }

    @Test func badRegistrationInputWritesNoOutput() throws {
        let prefix = folder.file("bad")
        let empty = folder.file("empty_mask.nii.gz")
        let fixed = try ImageFile.read(Self.slices + "BrainProtonDensitySliceBorder20.png").image
        try ImageFile.write(Image<UInt8>(geometry: fixed.geometry), to: empty)
        let r = try CLI.run(["register", "-f", Self.slices + "BrainProtonDensitySliceBorder20.png",
                             "-m", Self.slices + "BrainProtonDensitySliceR10X13Y17.png", "-o", prefix, "--fixed-mask", empty])
        #expect(r.status == 1)
        #expect(r.stderr.contains("fixed mask: the mask is empty"), "\(r.stderr)")
        #expect(!folder.contents.contains { $0.hasPrefix("bad") || $0.hasPrefix(".bad") })
        let usage = try CLI.run(["register", "-f", "a.nii", "-m", "b.nii", "-o", prefix, "--metric", "xcorr"])
        #expect(usage.status == 2 && usage.stderr.contains("--metric takes mse, mad, ncc, mi, nmi"))
    }
}

/// `register --preset syn` end to end on 2-D slices of the real lapirn pair, with `apply`,
/// `jacobian` and plans.
@Suite(.enabled(if: CLI.binary != nil && SharedData.isAvailable, "swiftreg binary not built or ../shared/data absent"))
struct DeformableCLITests {
    let folder = TemporaryFolder()

    /// Axial slice 72 of a lapirn subject (and of its seg, read through its own header).
    func slice(_ subject: String) throws -> (image: String, seg: String) {
        let image = try ImageFile.read(SharedData.path("brain/lapirn/image_\(subject)_160x192x144.nii.gz")).image.floatImage()
        let seg = try ImageFile.read(SharedData.path("brain/lapirn/image_\(subject)_160x192x144_seg.nii.gz")).image.floatImage()
        let g = image.geometry
        let grid = try Geometry(size: SIMD3(g.size.x, g.size.y, 1), spacing: g.spacing, origin: g.physicalPoint(ofIndex: SIMD3(0, 0, 72)),
                                direction: g.direction, dimension: 2)
        let paths = (folder.file("\(subject).nii.gz"), folder.file("\(subject)_seg.nii.gz"))
        try ImageFile.write(try Resampler.resample(image, onto: grid), to: paths.0)
        try ImageFile.write(try Resampler.resample(seg, onto: grid, interpolation: .label).converted(to: Int16.self), to: paths.1)
        return paths
    }

    @Test(arguments: ["syn", "bspline"])
    func deformableWritesWarpsJacobianAndSummaryThatApplyAndJacobianReproduce(preset: String) throws {
        let a = try slice("A"), b = try slice("B")
        let prefix = folder.file(preset)
        let r = try CLI.run(["register", "-f", b.image, "-m", a.image, "-o", prefix, "--preset", preset, "--threads", "2",
                             "--deformable-iterations", "60x40x20", "--write-composite"])
        #expect(r.status == 0, "\(r.stderr)")
        for suffix in ["_affine.txt", "_affine.mat", "_warp.nii.gz", "_inverse_warp.nii.gz", "_jacobian.nii.gz", "_warped.nii.gz", "_summary.json",
                       "_composite.h5", "_inverse_composite.h5"] {
            #expect(FileManager.default.fileExists(atPath: prefix + suffix), "missing \(suffix)")
        }
        let warp = try ImageFile.read(prefix + "_warp.nii.gz")
        #expect(warp.image.components == 2 && warp.image.geometry.dimension == 2)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: prefix + "_summary.json"))) as! [String: Any]
        #expect((summary["deformableLevels"] as? [Any])?.count == 3)
        #expect(((summary["jacobianInsideFixed"] as? [String: Any])?["folded"] as? Int) == 0)
        // apply -t warp -t affine reproduces the warped image, and carries the labels over.
        let out = folder.file("\(preset)_applied.nii.gz")
        let applied = try CLI.run(["apply", "-i", a.image, "-r", b.image, "-t", prefix + "_warp.nii.gz", "-t", prefix + "_affine.txt", "-o", out])
        #expect(applied.status == 0, "\(applied.stderr)")
        let warped = try ImageFile.read(prefix + "_warped.nii.gz").image.floatImage(), again = try ImageFile.read(out).image.floatImage()
        #expect(zip(warped.voxels, again.voxels).map { abs($0 - $1) }.max()! < 1e-3)
        // The composites hold the same chains, each way.
        for (spec, input, reference, chain) in [(prefix + "_composite.h5", a.image, b.image, [prefix + "_warp.nii.gz", prefix + "_affine.txt"]),
                                                (prefix + "_inverse_composite.h5", b.image, a.image, ["[" + prefix + "_affine.txt,1]", prefix + "_inverse_warp.nii.gz"])] {
            let viaComposite = folder.file("composite.nii.gz"), viaFiles = folder.file("files.nii.gz")
            #expect(try CLI.run(["apply", "-i", input, "-r", reference, "-t", spec, "-o", viaComposite]).status == 0)
            #expect(try CLI.run(["apply", "-i", input, "-r", reference] + chain.flatMap { ["-t", $0] } + ["-o", viaFiles]).status == 0)
            let x = try ImageFile.read(viaComposite).image.floatImage(), y = try ImageFile.read(viaFiles).image.floatImage()
            #expect(zip(x.voxels, y.voxels).map { abs($0 - $1) }.max()! < 1e-3, "\(spec)")
        }
        let labels = folder.file("\(preset)_labels.nii.gz")
        #expect(try CLI.run(["apply", "-i", a.seg, "-r", b.image, "-t", prefix + "_warp.nii.gz", "-t", prefix + "_affine.txt",
                             "--interp", "label", "-o", labels]).status == 0)
        func dice(_ x: String, _ y: String) throws -> Double {
            let p = try ImageFile.read(x).image.floatImage().voxels, q = try ImageFile.read(y).image.floatImage().voxels
            return [Float(1), 2].map { l in
                let both = zip(p, q).filter { $0 == l && $1 == l }.count
                return 2 * Double(both) / Double(p.filter { $0 == l }.count + q.filter { $0 == l }.count)
            }.reduce(0, +) / 2
        }
        let before = try dice(a.seg, b.seg), after = try dice(labels, b.seg)
        #expect(after > before + 0.1, "Dice \(before) → \(after)")
        // jacobian reproduces the written det J.
        let detJ = folder.file("\(preset)_detj.nii.gz")
        let j = try CLI.run(["jacobian", prefix + "_warp.nii.gz", "-o", detJ, "--log", folder.file("\(preset)_logj.nii.gz")])
        #expect(j.status == 0 && j.stdout.contains("folded 0 "), "\(j.stdout) \(j.stderr)")
        let written = try ImageFile.read(prefix + "_jacobian.nii.gz").image.floatImage(), recomputed = try ImageFile.read(detJ).image.floatImage()
        #expect(written.voxels == recomputed.voxels)
    }

    @Test func printedPlansRunAndBadPlansAreNamed() throws {
        let printed = try CLI.run(["register", "-f", "x", "-m", "y", "-o", "z", "--preset", "quick", "--print-plan"])
        #expect(printed.status == 0 && printed.stdout.contains("metric: lncc"), "\(printed.stdout)\(printed.stderr)")
        let plan = folder.file("plan.yaml")
        try Data(printed.stdout.utf8).write(to: URL(fileURLWithPath: plan))
        let again = try CLI.run(["register", "--plan", plan, "--print-plan"])
        #expect(again.stdout == printed.stdout, "\(again.stderr)")
        // Keys left out take the stage's defaults: no volume penalty.
        let penalty = try CLI.run(["register", "--preset", "syn", "--volume-penalty", "1.5", "--print-plan"])
        #expect(penalty.status == 0 && penalty.stdout.contains("volumePenalty: 1.5"), "\(penalty.stdout)\(penalty.stderr)")
        let older = folder.file("older.yaml")
        let withoutPenalty = penalty.stdout.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("volume") }
        try Data(withoutPenalty.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: older))
        let read = try CLI.run(["register", "--plan", older, "--print-plan"])
        #expect(read.status == 0 && read.stdout.contains("volumePenalty: 0.0") && read.stdout.contains("volumeTolerance: 0.0"),
                "\(read.stdout)\(read.stderr)")
        let bad = folder.file("bad.yaml")
        try Data(printed.stdout.replacingOccurrences(of: "step:", with: "stride:").utf8).write(to: URL(fileURLWithPath: bad))
        let r = try CLI.run(["register", "-f", "x", "-m", "y", "-o", "z", "--plan", bad, "--print-plan"])
        #expect(r.status == 1 && r.stderr.contains(bad) && r.stderr.contains("deformable.stride") && r.stderr.contains("step"), "\(r.stderr)")
        // Each command line's exit status and the words its plan (status 0) or error shows.
        let cases: [([String], Int32, String)] = [
            (["--preset", "demons", "--volume-penalty", "1"], 2, "--volume-penalty"),
            (["--preset", "bspline", "--grid-spacing", "6"], 0, "gridSpacing: 6.0"),
            (["--preset", "bspline", "--step", "0.3"], 2, "--grid-spacing"),
            // --step: one value for every level, or one per level.
            (["--preset", "syn", "--step", "0.5x0.45x0.2"], 0, "step: [0.5, 0.45, 0.2]\n"),
            (["--preset", "syn", "--step", "0.35"], 0, "step: 0.35\n"),
            (["--preset", "syn", "--step", "0.4x0.3"], 2, "one per level"),
            (["--preset", "syn", "--deformable-shrink", "2x1", "--deformable-sigmas", "1x0", "--deformable-iterations", "10x5"], 2, "--step"),
            (["--preset", "syn", "--step", "0.4x-1x0.3"], 2, "--step"),
            // The deformable levels' errors name the deformable options, not the linear ones.
            (["--preset", "syn", "--deformable-iterations", "60xfew"], 2, "--deformable-iterations takes values like 4x2x1; found '60xfew'"),
            (["--preset", "syn", "--deformable-shrink", "4x1.5x1"], 2, "--deformable-shrink takes whole numbers"),
            (["--shrink", "4x2x1", "--iterations", "100x50"], 2, "--shrink, --sigmas and --iterations need one value per level"),
            // Fewer levels than the preset's keep its finest ones for what is not given.
            (["--iterations", "100x50"], 0, "shrink: [2, 1]\n  smoothing: [1.0, 0.0]"),
        ]
        for (options, status, words) in cases {
            let r = try CLI.run(["register"] + options + ["--print-plan"])
            #expect(r.status == status && (status == 0 ? r.stdout : r.stderr).contains(words), "\(options): \(r.stdout)\(r.stderr)")
        }
    }
}
