import ArgumentParser
import Foundation
import RegMethods
import SwiftRegKit

struct LongitudinalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "longitudinal",
        abstract: "Measure the change between two scans of one subject in their unbiased halfway space.",
        discussion: """
        Aligns the follow-up to the baseline rigidly (--allow-scaling: similarity), resamples each scan \
        once by half of that motion into the halfway space (the baseline's grid), so neither time point \
        is favoured, and registers them there with a deformable stage: by default SyN as --preset syn \
        but with local correlation over a window of radius 6 (two scans of one subject differ by noise, \
        which a wider window averages), an update σ of 1.5 voxels and 120 iterations at full resolution \
        (change is sub-voxel motion of edges), or that of --preset or --plan. The percent volume change of the region (--mask on the baseline's grid; default: the \
        voxels above a tenth of the baseline's 99th percentile, a brain in a skull-stripped scan) is \
        det J integrated over it, and, as a second estimate, the motion of its edge between the halfway \
        images (boundary shift, as SIENA). --labels (a baseline segmentation) adds the change of every label.
        Writes PREFIX_halfway_{baseline,followup,mask}.nii.gz, PREFIX_rigid.txt (baseline → follow-up), \
        PREFIX_halfway.txt (its square root), PREFIX_warp.nii.gz (halfway space, baseline → follow-up), \
        PREFIX_logjacobian.nii.gz (halfway) and PREFIX_logjacobian_baseline.nii.gz, PREFIX_change.csv \
        (with --labels), PREFIX_report.html and PREFIX_summary.json.
        Examples:
          swiftreg longitudinal bl.nii.gz fu.nii.gz --mask bl_brain.nii.gz -o out/s01
          swiftreg longitudinal bl.nii.gz fu.nii.gz --labels bl_aseg.nii.gz --lut FreeSurferColorLUT.txt -o out/s01
        """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var log: LogOptions
    @Argument(help: "The baseline scan.") var baseline: String
    @Argument(help: "The follow-up scan.") var followup: String
    @Option(name: .shortAndLong, help: "Output prefix.") var output: String
    @Option(help: "The region to measure, on the baseline's grid (e.g. a brain mask).") var mask: String?
    @Option(help: "A baseline segmentation, for the change of every label.") var labels: String?
    @Option(help: "Label names: FreeSurfer LUT, ITK-SNAP label file or 'id,name' CSV.") var lut: String?
    @Option(help: "Registration preset whose deformable stage runs in the halfway space (default: syn with a radius-6 window, update σ 1.5, 120 iterations at full resolution).") var preset: String?
    @Option(name: .customLong("plan"), help: "A registration plan file whose deformable stage is used.") var planPath: String?
    @Flag(name: .customLong("allow-scaling"), help: "Align with a similarity transform instead of a rigid one.") var allowScaling = false

    func run() throws {
        try common.apply()
        var request = LongitudinalRequest(baseline: baseline, followup: followup)
        if preset != nil || planPath != nil { request.plan = try registrationPlan(preset: preset, planPath: planPath) }
        request.mask = mask
        request.labels = labels
        request.lut = lut
        request.allowScaling = allowScaling
        let summary = try LongitudinalChange.run(request, prefix: output, progress: progressPrinter(quiet: log.quiet))
        if !log.quiet {
            print(String(format: "percent volume change %.3f %% (det J), %.3f %% (boundary shift); rigid motion %.2f°, %.2f mm",
                         summary.percentVolumeChange, summary.boundaryShiftPercentVolumeChange, summary.rotationDegrees, summary.translationMillimetres))
            for l in summary.labels {
                print(String(format: "  label %d %@: %.1f → %.1f (%.2f %%)", l.label, l.name ?? "", l.change.baselineVolume,
                             l.change.followupVolume, l.change.percentVolumeChange))
            }
        }
    }
}
