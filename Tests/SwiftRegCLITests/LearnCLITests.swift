import Foundation
import Testing
import RegCore
import RegIO
import RegKernels
import RegTestSupport

/// Pearson's correlation of two images' voxels.
func correlation(_ a: some ContiguousValues<Float>, _ b: some ContiguousValues<Float>) -> Double {
    let n = Double(a.count), ma = a.reduce(0) { $0 + Double($1) } / n, mb = b.reduce(0) { $0 + Double($1) } / n
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for (x, y) in zip(a, b) { sab += (Double(x) - ma) * (Double(y) - mb); saa += (Double(x) - ma) * (Double(x) - ma); sbb += (Double(y) - mb) * (Double(y) - mb) }
    return sab / (saa * sbb).squareRoot()
}

@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct LearnCLITests {
    let folder = TemporaryFolder()

    /// A volume of 32×32 planes holding a bright ellipse whose centre drifts with `shift`.
    func writeVolume(_ name: String, shift: Double) throws -> String {
        let g = try Geometry(size: SIMD3(32, 32, 6), spacing: SIMD3(1.2, 1.2, 2), origin: SIMD3(-20, 15, 3))
        let image = Phantoms.image(on: g) { p in
            let i = g.continuousIndex(ofPhysicalPoint: p)
            let dx = (i.x - 16 - shift) / 9, dy = (i.y - 15) / 6
            return dx * dx + dy * dy < 1 ? 0.4 + 0.02 * i.x : 0
        }
        let path = folder.file(name)
        try ImageFile.write(image, to: path)
        return path
    }

    @Test func trainThenPredictWritesWhatRegisterWrites() throws {
        let images = try (0..<3).map { try writeVolume("v\($0).nii.gz", shift: Double($0) - 1) }
        let model = folder.file("model.safetensors")
        let config = folder.file("train.yaml")
        try TextFile.write("""
            model: vm1
            dimension: 2
            images: [\(images.joined(separator: ", "))]
            objective: {similarity: mse, smoothness: 0.01}
            steps: 6
            learningRate: 0.001
            validateEvery: 3
            output: \(model)
            """, to: config)
        let train = try CLI.run(["train", "--config", config, "--threads", "2", "--quiet"])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stdout.contains("step      6"))
        let curve = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("model_curve.json")))) as? [[String: Any]]
        #expect(curve?.count == 2)
        // Resuming a finished run adds nothing; resuming with more steps continues.
        try TextFile.write(try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "steps: 6", with: "steps: 9"), to: config)
        let resumed = try CLI.run(["train", "--config", config, "--resume", "--quiet"])
        #expect(resumed.status == 0 && resumed.stdout.contains("resuming at step 6") && resumed.stdout.contains("step      9"))

        // A 2-D pair: planes written as 2-D images on an anisotropic grid away from the origin.
        let g2 = try Geometry(size: SIMD3(30, 28, 1), spacing: SIMD3(0.9, 1.3, 1), origin: SIMD3(4, -7, 0))
        let fixed = Phantoms.image(on: g2) { p in ((p.x - 17) * (p.x - 17) / 64 + (p.y - 10) * (p.y - 10) / 36) < 1 ? 1 : 0 }
        let moving = Phantoms.image(on: g2) { p in ((p.x - 19) * (p.x - 19) / 64 + (p.y - 10) * (p.y - 10) / 36) < 1 ? 1 : 0 }
        try ImageFile.write(fixed, to: folder.file("f.nii.gz"))
        try ImageFile.write(moving, to: folder.file("m.nii.gz"))
        let out = folder.file("pair")
        let predict = try CLI.run(["predict", "--model", model, "-f", folder.file("f.nii.gz"), "-m", folder.file("m.nii.gz"),
                                   "-o", out, "--refine", "5", "--quiet"])
        #expect(predict.status == 0, "\(predict.stderr)")
        for suffix in ["_warp.nii.gz", "_warped.nii.gz", "_jacobian.nii.gz", "_summary.json"] {
            #expect(FileManager.default.fileExists(atPath: out + suffix), "missing \(suffix)")
        }
        let warp = try ImageFile.read(out + "_warp.nii.gz").image.floatImage()
        #expect(warp.geometry.sameGrid(as: g2) && warp.components == 2)
        // The warp is an ordinary transform: `apply` with it reproduces the warped image.
        let applied = folder.file("applied.nii.gz")
        #expect(try CLI.run(["apply", "-i", folder.file("m.nii.gz"), "-r", folder.file("f.nii.gz"), "-t", out + "_warp.nii.gz",
                             "-o", applied]).status == 0)
        let a = try ImageFile.read(applied).image.floatImage(), w = try ImageFile.read(out + "_warped.nii.gz").image.floatImage()
        #expect(zip(a.voxels, w.voxels).map { abs($0 - $1) }.max()! < 1e-4)

        // A 3-D image given to a 2-D model is refused with a clear message.
        let wrong = try CLI.run(["predict", "--model", model, "-f", images[0], "-m", images[1], "-o", folder.file("x")])
        #expect(wrong.status != 0 && wrong.stderr.contains("2-D model"))
    }

    /// Semi-supervised: a label map per image (here their intensity classes, by `synth classes`),
    /// trained on the Dice term alone, and a clear error when the lists do not match.
    @Test func semiSupervisedTrainingReadsALabelMapPerImage() throws {
        let images = try (0..<3).map { try writeVolume("s\($0).nii.gz", shift: Double($0) - 1) }
        let labels = images.map { $0.replacingOccurrences(of: ".nii.gz", with: "_classes.nii.gz") }
        for (image, label) in zip(images, labels) {
            let r = try CLI.run(["synth", "classes", image, "-o", label])
            #expect(r.status == 0, "\(r.stderr)")
            let classes = try ImageFile.read(label).image.labelImage()
            #expect(Set(classes.voxels) == [0, 1, 2, 3])
        }
        func config(labels: [String]) throws -> String {
            let path = folder.file("semi\(labels.count).yaml")
            try TextFile.write("""
                model: vm1
                dimension: 2
                images: [\(images.joined(separator: ", "))]
                labels: [\(labels.joined(separator: ", "))]
                classes: [1, 2, 3]
                objective: {similarity: none, smoothness: 0.01, dice: 1}
                steps: 4
                validateEvery: 2
                output: \(folder.file("semi.safetensors"))
                """, to: path)
            return path
        }
        let train = try CLI.run(["train", "--config", try config(labels: labels), "--quiet"])
        #expect(train.status == 0 && train.stdout.contains("step      4"), "\(train.stderr)")
        let wrong = try CLI.run(["train", "--config", try config(labels: Array(labels.prefix(2))), "--quiet"])
        #expect(wrong.status != 0 && wrong.stderr.contains("semi2.yaml") && wrong.stderr.contains("one label map per image"), "\(wrong.stderr)")
    }

    @Test func aDamagedModelFileIsNamed() throws {
        let model = folder.file("broken.safetensors")
        try TextFile.write("not a model", to: model)
        let r = try CLI.run(["predict", "--model", model, "-f", model, "-m", model, "-o", folder.file("x")])
        #expect(r.status != 0 && r.stderr.contains("broken.safetensors"))
    }

    @Test(.enabled(if: SharedData.isAvailable, "\(SharedData.skipMessage)"))
    func theCommittedModelRegistersRealSlices() throws {
        // Two OASIS planes stored as one-slice volumes with an LIA orientation; neither was trained on
        // as a pair in this orientation, and the model comes from a fresh clone's models/.
        let model = SharedData.packageRoot + "/models/vm1-diff-2d-oasis.safetensors"
        let f = SharedData.path("brain/clapirn/image_B_2D.nii.gz"), m = SharedData.path("brain/clapirn/image_A_2D.nii.gz")
        let out = folder.file("oasis")
        let r = try CLI.run(["predict", "--model", model, "-f", f, "-m", m, "-o", out, "--threads", "2", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let fixed = try ImageFile.read(f).image.floatImage(), moving = try ImageFile.read(m).image.floatImage()
        let warped = try ImageFile.read(out + "_warped.nii.gz").image.floatImage()
        let before = correlation(fixed.voxels, moving.voxels), after = correlation(fixed.voxels, warped.voxels)
        #expect(after > before + 0.08, "correlation \(before) → \(after)")
        // Diffeomorphic: the inverse is written, and no pixel folds.
        #expect(FileManager.default.fileExists(atPath: out + "_inverse_warp.nii.gz"))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "_summary.json"))) as? [String: Any]
        let jacobian = summary?["jacobian"] as? [String: Any]
        #expect(jacobian?["foldedFraction"] as? Double == 0)
    }

    @Test(.enabled(if: SharedData.isAvailable, "\(SharedData.skipMessage)"))
    func theCommittedAffineModelUndoesAMisalignment() throws {
        // The moving plane, rotated by 8° and shifted by (6, −4) voxels in its own grid.
        let f = SharedData.path("brain/clapirn/image_B_2D.nii.gz")
        let original = try ImageFile.read(SharedData.path("brain/clapirn/image_A_2D.nii.gz")).image.floatImage()
        let grid = try Geometry(size: original.geometry.size)
        let angle = 8 * Double.pi / 180
        let rotation = Matrix3(rows: SIMD3(cos(angle), -sin(angle), 0), SIMD3(sin(angle), cos(angle), 0), SIMD3(0, 0, 1))
        let map = AffineMap(matrix: rotation, translation: SIMD3(6, -4, 0), center: SIMD3<Double>(grid.size &- 1) / 2)
        var moving = original
        moving.voxels = try Resampler.resample(try Image<Float>(geometry: grid, voxels: original.voxels), onto: grid,
                                               mapping: PointMapping(map)).voxels
        let m = folder.file("misaligned.nii.gz")
        try ImageFile.write(moving, to: m)
        let model = SharedData.packageRoot + "/models/vm1-affine-2d-oasis.safetensors"
        let out = folder.file("affine")
        let r = try CLI.run(["predict", "--model", model, "-f", f, "-m", m, "-o", out, "--threads", "2", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let fixed = try ImageFile.read(f).image.floatImage()
        let warped = try ImageFile.read(out + "_warped.nii.gz").image.floatImage()
        let before = correlation(fixed.voxels, moving.voxels), after = correlation(fixed.voxels, warped.voxels)
        // The same U-Net trained without the affine stage gets less far.
        let plain = folder.file("plain")
        let q = try CLI.run(["predict", "--model", SharedData.packageRoot + "/models/vm1-diff-2d-oasis.safetensors", "-f", f, "-m", m,
                             "-o", plain, "--threads", "2", "--quiet"])
        #expect(q.status == 0, "\(q.stderr)")
        let deformableOnly = correlation(fixed.voxels, try ImageFile.read(plain + "_warped.nii.gz").image.floatImage().voxels)
        #expect(after > before + 0.15 && after > 0.9, "correlation \(before) → \(after)")
        #expect(after > deformableOnly + 0.02, "with the affine stage \(after), without \(deformableOnly)")
        #expect(FileManager.default.fileExists(atPath: out + "_inverse_warp.nii.gz"))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "_summary.json"))) as? [String: Any]
        #expect((summary?["jacobian"] as? [String: Any])?["foldedFraction"] as? Double == 0)
    }
}
