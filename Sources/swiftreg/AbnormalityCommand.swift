import ArgumentParser
import Foundation
import SwiftRegKit

struct NormativeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "normative",
        abstract: "Normative models of deformation and residual for abnormality detection.",
        subcommands: [Build.self])

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an atlas to healthy subjects and store the voxel-wise mean and SD of log det J and of the residual.",
            discussion: """
            For every healthy subject the atlas is registered to it (--preset, default syn, or --plan); \
            log det J of the warp and the residual |subject − warped atlas| (each image scaled to its 99th \
            percentile) are carried onto the atlas's grid and smoothed (--smoothing mm). NORMDIR receives \
            logjacobian_{mean,sd}.nii.gz, residual_{mean,sd}.nii.gz and model.json (the atlas's checksum, \
            the subjects, the plan, the least SD used in z-scores: half the median SD in the atlas's foreground).
            Example:
              swiftreg normative build --atlas atlas.nii.gz --healthy h1.nii.gz h2.nii.gz h3.nii.gz h4.nii.gz -o norm
            """)
        @OptionGroup var common: CommonOptions
        @OptionGroup var log: LogOptions
        @Option(help: "The atlas (or template) image.") var atlas: String
        @Option(parsing: .upToNextOption, help: "Healthy subjects' images (at least 3).") var healthy: [String] = []
        @Option(name: .shortAndLong, help: "Output folder.") var output: String
        @Option(help: "Gaussian smoothing σ of the maps, mm (4: FWHM 9.4 mm, the size of the smallest lesions sought).") var smoothing = NormativeModel.defaultSmoothing
        @Option(help: "Registration preset (default syn).") var preset: String?
        @Option(name: .customLong("plan"), help: "A registration plan file.") var planPath: String?

        func run() throws {
            try common.apply()
            let model = try NormativeModel.build(atlas: atlas, healthy: healthy, folder: output,
                                                 plan: try registrationPlan(preset: preset, planPath: planPath),
                                                 smoothing: smoothing, progress: progressPrinter(quiet: log.quiet))
            if !log.quiet { print("normative model of \(model.healthy.count) subjects on \(atlas) in \(output)") }
        }
    }
}

struct AbnormalityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abnormality",
        abstract: "Find where a subject's anatomy departs from a normative model (z-maps of log det J and residual, clusters).",
        discussion: """
        Registers the model's atlas to the subject with the model's plan, carries log det J and the \
        residual into atlas space and scores them voxel by voxel against NORMDIR: the prediction t-score \
        (x − mean) / (SD √(1 + 1/n)) of n healthy subjects, as the z with the same tail probability. \
        The combined map joins both: q = (z log det J)² + max(z residual, 0)², as the z with q's tail in a \
        healthy subject (½ P(χ²₁ > q) + ½ P(χ²₂ > q); 0 where there is no evidence). Clusters of |z| above --threshold with more \
        than --min-voxels voxels are listed with their volume, peak z, peak and centre (LPS mm) and, with \
        --atlas-labels, the atlas label at the peak. Writes PREFIX_z_{logjacobian,residual,combined}.nii.gz \
        (atlas space), the same with _subject (subject space), PREFIX_clusters.csv, PREFIX_report.html and \
        PREFIX_summary.json.
        Example:
          swiftreg abnormality patient.nii.gz --atlas atlas.nii.gz --normative norm --atlas-labels atlas_seg.nii.gz -o out/patient
        """)
    @OptionGroup var common: CommonOptions
    @OptionGroup var log: LogOptions
    @Argument(help: "The subject's image.") var subject: String
    @Option(name: .shortAndLong, help: "Output prefix.") var output: String
    @Option(help: "The atlas the normative model was built on.") var atlas: String
    @Option(help: "The normative model folder (swiftreg normative build).") var normative: String
    @Option(name: .customLong("atlas-labels"), help: "The atlas's label map, for the label at each cluster's peak.") var atlasLabels: String?
    @Option(help: "|z| threshold of the clusters.") var threshold = 3.0
    @Option(name: .customLong("min-voxels"), help: "Clusters with more voxels than this are listed.") var minVoxels = 20

    func run() throws {
        try common.apply()
        var request = AbnormalityRequest(subject: subject, atlas: atlas, normative: normative)
        request.atlasLabels = atlasLabels
        request.threshold = threshold
        request.minimumVoxels = minVoxels
        let summary = try AbnormalityDetection.run(request, prefix: output, progress: progressPrinter(quiet: log.quiet))
        if !log.quiet {
            print("\(summary.subjectClusters.clusters.count) cluster(s) above |z| \(threshold) in subject space")
            for (k, c) in summary.subjectClusters.clusters.prefix(10).enumerated() {
                print(String(format: "  %d: %.0f mm³, peak z %.2f at (%.1f, %.1f, %.1f) mm", k + 1, c.volume, c.peak, c.peakPoint[0], c.peakPoint[1], c.peakPoint[2]))
            }
        }
    }
}
