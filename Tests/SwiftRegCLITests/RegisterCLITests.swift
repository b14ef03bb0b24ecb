import Foundation
import Testing
import RegCore
import RegIO
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
        #expect(usage.status == 2 && usage.stderr.contains("--metric takes mse, ncc, mi, nmi or mad"))
    }
}
