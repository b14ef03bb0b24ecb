import ArgumentParser
import Foundation
import RegCore
import RegIO
import RegMethods
import RegSegment
import SwiftRegKit

extension FusionMethod: ExpressibleByArgument {}
extension SelectionMetric: ExpressibleByArgument {}

/// Options shared by `segment` and `fuse`: the atlases and how their labels are fused.
struct FusionOptions: ParsableArguments {
    @Option(name: .shortAndLong, parsing: .upToNextOption, help: "An atlas: IMAGE LABELS (repeat -a for each atlas).")
    var atlas: [String] = []
    @Option(name: .customLong("atlases"), help: "A CSV list of atlases, one 'image,labels' line each (paths relative to the list).")
    var atlasList: String?
    @Option(help: "majority, weighted (locally weighted voting), jlf (joint label fusion) or staple.") var fusion: FusionMethod = .jlf
    @Option(help: "Fuse only inside this mask on the target grid (default: the atlases' labels, grown by the search and patch radii).")
    var mask: String?
    @Option(help: "Label names: FreeSurfer LUT, ITK-SNAP label file or 'id,name' CSV.") var lut: String?
    @Option(name: .customLong("patch-radius"), help: "JLF patch radius, voxels.") var patchRadius = 2
    @Option(name: .customLong("search-radius"), help: "JLF search radius, voxels.") var searchRadius = 3
    @Option(help: "JLF: added to the diagonal of the error correlation matrix.") var alpha = 0.1
    @Option(help: "JLF: power of the patch-difference products.") var beta = 2.0
    @Flag(name: .customLong("non-negative"), help: "JLF: solve for non-negative weights (NNLS).") var nonNegative = false
    @Option(name: .customLong("local-sigma"), help: "Weighted voting: Gaussian sigma of the local similarity, mm.") var localSigma = 2.0
    @Option(help: "Weighted voting: power of the inverse local mean squared difference.") var gain = 1.0
    @Flag(name: .customLong("posteriors"), help: "Write a PREFIX_posterior_LABEL.nii.gz per label instead of one 4-D PREFIX_posteriors.nii.gz.")
    var posteriorsPerLabel = false

    func atlases() throws -> [AtlasFiles] {
        guard atlas.count % 2 == 0 else {
            throw RegError.invalidArgument(name: "-a", reason: "takes two files, IMAGE LABELS, per atlas; found \(atlas.count) file\(atlas.count == 1 ? "" : "s")")
        }
        var list = stride(from: 0, to: atlas.count, by: 2).map { AtlasFiles(image: atlas[$0], labels: atlas[$0 + 1]) }
        if let atlasList { list += try AtlasFiles.list(atlasList) }
        guard !list.isEmpty else { throw RegError.invalidArgument(name: "atlases", reason: "give them as -a IMAGE LABELS (repeatable) or --atlases LIST.csv") }
        return list
    }

    var settings: LabelFusion {
        var f = LabelFusion(method: fusion)
        f.patchRadius = patchRadius
        f.searchRadius = searchRadius
        f.alpha = alpha
        f.beta = beta
        f.nonNegative = nonNegative
        f.localSigma = localSigma
        f.gain = gain
        return f
    }
}

struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Segment a target from labelled atlases: register each atlas, warp its labels, fuse them.",
        discussion: """
        Registers every atlas image to the target with one plan (--preset, default syn, or --plan), \
        warps its label map (label interpolation) and fuses the labels: joint label fusion by default \
        (Wang & Yushkevich 2013, as antsJointFusion: patch radius 2, search radius 3, alpha 0.1, beta 2), \
        or majority voting, locally weighted voting, or STAPLE. For joint label fusion a preset runs \
        without its finest deformable level (--finest-level keeps it). --select K first runs the linear stages \
        of every atlas and keeps the K most similar to the target (NCC or NMI over its head mask).
        Writes PREFIX_labels.nii.gz, PREFIX_confidence.nii.gz (the winning label's probability), \
        PREFIX_posteriors.nii.gz (a volume per label, in the order of the summary's posteriorLabels), \
        PREFIX_volumes.csv, PREFIX_report.html and PREFIX_summary.json (atlases, scores, times per phase). \
        --keep-warps also keeps each atlas's registration as PREFIX_atlasNN_*; a later run with the same \
        target, atlases and plan reads them instead of registering again (to try another fusion; JLF \
        and the other fusions share them with --finest-level).
        Examples:
          swiftreg segment -t subject.nii.gz -a atlas1.nii.gz atlas1_seg.nii.gz -a atlas2.nii.gz atlas2_seg.nii.gz -o out/subject
          swiftreg segment -t subject.nii.gz --atlases atlases.csv --select 5 --fusion jlf --keep-warps -o out/subject
        """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var log: LogOptions
    @Option(name: .shortAndLong, help: "The image to segment.") var target: String
    @OptionGroup var fusionOptions: FusionOptions
    @Option(name: .shortAndLong, help: "Output prefix.") var output: String
    @Option(help: "Registration preset (\(RegistrationPlan.presetNames.joined(separator: ", "))).") var preset: String?
    @Option(name: .customLong("plan"), help: "A registration plan file (.yaml or .json) instead of a preset.") var planPath: String?
    @Option(help: "Keep the K atlases most similar to the target after the linear stages.") var select: Int?
    @Option(name: .customLong("select-metric"), help: "ncc or nmi, for --select.") var selectMetric: SelectionMetric = .ncc
    @Flag(name: .customLong("keep-warps"), help: "Keep (and reuse) each atlas's registration as PREFIX_atlasNN_* files.")
    var keepWarps = false
    @Option(name: .customLong("concurrent"), help: "Registrations at once (default: one per 4 threads, as memory allows).")
    var concurrent: Int?
    @Flag(name: .customLong("finest-level"), help: """
        With joint label fusion, register at the preset's finest deformable level too (left out by default: \
        the fusion's search takes up what it fixes, and it is half of a full-resolution registration's time; \
        the other fusions always register with the whole preset).
        """)
    var finestLevel = false

    func run() throws {
        try common.apply()
        guard preset == nil || planPath == nil else { throw ValidationError("give --preset or --plan, not both") }
        guard !finestLevel || planPath == nil else { throw ValidationError("--finest-level applies to presets; a plan file sets its own levels") }
        let plan: RegistrationPlan
        if let planPath {
            plan = try PlanFile.read(planPath)
        } else {
            let name = preset ?? "syn"
            guard let p = SegmentationRequest.plan(preset: name, fusion: fusionOptions.settings, finestLevel: finestLevel) else {
                throw ValidationError("unknown preset '\(name)'; choose one of \(RegistrationPlan.presetNames.joined(separator: ", "))")
            }
            plan = p
        }
        var request = SegmentationRequest(target: target, atlases: try fusionOptions.atlases(), plan: plan)
        request.fusion = fusionOptions.settings
        request.select = select
        request.selectionMetric = selectMetric
        request.mask = fusionOptions.mask
        request.lut = fusionOptions.lut
        request.keepWarps = keepWarps
        request.posteriorsPerLabel = fusionOptions.posteriorsPerLabel
        request.concurrentRegistrations = concurrent
        let summary = try AtlasSegmentation.segment(request, prefix: output, progress: progressPrinter(quiet: log.quiet))
        if !log.quiet {
            let phases = summary.phases.map { String(format: "%@ %.1f s", $0.name, $0.seconds) }.joined(separator: ", ")
            print("segmented \(target) with \(summary.atlases.filter(\.selected).count) atlases (\(summary.fusion.rawValue)): \(summary.volumes.count) labels; \(phases)")
        }
    }
}

struct FuseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuse",
        abstract: "Fuse atlas labels already on the target's grid (as antsJointFusion): majority, weighted, jlf or staple.",
        discussion: """
        For atlases you registered yourself: each -a IMAGE LABELS pair must already lie on the \
        target's grid (warped images and label maps). Writes the same files as segment.
        Example:
          swiftreg fuse -t subject.nii.gz -a warped1.nii.gz labels1.nii.gz -a warped2.nii.gz labels2.nii.gz --fusion jlf -o out/fused
        """)

    @OptionGroup var common: CommonOptions
    @Option(name: .shortAndLong, help: "The target image (the grid of the atlases).") var target: String
    @OptionGroup var fusionOptions: FusionOptions
    @Option(name: .shortAndLong, help: "Output prefix.") var output: String

    func run() throws {
        try common.apply()
        let summary = try AtlasSegmentation.fuse(target: target, atlases: try fusionOptions.atlases(), fusion: fusionOptions.settings,
                                                 mask: fusionOptions.mask, lut: fusionOptions.lut,
                                                 posteriorsPerLabel: fusionOptions.posteriorsPerLabel, prefix: output)
        let phases = summary.phases.map { String(format: "%@ %.1f s", $0.name, $0.seconds) }.joined(separator: ", ")
        print("fused \(summary.atlases.count) atlases (\(summary.fusion.rawValue)): \(summary.volumes.count) labels; \(phases)")
    }
}
