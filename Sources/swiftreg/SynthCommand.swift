import ArgumentParser
import Foundation
import RegCore
import SwiftRegKit
import RegIO
import RegKernels
import RegSynth
import RegTransforms

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Make test pairs with a known answer: random warps and affines of real images, synthetic contrasts of label maps.",
        discussion: """
        warp and affine write, for a real skull-stripped image taken as the fixed image:
          PREFIX_moving.nii.gz         the image deformed by the known transform
          PREFIX_true_warp.nii.gz      the known transform, fixed → moving, as a displacement field on the fixed grid
          PREFIX_labels.nii.gz         3 intensity classes of the fixed brain (terciles; the brain is > 0)
          PREFIX_moving_labels.nii.gz  the classes carried by the known transform (label interpolation)
        and affine also PREFIX_true_affine.txt. A registration of PREFIX_moving to the image should
        reproduce PREFIX_true_warp: `swiftreg evaluate --warp FIELD --reference-warp PREFIX_true_warp.nii.gz`.
        contrast paints a label map with a random intensity per label, noise, blur and a bias field.
        classes labels a brain with its 3 intensity classes (the PREFIX_labels of warp and affine).
        Examples:
          swiftreg synth warp ../shared/data/brain/symnet/image_A_full_size.nii.gz -o kw/symnetA --max-displacement 15 --seed 2
          swiftreg synth affine ../shared/data/brain/clapirn/image_B_fullsize.nii.gz -o aff/clapirnB --seed 5
          swiftreg synth contrast training_seg_01.nii.gz --shrink 2 --seed 1 -o s01.nii.gz --labels-output s01_labels.nii.gz
          swiftreg synth classes ../shared/data/brain/symnet/image_A_full_size.nii.gz -o classes/symnetA.nii.gz
        """,
        subcommands: [Warp.self, Affine.self, Contrast.self, Classes.self])

    /// Writes the moving image, the known field and the class labels of a known-transform pair.
    static func writePair(fixed: Image<Float>, truth: VectorField, inverse: PointMapping, prefix: String) throws {
        let g = fixed.geometry
        let classes = TissueClasses.terciles(of: fixed)
        let moving = try Resampler.resample(fixed, onto: g, mapping: inverse)
        let movingClasses = try Resampler.resample(classes, onto: g, mapping: inverse, interpolation: .label)
        try ImageFile.write(moving, to: prefix + "_moving.nii.gz")
        try ImageFile.write(classes, to: prefix + "_labels.nii.gz")
        try ImageFile.write(movingClasses, to: prefix + "_moving_labels.nii.gz")
        try TransformFile.writeDisplacementField(truth, to: prefix + "_true_warp.nii.gz")
        print(String(format: "known displacement: largest %.2f mm, mean %.2f mm; wrote %@_{moving,labels,moving_labels,true_warp}.nii.gz",
                     truth.meanAndMaxNorm.max, truth.meanAndMaxNorm.mean, prefix))
    }

    /// What `warp` and `affine` share: the fixed image, the output prefix and the seed.
    struct PairOptions: ParsableArguments {
        @OptionGroup var common: CommonOptions
        @Argument(help: "The fixed image (skull-stripped brain: voxels > 0 are the brain).") var image: String
        @Option(name: .shortAndLong, help: "Output prefix.") var output: String
        @Option(help: "Random seed.") var seed: UInt64 = 1

        /// Applies the common options and reads the fixed image.
        func fixed() throws -> Image<Float> {
            try common.apply()
            return try ImageFile.read(image).image.floatImage()
        }
    }

    struct Warp: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deform a real image by a smooth random diffeomorphism.")
        @OptionGroup var pair: PairOptions
        @Option(name: .customLong("max-displacement"), help: "Largest displacement, mm.") var maxDisplacement = 15.0
        @Option(name: .customLong("control-spacing"), help: "Spacing of the random velocity's B-spline lattice, mm.") var controlSpacing = 24.0

        func run() throws {
            let fixed = try pair.fixed()
            let truth = try RandomWarp(on: fixed.geometry, maxDisplacement: maxDisplacement, controlSpacing: controlSpacing, seed: pair.seed)
            try SynthCommand.writePair(fixed: fixed, truth: truth.forward.field, inverse: PointMapping(displacement: truth.inverse.field),
                                       prefix: pair.output)
        }
    }

    struct Affine: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a real image by a random affine transform about its centre.")
        @OptionGroup var pair: PairOptions
        @Option(name: .customLong("max-rotation"), help: "Largest rotation, degrees.") var maxRotation = 10.0
        @Option(name: .customLong("max-stretch"), help: "Largest scaling/shear entry (0.08: ±8 %).") var maxStretch = 0.08
        @Option(name: .customLong("max-translation"), help: "Largest translation per axis, mm.") var maxTranslation = 8.0

        func run() throws {
            let fixed = try pair.fixed()
            let g = fixed.geometry
            let center = g.physicalPoint(ofIndex: (SIMD3<Double>(g.size) - 1) * 0.5)
            let map = RandomAffine(on: g, center: center, maxRotationDegrees: maxRotation, maxStretch: maxStretch,
                                   maxTranslation: maxTranslation, seed: pair.seed).map
            guard let inverse = map.inverse else { throw ValidationError("the random affine is singular: lower --max-stretch") }
            try TransformFile.write([LinearTransformRecord(map: map)], to: pair.output + "_true_affine.txt")
            try SynthCommand.writePair(fixed: fixed, truth: VectorField(sampling: g) { map.apply($0) }, inverse: PointMapping(inverse),
                                       prefix: pair.output)
        }
    }

    struct Contrast: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Paint a label map with a random contrast (SynthMorph style).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Label map (integer labels).") var labels: String
        @Option(name: .shortAndLong, help: "Output image.") var output: String
        @Option(help: "Shrink the label map by this factor first (nearest), for speed.") var shrink = 1
        @Option(name: .customLong("labels-output"), help: "Also write the (shrunk) label map here.") var labelsOutput: String?
        @Option(help: "Random seed.") var seed: UInt64 = 1

        func run() throws {
            try common.apply()
            let map = try LearningData.labelMap(labels, shrink: shrink)
            try ImageFile.write(try ContrastSynthesis().image(from: map, seed: seed), to: output)
            if let labelsOutput { try ImageFile.write(map, to: labelsOutput) }
        }
    }

    struct Classes: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Label a skull-stripped brain with 3 intensity classes (terciles of the voxels > 0, dark to bright), "
                + "e.g. as labels for semi-supervised training on images without segmentations.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The brain image (voxels > 0 are the brain).") var image: String
        @Option(name: .shortAndLong, help: "Output label map (labels 1, 2, 3; 0 outside).") var output: String

        func run() throws {
            try common.apply()
            try ImageFile.write(TissueClasses.terciles(of: try ImageFile.read(image).image.floatImage()), to: output)
        }
    }
}
