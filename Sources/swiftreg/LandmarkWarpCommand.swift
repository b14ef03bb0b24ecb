import ArgumentParser
import Foundation
import RegCore
import RegIO
import RegKernels
import RegTransforms

struct LandmarkWarpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "landmark-warp",
        abstract: "A dense warp from corresponding landmarks: thin-plate spline (2-D, 3-D) or piecewise affine (2-D).",
        discussion: """
        Fits a map carrying each fixed-space landmark onto its moving-space landmark and writes it \
        as a displacement field on the reference grid (LPS mm, as register writes PREFIX_warp.nii.gz), \
        so `swiftreg apply -i MOVING -r FIXED -t WARP` (or antsApplyTransforms) warps the moving image \
        onto the fixed one. Landmarks pair by label when every point has a distinct label, else by order.
        Models: tps (thin-plate spline, U(r) = r in 3-D and r² log r in 2-D; --stiffness > 0 makes it \
        approximating), piecewise-affine (2-D only: Delaunay triangles of the fixed points, each carried \
        affinely; the least-squares affine outside their hull).
        Example:
          swiftreg landmark-warp --fixed-landmarks f.csv --moving-landmarks m.csv -r fixed.nii.gz -o lm_warp.nii.gz
        """)

    @OptionGroup var common: CommonOptions
    @Option(name: .customLong("fixed-landmarks"), help: "Fixed-space landmarks (.csv LPS or .fcsv).") var fixedLandmarks: String
    @Option(name: .customLong("moving-landmarks"), help: "Moving-space landmarks.") var movingLandmarks: String
    @Option(name: .shortAndLong, help: "Reference image: the grid of the warp (usually the fixed image).") var reference: String
    @Option(name: .shortAndLong, help: "Output displacement field (.nii.gz).") var output: String
    @Option(help: "tps or piecewise-affine.") var model = "tps"
    @Option(help: "Thin-plate spline stiffness λ (0 interpolates the landmarks exactly).") var stiffness = 0.0
    @Option(help: "Also write the inverse warp (moving-space points back; by fixed-point iteration) here.") var inverse: String?

    func run() throws {
        try common.apply()
        guard ["tps", "piecewise-affine"].contains(model) else {
            throw ValidationError("--model takes tps or piecewise-affine; found '\(model)'")
        }
        _ = try ImageFile.format(of: output)
        let grid = try ImageFile.read(reference).image.geometry
        let (fixed, moving) = try LandmarkFile.read(fixedLandmarks).paired(with: LandmarkFile.read(movingLandmarks))
        let field: VectorField
        let map: (SIMD3<Double>) -> SIMD3<Double>
        if model == "tps" {
            let tps = try ThinPlateSpline(fixed: fixed.points, moving: moving.points, dimension: grid.dimension, stiffness: stiffness)
            field = tps.field(on: grid)
            map = tps.map
        } else {
            guard grid.dimension == 2 else { throw ValidationError("--model piecewise-affine takes a 2-D reference; \(reference) is 3-D") }
            let warp = try PiecewiseAffineWarp(fixed: fixed.points, moving: moving.points)
            field = warp.field(on: grid)
            map = warp.map
        }
        let residual = zip(fixed.points, moving.points).map { (map($0) - $1).length }.max() ?? 0
        let stats = JacobianStatistics(determinant: FieldKernels.jacobianDeterminant(of: field))
        let inverseField = inverse.map { _ in FieldKernels.inverse(of: field) }
        try TransformFile.writeDisplacementField(field, to: output)
        if let inverse, let inverseField { try TransformFile.writeDisplacementField(inverseField, to: inverse) }
        print(String(format: "%@ through %d landmark pairs: largest residual %.4f mm; det J min %.4f, max %.4f, folded %d voxels",
                     model, fixed.count, residual, stats.minimum, stats.maximum, stats.folded))
    }
}
