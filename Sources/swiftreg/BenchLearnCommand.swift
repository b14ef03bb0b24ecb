import ArgumentParser
import Foundation
import RegAnalysis
import RegCore
import RegSynth
import SwiftRegKit
import RegIO
import RegKernels
import RegLearn
import RegMethods
import RegTransforms

struct BenchLearnCommand: ParsableCommand, WritesAsItGoes {
    static let configuration = CommandConfiguration(
        commandName: "bench-learn",
        abstract: "Score a 2-D network on planes of a labelled volume pair against no registration and classical SyN.",
        discussion: """
        For each plane z (both directions with --both-directions) it registers the moving plane to \
        the fixed plane with: nothing; the network; the network refined by --refine N iterations of \
        SyN; and SyN alone (local NCC, the `syn` preset's deformable stage). It reports the mean \
        label Dice, the gain over no registration, the network's share of SyN's gain, the folded \
        fraction of the fixed foreground (det J ≤ 0) and the time per plane. Labels are carried \
        onto their image's grid through their own headers.
        With --label-maps, --fixed-labels and --moving-labels are label maps (SynthMorph-style \
        testing): both are shrunk by --shrink, aligned to --reference by label centroids (the \
        "affine only" row), and painted with each contrast of --contrasts (t1, t2, random — one \
        random intensity per label for both maps — or FIXED:MOVING such as t1:t2), one block of rows per contrast.
        With --misalign ROTATION:SCALE:TRANSLATION (degrees, relative, voxels) each moving plane is first \
        misaligned by a random affine map within those bounds, drawn from --seed and the plane (for a \
        model with an affine network); the classical row is then the whole `syn` preset (rigid, affine, SyN).
        Example: swiftreg bench-learn --model models/vm1-2d-oasis.safetensors \\
          --fixed B.nii.gz --fixed-labels B_seg.nii.gz --moving A.nii.gz --moving-labels A_seg.nii.gz --slices 24:120:4 --both-directions --refine 30
        """)

    @OptionGroup var common: CommonOptions
    @Option(help: "The trained 2-D model.") var model: String
    @Option(help: "The fixed volume.") var fixed: String?
    @Option(help: "Its labels.") var fixedLabels: String
    @Option(help: "The moving volume (on the fixed volume's grid).") var moving: String?
    @Option(help: "Its labels.") var movingLabels: String
    @Flag(help: "The labels are label maps to paint (see above); --fixed and --moving are not used.") var labelMaps = false
    @Option(help: "With --label-maps: the map both are aligned to (the first training map).") var reference: String?
    @Option(help: "With --label-maps: shrink factor, as in training.") var shrink = 1
    @Option(help: "With --label-maps: contrasts, comma-separated (t1, t2, random, or FIXED:MOVING).") var contrasts = "t1,t2,random,t1:t2"
    @Option(help: "Seed of the painted contrasts (--label-maps) and of the misalignments (--misalign).") var seed: UInt64 = 1
    @Option(help: "Misalign each moving plane by a random affine map: ROTATION:SCALE:TRANSLATION (degrees, relative, voxels).")
    var misalign: String?
    @Option(help: "Planes as FIRST:END:STEP (END excluded).") var slices = "24:120:4"
    @Option(help: "Labels to score, comma-separated (default: all non-zero).") var labels: String?
    @Option(help: "SyN iterations refining the network's field (0: skip that row).") var refine = 30
    @Flag(help: "Also register fixed to moving.") var bothDirections = false
    @Flag(help: "Skip the classical SyN row (faster).") var noClassical = false
    @Option(help: "Also write the results as JSON here.") var json: String?

    func run() throws {
        try common.apply()
        let network = try ModelCheckpoint(decoding: try BinaryFile.read(model), path: model).network
        guard network.architecture.dimension == 2 else { throw ValidationError("\(model) is not a 2-D model") }
        let parts = slices.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 3, parts[2] > 0, parts[0] >= 0, parts[1] > parts[0] else {
            throw ValidationError("--slices takes FIRST:END:STEP, found '\(slices)'")
        }
        let wanted = try labels.map { text in
            try text.split(separator: ",").map { s -> Int in
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--labels: '\(s)' is not an integer") }
                return v
            }
        }
        let misalignment = try misalign.map { text -> AffineMisalignment in
            let v = text.split(separator: ":").compactMap { Double($0) }
            guard v.count == 3, v.allSatisfy({ $0 >= 0 }) else { throw ValidationError("--misalign takes ROTATION:SCALE:TRANSLATION, found '\(text)'") }
            return AffineMisalignment(rotation: v[0], scale: v[1], translation: v[2])
        }
        let comparison = LearnedComparison(refine: refine, bothDirections: bothDirections, classical: !noClassical, seed: seed)
        var rows = [LearnedComparison.Row]()
        if labelMaps {
            guard let reference else { throw ValidationError("--label-maps needs --reference") }
            let ref = try LearningData.alignedLabelMaps([reference], shrink: shrink)[0]
            let maps = try LearningData.alignedLabelMaps([fixedLabels, movingLabels], shrink: shrink, reference: ref)
            for contrast in contrasts.split(separator: ",").map(String.init) {
                let pair = LearningData.contrastPair(contrast)
                let f = try ContrastSynthesis.painted(maps[0], contrast: pair.fixed, seed: seed, instance: 0)
                let m = try ContrastSynthesis.painted(maps[1], contrast: pair.moving, seed: seed, instance: 1)
                rows += try comparison.score(network, f, maps[0], m, maps[1], planes: parts, labels: wanted, baseline: "affine only", contrast: contrast,
                                  misalignment: misalignment)
            }
        } else {
            guard let fixed, let moving else { throw ValidationError("give --fixed and --moving, or --label-maps") }
            let f = try LearningData.load(fixed, shrink: 1), m = try LearningData.load(moving, shrink: 1)
            guard f.geometry.size == m.geometry.size else { throw ValidationError("\(fixed) and \(moving) must share one grid") }
            rows = try comparison.score(network, f, LearningData.labels(fixedLabels, onto: f), m, LearningData.labels(movingLabels, onto: m),
                             planes: parts, labels: wanted, baseline: misalignment == nil ? "none" : "none (misaligned)", contrast: nil,
                             misalignment: misalignment)
        }
        print("method                     Dice    gain   share of SyN gain  folded % (max)   s/plane")
        var block: String?
        for r in rows {
            if r.contrast != block, let c = r.contrast { print("contrast \(c):"); block = c }
            print(String(format: "%@ %7.4f %+7.4f   %@   %7.4f (%.4f)  %8.3f", r.method.padding(toLength: 24, withPad: " ", startingAt: 0), r.meanDice, r.gain,
                         r.shareOfClassicalGain.map { String(format: "%14.1f %%", 100 * $0) } ?? String(repeating: " ", count: 16),
                         r.foldedPercent, r.maxFoldedPercent, r.secondsPerPlane))
        }
        if let json { try TextFile.write(try JSONText.encode(rows), to: json) }
    }
}
