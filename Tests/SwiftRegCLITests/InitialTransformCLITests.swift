import Foundation
import RegCore
import RegIO
import RegTestSupport
import Testing

/// `register --initial-transform` (ANTs' `--initial-moving-transform`) on an oblique, anisotropic
/// phantom pair turned by 120°: from a start near the turn the rigid preset recovers it, and
/// PREFIX_affine.txt maps points as the truth does; a start given twice, a displacement field or a
/// 2-D transform for volumes are refused, naming what is wrong, with nothing written.
@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct InitialTransformCLITests {
    let folder = TemporaryFolder()
    static let grid = try! Geometry(size: SIMD3(40, 36, 32), spacing: SIMD3(1.5, 1.6, 1.8), origin: SIMD3(-30, 12, -25),
                                    direction: Phantoms.rotation(9, -6, 14))
    static let center = grid.physicalPoint(ofIndex: SIMD3(19.5, 17.5, 15.5))

    static func turn(_ axis: SIMD3<Double>, _ degrees: Double, _ shift: SIMD3<Double>) -> AffineMap {
        let t = degrees * .pi / 180, a = axis / axis.length
        let k = Matrix3(rows: SIMD3(0, -a.z, a.y), SIMD3(a.z, 0, -a.x), SIMD3(-a.y, a.x, 0))
        return AffineMap(matrix: .identity + k * sin(t) + k * k * (1 - cos(t)), translation: shift, center: center)
    }

    /// The fixed and moving phantoms (the moving one's content at `truth(p)` is the fixed one's at `p`).
    func pair(_ truth: AffineMap) throws -> (String, String) {
        let object = Phantoms.blobs(center: Self.center, extent: SIMD3(13, 11, 10), count: 9, seed: 11)
        let inverse = truth.inverse!
        let (fixed, moving) = (folder.file("fixed.nii.gz"), folder.file("moving.nii.gz"))
        try ImageFile.write(Phantoms.image(on: Self.grid, object), to: fixed)
        try ImageFile.write(Phantoms.image(on: Self.grid) { object(inverse.apply($0)) }, to: moving)
        return (fixed, moving)
    }

    @Test func aFarTurnIsRecoveredFromAGivenStart() throws {
        let truth = Self.turn(SIMD3(0.3, -0.5, 0.8), 120, SIMD3(4, -3, 2))
        let (fixed, moving) = try pair(truth)
        let start = folder.file("start.txt")
        try TransformFile.write([LinearTransformRecord(map: Self.turn(SIMD3(1, 0.2, 0), 10, SIMD3(2, 1, -2)).then(truth), center: Self.center)],
                                to: start)
        let prefix = folder.file("reg")
        let r = try CLI.run(["register", "-f", fixed, "-m", moving, "-o", prefix, "--preset", "rigid", "--metric", "mse",
                             "--initial-transform", start, "--threads", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        let found = try TransformFile.read(prefix + "_affine.txt")[0].map
        let corners = Self.grid.cornerPoints.map { (found.apply($0) - truth.apply($0)).length }
        #expect(corners.max()! < 1, "corner errors \(corners)")
        let summary = try String(contentsOfFile: prefix + "_summary.json", encoding: .utf8)
        #expect(summary.contains("\"start\" : \"initialTransform\""), "\(summary.prefix(300))")
        // The same start as an ANTs .mat file reads to the same result.
        let mat = folder.file("start.mat")
        try TransformFile.write(try TransformFile.read(start), to: mat)
        let again = try CLI.run(["register", "-f", fixed, "-m", moving, "-o", folder.file("mat"), "--preset", "rigid", "--metric", "mse",
                                 "--initial-transform", mat, "--threads", "2"])
        #expect(again.status == 0, "\(again.stderr)")
        let viaMat = try TransformFile.read(folder.file("mat_affine.txt"))[0].map
        #expect(Self.grid.cornerPoints.map { (viaMat.apply($0) - found.apply($0)).length }.max()! < 1e-3)
    }

    @Test func badStartsAreRefused() throws {
        let (fixed, moving) = try pair(.identity)
        let planar = folder.file("planar.txt")
        try TransformFile.write([LinearTransformRecord(map: AffineMap(translation: SIMD3(1, 2, 0)), dimension: 2)], to: planar)
        let cases: [([String], Int32, [String])] = [
            (["--initial-transform", planar, "--init", "geometry"], 2, ["--initial-transform and --init"]),
            (["--initial-transform", fixed], 1, [fixed]),
            (["--initial-transform", planar], 1, [planar, "2-D", "3-D"]),
            (["--initial-transform", folder.file("missing.txt")], 1, ["missing.txt"]),
        ]
        for (k, (options, status, words)) in cases.enumerated() {
            let prefix = folder.file("bad\(k)")
            let r = try CLI.run(["register", "-f", fixed, "-m", moving, "-o", prefix, "--preset", "rigid"] + options)
            #expect(r.status == status && words.allSatisfy { r.stderr.contains($0) }, "\(options): \(r.stderr)")
            #expect(!folder.contents.contains { $0.hasPrefix("bad\(k)") }, "\(options) left files")
        }
        // A plan names the start as an input, and --print-plan shows it.
        let printed = try CLI.run(["register", "-f", fixed, "-m", moving, "--initial-transform", planar, "--print-plan"])
        #expect(printed.status == 0 && printed.stdout.contains("initialTransform: \(planar)"), "\(printed.stdout)\(printed.stderr)")
    }
}
