import ArgumentParser
import Foundation
import RegCore
import SwiftRegKit
import RegIO
import RegKernels
import RegLearn
import RegMethods
import RegTransforms

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Register a pair in one pass of a trained network, optionally refined by SyN.",
        discussion: """
        The moving image is carried onto the fixed grid, both are scaled to [0, 1], and the network \
        predicts the warp. Writes the same files as `register`: PREFIX_warp.nii.gz (and \
        PREFIX_inverse_warp.nii.gz for a diffeomorphic model), PREFIX_warped.nii.gz, \
        PREFIX_jacobian.nii.gz and PREFIX_summary.json. The warp maps fixed-space points into \
        the moving image, so `apply -i MOVING -r FIXED -t PREFIX_warp.nii.gz` resamples the moving \
        image (or its labels, with --interp label). --refine N runs N iterations of SyN (local NCC, \
        full resolution) from the network's field. --shrink N runs the network on both images shrunk \
        by N (for a model trained at that resolution, like models/vm1-3d-halfres.yaml) and carries \
        the warp back onto the full fixed grid. Images must be pre-aligned as the training images \
        were (affinely, to one space), unless the model has an affine network (trained with \
        `affine` and `misalignment`), which takes misalignments within its training range; its warp \
        then holds the affine part too.
        Example: swiftreg predict --model models/vm1-2d-oasis.safetensors -f fixed.nii.gz -m moving.nii.gz -o out/pair --refine 20
        """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var log: LogOptions
    @Option(help: "The trained model (.safetensors from `swiftreg train`).") var model: String
    @Option(name: [.customShort("f"), .long], help: "The fixed image.") var fixed: String
    @Option(name: [.customShort("m"), .long], help: "The moving image.") var moving: String
    @Option(name: [.customShort("o"), .long], help: "Output prefix.") var output: String
    @Option(help: "Iterations of SyN refinement after the network (0: none).") var refine = 0
    @Option(help: "Run the network on both images shrunk by this factor (a model trained at that resolution); the warp is carried back onto the full fixed grid.")
    var shrink = 1

    struct Summary: Codable {
        var fixed: String, moving: String, model: String
        var architecture: NetworkArchitecture
        var shrink: Int, networkSeconds: Double, refineIterations: Int, refineSeconds: Double
        var refineLevels: [DeformableLevelReport]
        var jacobian: JacobianStatistics
        var jacobianInsideFixed: JacobianStatistics
    }

    func run() throws {
        try common.apply()
        guard refine >= 0 else { throw ValidationError("--refine must be ≥ 0, found \(refine)") }
        try OutputFolder.check(for: output + "_summary.json")
        let network = try ModelCheckpoint(decoding: try BinaryFile.read(model), path: model).network
        let fixedImage = try ImageFile.read(fixed).image.floatImage()
        let movingImage = try ImageFile.read(moving).image.floatImage()
        let g = fixedImage.geometry
        guard network.architecture.dimension == 2 ? g.size.z == 1 : g.dimension == 3 else {
            throw ValidationError("\(model) is a \(network.architecture.dimension)-D model; \(fixed) is \(g.dimension)-D (\(g.size.x)×\(g.size.y)×\(g.size.z))")
        }
        guard shrink >= 1 else { throw ValidationError("--shrink must be ≥ 1, found \(shrink)") }
        let start = Date()
        let predicted = try NetworkRegistration(network: network)
            .register(fixed: LearningData.shrunk(fixedImage, by: shrink), moving: LearningData.shrunk(movingImage, by: shrink))
        let networkSeconds = Date().timeIntervalSince(start)
        // With --shrink, the physical displacements are carried onto the full grid by linear interpolation.
        func full(_ u: VectorField) -> VectorField { shrink > 1 ? FieldKernels.resampled(u, onto: g) : u }
        var forward = full(predicted.forward), inverse = predicted.inverse.map(full)
        var levels: [DeformableLevelReport] = [], refineSeconds = 0.0
        if refine > 0 {
            var syn = SyNRegistration(stage: .refinement(iterations: refine))
            let display = ProgressDisplay(log)
            syn.progress = display.handler
            let refined = try syn.refine(fixed: fixedImage, moving: movingImage, initial: forward, initialInverse: inverse)
            display.finish()
            forward = refined.forward.field
            inverse = network.architecture.diffeomorphic ? refined.inverse.field : nil
            (levels, refineSeconds) = (refined.levels, refined.seconds)
        }
        let warp = DisplacementField(forward)
        let detJ = warp.jacobianDeterminant
        let warped = try Resampler.resample(movingImage, onto: fixedImage.geometry, mapping: PointMapping(displacement: forward),
                                            interpolation: .linear)
        let summary = Summary(fixed: fixed, moving: moving, model: model, architecture: network.architecture,
                              shrink: shrink, networkSeconds: networkSeconds, refineIterations: refine, refineSeconds: refineSeconds,
                              refineLevels: levels, jacobian: JacobianStatistics(determinant: detJ),
                              jacobianInsideFixed: JacobianStatistics(determinant: detJ, mask: fixedImage.foreground))
        let json = try JSONText.encode(summary)
        try TransformFile.writeDisplacementField(forward, to: output + "_warp.nii.gz")
        if let inverse { try TransformFile.writeDisplacementField(inverse, to: output + "_inverse_warp.nii.gz") }
        try ImageFile.write(detJ, to: output + "_jacobian.nii.gz")
        try ImageFile.write(warped, to: output + "_warped.nii.gz")
        try TextFile.write(json, to: output + "_summary.json")
        let j = summary.jacobianInsideFixed
        guard !log.quiet else { return }
        print(String(format: "network %.2f s%@; det J inside the fixed foreground: min %.3f, max %.3f, folded %.4f %%, SDlogJ %.3f",
                     networkSeconds, refine > 0 ? String(format: ", refinement %.2f s", refineSeconds) : "",
                     j.minimum, j.maximum, 100 * j.foldedFraction, j.sdLogJ))
        print(TransformChain([.displacement(warp)], names: [output + "_warp.nii.gz"]))
    }
}
