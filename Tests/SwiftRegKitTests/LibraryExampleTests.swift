import Foundation
import Testing
import RegAnalysis
import RegCore
import RegIO
import RegKernels
import RegMethods
import RegTestSupport
import SwiftRegKit

/// The README's library example, run: register two images, carry the moving labels onto the
/// fixed grid through the result, and score them, in under 30 lines of library calls.
@Suite struct LibraryExampleTests {
    @Test func registerApplyLabelsAndScoreDice() throws {
        let folder = TemporaryFolder()
        let (fixedPath, movingPath, labelsPath, truthPath) = try Self.writeOblique2DPair(in: folder)
        // --- the example ---
        var plan = RegistrationPlan.preset("syn")!
        plan.inputs = PlanInputs(fixed: fixedPath, moving: movingPath)
        let run = try RegistrationFiles.register(plan, prefix: folder.file("reg"))
        let fixed = run.inputs.fixed.geometry
        let atlas = try ImageFile.read(labelsPath).image.labelImage()
        let carried = try Resampler.resample(atlas, onto: fixed, mapping: run.result.chain.mapping(onto: fixed), interpolation: .label)
        let truth = try ImageFile.read(truthPath).image.labelImage()
        let before = try LabelEvaluation(reference: truth, test: Resampler.resample(atlas, onto: fixed, interpolation: .label)).meanDice
        let after = try LabelEvaluation(reference: truth, test: carried).meanDice
        // --- end of the example ---
        #expect(after > 0.9 && after > before + 0.1, "Dice \(before) → \(after)")
        #expect(run.files.allSatisfy { FileManager.default.fileExists(atPath: $0) } && run.files.count == 7)
    }

    /// Two discs of two labels on an oblique, anisotropic 2-D grid; the moving one shifted,
    /// stretched and with a bulge, so that the affine stages and SyN each have work to do.
    static func writeOblique2DPair(in folder: TemporaryFolder) throws -> (String, String, String, String) {
        let grid = Phantoms.oblique2DGeometry(size: SIMD2(64, 56))
        let center = grid.physicalPoint(ofIndex: SIMD3(31.5, 27.5, 0))
        func labels(shift: SIMD3<Double>, stretch: Double, bulge: Double) -> Image<Int32> {
            let values = (0..<grid.voxelCount).map { i -> Int32 in
                let index = SIMD3(i % grid.size.x, (i / grid.size.x) % grid.size.y, 0)
                let q = grid.physicalPoint(ofIndex: SIMD3<Double>(index)) - center - shift
                let r = (q.x * q.x / (stretch * stretch) + q.y * q.y).squareRoot() - bulge * exp(-(q.x - 8) * (q.x - 8) / 20)
                return r < 9 ? 2 : r < 17 ? 1 : 0
            }
            return try! Image<Int32>(geometry: grid, voxels: values)
        }
        let fixed = labels(shift: .zero, stretch: 1, bulge: 0), moving = labels(shift: SIMD3(3, -2, 0), stretch: 1.15, bulge: 3)
        let paths = ["fixed.nii.gz", "moving.nii.gz", "moving_labels.nii.gz", "fixed_labels.nii.gz"].map(folder.file)
        try ImageFile.write(fixed.converted(to: Float.self), to: paths[0])
        try ImageFile.write(moving.converted(to: Float.self), to: paths[1])
        try ImageFile.write(moving, to: paths[2])
        try ImageFile.write(fixed, to: paths[3])
        return (paths[0], paths[1], paths[2], paths[3])
    }
}
