import Foundation
import RegCore
import RegIO
import RegTestSupport
import Testing

/// `synth`, `compose`, `convert --threshold` and `evaluate --reference-warp`: the benchmark's
/// building blocks, end to end on a small oblique phantom.
@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct SynthCLITests {
    let folder = TemporaryFolder()

    /// A skull-stripped "brain" on an oblique grid: smooth structure inside an ellipsoid, zero
    /// outside; `edge: false` fills the whole grid (no edge for interpolation to blur).
    func brain(edge: Bool = true) throws -> String {
        let g = Phantoms.obliqueGeometry(size: SIMD3(36, 32, 24))
        let c = g.physicalPoint(ofIndex: SIMD3(17.5, 15.5, 11.5))
        let image = Phantoms.image(on: g) { p in
            let d = p - c
            let r = (d / SIMD3(13, 11, 9)).length
            return r < 1 || !edge ? 3 + sin(d.x / 3) * cos(d.y / 4) + d.z / 30 : 0
        }
        let path = folder.file("brain.nii.gz")
        try ImageFile.write(image, to: path)
        return path
    }

    struct Evaluation: Decodable {
        struct Endpoint: Decodable { let meanError: Double; let meanTruth: Double; let rotationDegrees: Double; let voxels: Int }
        struct Jacobian: Decodable { let folded: Int }
        let endpoint: Endpoint?
        let jacobian: Jacobian?
    }

    func evaluate(_ arguments: [String]) throws -> Evaluation {
        let r = try CLI.run(["evaluate"] + arguments + ["--json", "-"])
        #expect(r.status == 0, "\(r.stderr)")
        return try JSONDecoder().decode(Evaluation.self, from: Data(r.stdout.utf8))
    }

    @Test func knownAffineComposeAndEndpointError() throws {
        let brain = try brain()
        let p = folder.file("aff")
        let s = try CLI.run(["synth", "affine", brain, "-o", p, "--seed", "3", "--max-rotation", "9"])
        #expect(s.status == 0 && s.stdout.contains("known displacement"), "\(s.stderr)")
        // The affine file and the dense field are the same transform.
        let c = try CLI.run(["compose", "-r", brain, "-t", p + "_true_affine.txt", "-o", folder.file("composed.nii.gz")])
        #expect(c.status == 0, "\(c.stderr)")
        let same = try evaluate(["--warp", folder.file("composed.nii.gz"), "--reference-warp", p + "_true_warp.nii.gz",
                                 "--mask", p + "_labels.nii.gz"])
        let e = try #require(same.endpoint)
        #expect(e.meanError < 1e-4 && e.rotationDegrees < 1e-3 && e.voxels > 1000, "\(e)")
        // Identity against the known transform: the error is the known displacement and the rotation its angle.
        #expect(try CLI.run(["compose", "-r", brain, "-o", folder.file("identity.nii.gz")]).status == 0)
        let none = try #require(try evaluate(["--warp", folder.file("identity.nii.gz"), "--reference-warp", p + "_true_warp.nii.gz",
                                              "--mask", p + "_labels.nii.gz"]).endpoint)
        let map = try TransformFile.read(p + "_true_affine.txt")[0].map
        let r = try #require(map.matrix.nearestOrthogonal)
        let angle = acos(min(1, max(-1, (r.trace - 1) / 2))) * 180 / .pi
        #expect(abs(none.meanError - none.meanTruth) < 1e-6 && none.meanTruth > 1)
        #expect(abs(none.rotationDegrees - angle) < 0.05 && angle > 0.5, "\(none.rotationDegrees)° vs \(angle)°")
    }

    @Test func knownWarpCarriesTheMovingImageOntoTheFixed() throws {
        let brain = try brain(edge: false)
        let p = folder.file("kw")
        let s = try CLI.run(["synth", "warp", brain, "-o", p, "--max-displacement", "3", "--control-spacing", "12", "--seed", "2"])
        #expect(s.status == 0, "\(s.stderr)")
        // moving(φ(x)) = fixed(x): warping the moving image by the known field gives back the fixed one.
        let a = try CLI.run(["apply", "-i", p + "_moving.nii.gz", "-r", brain, "-t", p + "_true_warp.nii.gz", "-o", folder.file("back.nii.gz")])
        #expect(a.status == 0, "\(a.stderr)")
        let fixed = try ImageFile.read(brain).image.floatImage(), back = try ImageFile.read(folder.file("back.nii.gz")).image.floatImage()
        let moving = try ImageFile.read(p + "_moving.nii.gz").image.floatImage()
        // Away from the grid's faces, where the warp samples outside the image.
        func meanDifference(_ x: Image<Float>) -> Double {
            let s = fixed.geometry.size
            var sum = 0.0, n = 0
            for z in 5..<s.z - 5 { for y in 6..<s.y - 6 { for k in 6..<s.x - 6 {
                sum += Double(abs(fixed[k, y, z] - x[k, y, z])); n += 1
            } } }
            return sum / Double(n)
        }
        #expect(meanDifference(back) < 0.25 * meanDifference(moving), "\(meanDifference(back)) vs \(meanDifference(moving))")
        let classes = try ImageFile.read(p + "_labels.nii.gz").image.labelImage()
        #expect(Set(classes.voxels) == [1, 2, 3])
        #expect(try evaluate(["--warp", p + "_true_warp.nii.gz"]).jacobian?.folded == 0)
    }

    @Test func thresholdWritesAMaskAndContrastPaintsLabels() throws {
        let brain = try brain()
        let t = try CLI.run(["convert", brain, folder.file("mask.nii.gz"), "--threshold", "1e-6"])
        #expect(t.status == 0, "\(t.stderr)")
        let image = try ImageFile.read(brain).image.floatImage(), mask = try ImageFile.read(folder.file("mask.nii.gz")).image
        #expect(mask.voxelType == .uint8)
        #expect(zip(image.voxels, mask.floatImage().voxels).allSatisfy { ($0 >= 1e-6) == ($1 == 1) })
        let c = try CLI.run(["synth", "contrast", folder.file("mask.nii.gz"), "--shrink", "2", "-o", folder.file("painted.nii.gz"),
                             "--labels-output", folder.file("small.nii.gz")])
        #expect(c.status == 0, "\(c.stderr)")
        let painted = try ImageFile.read(folder.file("painted.nii.gz")).image.floatImage()
        #expect(painted.geometry.size == SIMD3(18, 16, 12) && Set(painted.voxels).count > 10)
        // Fields on two grids: the error names the known field's file.
        #expect(try CLI.run(["compose", "-r", brain, "-o", folder.file("big_field.nii.gz")]).status == 0)
        #expect(try CLI.run(["compose", "-r", folder.file("small.nii.gz"), "-o", folder.file("small_field.nii.gz")]).status == 0)
        let grids = try CLI.run(["evaluate", "--warp", folder.file("big_field.nii.gz"), "--reference-warp", folder.file("small_field.nii.gz")])
        #expect(grids.status == 1 && grids.stderr.contains("small_field.nii.gz (") && grids.stderr.contains("is not on the grid of"), "\(grids.stderr)")
        let bad = try CLI.run(["convert", brain, folder.file("x.nii.gz"), "--threshold", "1", "--type", "int16"])
        #expect(bad.status != 0 && bad.stderr.contains("--threshold"), "\(bad.stderr)")
    }
}
