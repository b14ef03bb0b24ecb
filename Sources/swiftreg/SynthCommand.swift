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
          swiftreg synth atrophy bl.nii.gz --labels bl_seg.nii.gz --label 17 --label 53 --change -5% --noise 0.02 --motion 2,1.5 -o sim/hippo
          swiftreg synth lesion subject.nii.gz --center 20,-10,30 --radius 10 --mass-effect 3 -o sim/lesion
        """,
        subcommands: [Warp.self, Affine.self, Contrast.self, Classes.self, Atrophy.self, Lesion.self])

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

    struct Atrophy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Shrink or grow one region of a real image by a known percentage (a follow-up scan with a known change).",
            discussion: """
            The region is --mask, or the --label values of --labels, or else the voxels above a tenth of the \
            image's 99th percentile (a skull-stripped brain). Its edge moves within a band of --sigma mm so \
            that ∫ det J over it changes by --change; then the follow-up is moved rigidly (--motion \
            DEGREES,MM about a random axis), resampled once by cubic B-spline interpolation (linear \
            interpolation would blur it against the baseline, which reads as change), and noise is added to \
            both scans (--noise, a fraction of the 99th percentile). \
            Writes PREFIX_baseline.nii.gz, PREFIX_followup.nii.gz, PREFIX_true_warp.nii.gz (baseline → follow-up), \
            PREFIX_followup_labels.nii.gz (with --labels) and PREFIX_truth.json (the change reached).
            """)
        @OptionGroup var common: CommonOptions
        @Argument(help: "The baseline image.") var image: String
        @Option(name: .shortAndLong, help: "Output prefix.") var output: String
        @Option(parsing: .unconditional, help: "Percent volume change of the region, e.g. -5% or 10.") var change: String
        @Option(help: "The region as a mask on the image's grid.") var mask: String?
        @Option(help: "A label map on the image's grid.") var labels: String?
        @Option(help: "A label of the region (repeatable).") var label: [Int] = []
        @Option(help: "Width of the band in which the tissue moves, mm.") var sigma = 2.0
        @Option(help: "Noise standard deviation, a fraction of the image's 99th percentile.") var noise = 0.0
        @Option(help: "Rigid motion of the follow-up: DEGREES,MM.") var motion = "0,0"
        @Option(help: "Random seed (motion axis and noise).") var seed: UInt64 = 1

        func run() throws {
            try common.apply()
            guard let percent = Double(change.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "%", with: "")) else {
                throw ValidationError("--change takes a percentage such as -5% or 10; found '\(change)'")
            }
            let parts = motion.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let degrees = parts[0], let mm = parts[1] else {
                throw ValidationError("--motion takes DEGREES,MM such as 2,1.5; found '\(motion)'")
            }
            guard label.isEmpty || labels != nil else { throw ValidationError("--label needs --labels") }
            var simulation = ChangeSimulation(image: image, percentChange: percent)
            simulation.mask = mask
            simulation.labels = labels
            simulation.labelValues = label
            simulation.sigma = sigma
            simulation.noise = noise
            (simulation.motionDegrees, simulation.motionMillimetres) = (degrees, mm)
            simulation.seed = seed
            let truth = try simulation.write(prefix: output)
            print(String(format: "%@ changed by %.3f %%; wrote %@_{baseline,followup,true_warp}.nii.gz and %@_truth.json",
                         truth.region, truth.percentVolumeChange, output, output))
        }
    }

    struct Lesion: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a lesion with mass effect to a real image (a ball of new intensity pushing the tissue around it).",
            discussion: """
            Tissue is pushed radially from --center (LPS mm) by --mass-effect mm at the lesion's edge, \
            decaying outside as a divergence-free push; the pushed ball (radius about --radius + \
            --mass-effect) is filled with --intensity (a fraction of the image's 99th percentile). The image \
            is resampled once, by cubic B-spline. Writes \
            PREFIX_image.nii.gz, PREFIX_lesion.nii.gz (the lesion's mask), PREFIX_true_warp.nii.gz \
            (original → lesioned points) and PREFIX_truth.json.
            """)
        @OptionGroup var common: CommonOptions
        @Argument(help: "The image.") var image: String
        @Option(name: .shortAndLong, help: "Output prefix.") var output: String
        @Option(parsing: .unconditional, help: "The lesion's centre, x,y,z in LPS mm.") var center: String
        @Option(help: "The lesion's radius, mm.") var radius: Double
        @Option(name: .customLong("mass-effect"), help: "Push at the lesion's edge, mm.") var massEffect = 2.0
        @Option(help: "The lesion's intensity, a fraction of the image's 99th percentile.") var intensity = 0.25

        func run() throws {
            try common.apply()
            let c = center.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard c.count == 3 else { throw ValidationError("--center takes x,y,z in LPS mm such as 20,-10,30; found '\(center)'") }
            var lesion = LesionSimulation(image: image, center: SIMD3(c[0], c[1], c[2]), radius: radius)
            lesion.massEffect = massEffect
            lesion.intensity = intensity
            let truth = try lesion.write(prefix: output)
            print(String(format: "lesion of %.0f mm³ at (%.1f, %.1f, %.1f) mm; wrote %@_{image,lesion,true_warp}.nii.gz",
                         truth.lesionVolume, c[0], c[1], c[2], output))
        }
    }
}
