import ArgumentParser
import Dispatch
import Foundation
import RegAnalysis
import RegCore
import SwiftRegKit
import RegIO
import RegKernels
import RegMethods
import RegSynth
import RegTransforms

struct BenchDeformableCommand: ParsableCommand, WritesAsItGoes {
    static let configuration = CommandConfiguration(
        commandName: "bench-deformable",
        abstract: "Accuracy benchmarks of deformable registration on real data: known warps and multi-contrast pairs.",
        discussion: """
        known-warp: each real image is deformed by a smooth random diffeomorphism (exp of a random \
        B-spline velocity, up to --max-displacement mm) and registered back; reports the mean \
        endpoint error over the brain and the Dice of 3 intensity classes (terciles of the smoothed \
        brain) warped by the known warp and brought back by the estimate (label interpolation).
        multi-contrast: every pair of label maps gets two images of different random contrast \
        (random intensity per label, noise, blur, bias field); moving is registered to fixed and its \
        labels warped; reports Dice over the 30 FreeSurfer labels of the VoxelMorph set.
        Examples:
          swiftreg bench-deformable known-warp ../shared/data/brain/clapirn/image_A_fullsize.nii.gz --threads 2
          swiftreg bench-deformable multi-contrast ../shared/data/brain/synthseg_label_maps/*.nii.gz --shrink 2
        """,
        subcommands: [KnownWarp.self, MultiContrast.self])

    /// Writes a line to standard output at once (benchmarks run for minutes; a pipe should see progress).
    static func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    static func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    static func plan(_ preset: String) throws -> RegistrationPlan {
        guard let plan = RegistrationPlan.preset(preset), plan.deformable != nil else {
            throw ValidationError("--preset takes a deformable preset (syn, syn-mi, quick, demons, bspline); found '\(preset)'")
        }
        return plan
    }

    static func writeJSON<T: Encodable>(_ value: T, to path: String?) throws {
        guard let path else { return }
        try TextFile.write(JSONText.encode(value), to: path)
    }

    struct KnownWarp: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "known-warp",
                                                        abstract: "Recover smooth random warps of real images.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Real images (skull-stripped brains: voxels > 0 are the brain).") var images: [String]
        @Option(help: "Deformable preset to run.") var preset = "syn"
        @Option(name: .customLong("max-displacement"), help: "Largest displacement of the random warp, mm.") var maxDisplacement = 15.0
        @Option(help: "Seed of the first warp (one more per image).") var seed: UInt64 = 1
        @Option(help: "Write the results as JSON here.") var json: String?

        struct Row: Encodable {
            var image: String, seed: UInt64, largestTruth: Double, meanTruthInBrain: Double
            var endpointError: Double, endpointError95: Double, classDice: [Double], folded: Int, sdLogJ: Double, seconds: Double
        }

        func run() throws {
            try common.apply()
            let plan = try BenchDeformableCommand.plan(preset)
            var rows: [Row] = []
            BenchDeformableCommand.emit("image | truth max / brain mean (mm) | endpoint error mean / 95th pct (mm) | Dice of 3 classes | folded | SDlogJ | s")
            for (k, path) in images.enumerated() {
                let fixed = try ImageFile.read(path).image.floatImage()
                let g = fixed.geometry
                let classes = TissueClasses.terciles(of: fixed)
                let truth = try RandomWarp(on: g, maxDisplacement: maxDisplacement, seed: seed + UInt64(k))
                let moving = try Resampler.resample(fixed, onto: g, mapping: PointMapping(displacement: truth.inverse.field))
                let movingClasses = try Resampler.resample(classes, onto: g, mapping: PointMapping(displacement: truth.inverse.field),
                                                           interpolation: .label)
                let start = DispatchTime.now().uptimeNanoseconds
                let result = try Registration(plan).run(fixed: fixed, moving: moving)
                let time = BenchDeformableCommand.seconds(since: start)
                let mapping = result.chain.mapping(onto: g)
                let brain = try Image<UInt8>(geometry: g, voxels: classes.voxels.map { $0 > 0 ? 1 : 0 })
                let endpoint = try FieldComparison(estimate: VectorField(sampling: g) { result.chain.map($0) },
                                                   truth: truth.forward.field, mask: brain)
                let recovered = try Resampler.resample(movingClasses, onto: g, mapping: mapping, interpolation: .label)
                let dice = try LabelEvaluation(reference: classes, test: recovered, labels: [1, 2, 3], distances: false).labels.map(\.dice)
                let j = JacobianStatistics(determinant: result.deformable!.forward.jacobianDeterminant, mask: brain)
                let row = Row(image: path, seed: seed + UInt64(k), largestTruth: truth.forward.field.meanAndMaxNorm.max,
                              meanTruthInBrain: endpoint.meanTruth, endpointError: endpoint.meanError,
                              endpointError95: endpoint.error95, classDice: dice, folded: j.folded,
                              sdLogJ: j.sdLogJ, seconds: time)
                rows.append(row)
                BenchDeformableCommand.emit(String(format: "%@ | %.1f / %.1f | %.3f / %.3f | %@ | %d | %.3f | %.1f", (path as NSString).lastPathComponent,
                             row.largestTruth, row.meanTruthInBrain, row.endpointError, row.endpointError95,
                             dice.map { String(format: "%.3f", $0) }.joined(separator: " "), row.folded, row.sdLogJ, time))
            }
            try BenchDeformableCommand.writeJSON(rows, to: json)
        }
    }

    struct MultiContrast: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "multi-contrast",
                                                        abstract: "Register synthetic images of different contrast made from real label maps.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Label maps (FreeSurfer numbering), one subject each; every pair is registered.") var labelMaps: [String]
        @Option(help: "Deformable preset to run (affine first).") var preset = "syn-mi"
        @Option(help: "A plan file to run instead of --preset (it must have a deformable stage; its inputs are ignored).") var plan: String?
        @Option(help: "Shrink factor applied to the label maps first (nearest), for speed.") var shrink = 1
        @Option(help: "Register only the first N pairs.") var pairs: Int?
        @Option(help: "Write the results as JSON here.") var json: String?
        @Option(help: "Also write each pair's synthetic images (PAIR_fixed.nii.gz, PAIR_moving.nii.gz) into this folder.") var keep: String?

        /// The VoxelMorph set of 30 FreeSurfer labels.
        static let labels: [Int32] = [2, 3, 4, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 24, 28, 31, 41, 42, 43, 46, 47, 49, 50, 51,
                                      52, 53, 54, 60, 63]

        struct Row: Encodable {
            var fixed: String, moving: String, diceBefore: Double, diceAffine: Double, dice: Double, worstLabel: Int32, worstDice: Double
            var folded: Int, sdLogJ: Double, seconds: Double
        }

        func run() throws {
            try common.apply()
            var plan = try BenchDeformableCommand.plan(preset)
            if let path = self.plan {
                plan = try PlanFile.read(path)
                guard plan.deformable != nil else { throw ValidationError("--plan \(path): the plan has no deformable stage") }
            }
            let maps = try labelMaps.map { try LearningData.labelMap($0, shrink: shrink) }
            let synth = ContrastSynthesis()
            var all: [(Int, Int)] = []
            for i in maps.indices { for j in maps.indices where j > i { all.append((i, j)) } }
            if let pairs { all = Array(all.prefix(pairs)) }
            var rows: [Row] = []
            BenchDeformableCommand.emit("fixed ← moving | Dice before / affine / deformable (30 labels) | worst label | folded | SDlogJ | s")
            for (n, (i, j)) in all.enumerated() {
                let fixed = try synth.image(from: maps[i], seed: UInt64(2 * n + 1)), moving = try synth.image(from: maps[j], seed: UInt64(2 * n + 2))
                if let keep {
                    let pair = keep + String(format: "/pair%02d-%02d", i + 1, j + 1)
                    try ImageFile.write(fixed, to: pair + "_fixed.nii.gz")
                    try ImageFile.write(moving, to: pair + "_moving.nii.gz")
                    try ImageFile.write(maps[i], to: pair + "_fixed_labels.nii.gz")
                    try ImageFile.write(maps[j], to: pair + "_moving_labels.nii.gz")
                }
                let start = DispatchTime.now().uptimeNanoseconds
                let result = try Registration(plan).run(fixed: fixed, moving: moving)
                let time = BenchDeformableCommand.seconds(since: start)
                let g = fixed.geometry
                // Dice over the labels of the set present in either map.
                func overlap(_ mapping: PointMapping) throws -> LabelEvaluation {
                    let warped = try Resampler.resample(maps[j], onto: g, mapping: mapping, interpolation: .label)
                    return try LabelEvaluation(reference: maps[i], test: warped, labels: Self.labels.map(Int.init), distances: false)
                }
                let before = try overlap(.identity).meanDice, affine = try overlap(PointMapping(result.affine)).meanDice
                let final = try overlap(result.chain.mapping(onto: g))
                let after = final.meanDice
                let worst = final.labels.min { $0.dice < $1.dice }!
                let foreground = try Image<UInt8>(geometry: g, voxels: maps[i].voxels.map { $0 > 0 ? 1 : 0 })
                let jac = JacobianStatistics(determinant: result.deformable!.forward.jacobianDeterminant, mask: foreground)
                let row = Row(fixed: labelMaps[i], moving: labelMaps[j], diceBefore: before, diceAffine: affine, dice: after,
                              worstLabel: Int32(worst.id), worstDice: worst.dice, folded: jac.folded, sdLogJ: jac.sdLogJ, seconds: time)
                rows.append(row)
                BenchDeformableCommand.emit(String(format: "%@ ← %@ | %.3f / %.3f / %.3f | %d: %.3f | %d | %.3f | %.1f", (labelMaps[i] as NSString).lastPathComponent,
                             (labelMaps[j] as NSString).lastPathComponent, before, affine, after, row.worstLabel, row.worstDice,
                             row.folded, row.sdLogJ, time))
            }
            let dice = rows.map(\.dice)
            if !dice.isEmpty {
                BenchDeformableCommand.emit(String(format: "%d pairs: mean Dice %.3f (affine %.3f), worst pair %.3f, folded voxels in all pairs %d", rows.count,
                             dice.reduce(0, +) / Double(dice.count), rows.map(\.diceAffine).reduce(0, +) / Double(dice.count),
                             dice.min()!, rows.map(\.folded).reduce(0, +)))
            }
            try BenchDeformableCommand.writeJSON(rows, to: json)
        }
    }
}
