import ArgumentParser
import Foundation
import RegCore
import RegIO
import RegMethods
import RegSegment
import SwiftRegKit

/// `swiftreg template`: an unbiased template from a cohort (Avants et al. 2010).
struct TemplateCommand: ParsableCommand, WritesAsItGoes {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Build an unbiased template from a cohort: register every image to the template, average, move the average toward the mean shape; repeat.",
        discussion: """
        As antsMultivariateTemplateConstruction2.sh: the initial template is the average of the images aligned \
        (affine) to the first, or to --initial; each round registers every image to the template (--preset, \
        default syn), averages them (--average), and moves the average by the mean forward warp times \
        −gradient step, composed four times, and by the inverse of the mean non-rigid affine.
        Writes DIR/template_iterN.nii.gz per round (0: initial), DIR/template.nii.gz, DIR/subjects/NAME_warp.nii.gz and \
        NAME_affine.txt (template → subject, the warp first), NAME_warped.nii.gz, DIR/template_summary.json and \
        DIR/template_report.html; with --labels, DIR/subjects/NAME_labels.nii.gz and the fused DIR/template_labels.nii.gz.
        --engine slurm submits the same construction to Slurm at once and returns (or waits, --wait): per round, \
        one job array registering every image (tasks call swiftreg template --run-subject), then one job \
        averaging and updating (--run-update), each after the one before (--dependency=afterok). The steps \
        pass files in DIR/work; logs are in DIR/work/slurm. The result is the same, byte for byte, as \
        --engine local's; submitting again finishes only the steps that are missing.
          swiftreg template s1.nii.gz s2.nii.gz s3.nii.gz s4.nii.gz -o tpl --iterations 4
          swiftreg template data/*.nii.gz -o tpl --engine slurm --cpus-per-task 4 --mem 8G --time 1:00:00
        """)

    @OptionGroup var common: CommonOptions
    @Argument(help: "The images (two or more).") var images: [String] = []
    @Option(name: .shortAndLong, help: "Output folder.") var output: String
    @Option(help: "Rounds after the initial template.") var iterations = 4
    @Option(help: "Registration preset of each round (default syn).") var preset: String?
    @Option(name: .customLong("plan"), help: "A registration plan file instead of a preset.") var planPath: String?
    @Option(help: "A starting template: the images are aligned to it (affine) and averaged on its grid.") var initial: String?
    @Option(parsing: .upToNextOption, help: "One label map per image, in the same order: carried to the template and fused.") var labels: [String] = []
    @Option(help: "mean or median of the warped images.") var average: TemplateAverage = .mean
    @Option(name: .customLong("gradient-step"), help: "Fraction of the mean warp the template moves by per round (0.25).") var gradientStep = 0.25
    @Option(help: "Weight of the Laplacian-sharpened average blended into each round's template, as ANTsPy's build_template (0.25; 0: none).") var sharpen = 0.25
    @Option(help: "Label fusion for --labels: majority, weighted, jlf or staple.") var fusion: FusionMethod = .majority
    @Option(name: .customLong("concurrent"), help: "Subjects registered at once, threads divided (default: one per thread, as memory allows).")
    var concurrent: Int?
    @Option(name: .customLong("fine-rounds"), help: "The last rounds registered with the whole plan; the earlier ones leave out the deformable stage's finest level (1; --iterations: every round).")
    var fineRounds = 1
    @Option(help: "local (default: in this process) or slurm (job arrays, one per round).") var engine = "local"
    @OptionGroup var slurm: SlurmArguments
    @Option(name: .customLong("run-subject"), parsing: .upToNextOption, help: "ROUND INDEX: one registration of the template in -o (what the Slurm tasks run).") var runSubject: [Int] = []
    @Option(name: .customLong("run-update"), help: "ROUND: the average and update of the template in -o (what the Slurm jobs run).") var runUpdate: Int?
    @Flag(name: .shortAndLong, help: "No progress lines.") var quiet = false

    func validate() throws {
        guard runSubject.isEmpty || runSubject.count == 2 else { throw ValidationError("--run-subject takes ROUND INDEX") }
        guard runSubject.isEmpty || runUpdate == nil else { throw ValidationError("give --run-subject or --run-update, not both") }
        guard runSubject.isEmpty, runUpdate == nil else { return }
        guard ["local", "slurm"].contains(engine) else { throw ValidationError("--engine takes local or slurm; found '\(engine)'") }
        guard images.count >= 2 else { throw ValidationError("give at least two images") }
        guard labels.isEmpty || labels.count == images.count else {
            throw ValidationError("--labels takes one label map per image: \(images.count) images, \(labels.count) label maps")
        }
        guard iterations >= 0 else { throw ValidationError("--iterations must be ≥ 0, found \(iterations)") }
        guard gradientStep > 0, gradientStep <= 1 else { throw ValidationError("--gradient-step must be in (0, 1], found \(gradientStep)") }
        guard (0...1).contains(sharpen) else { throw ValidationError("--sharpen must be in [0, 1], found \(sharpen)") }
        guard concurrent.map({ $0 >= 1 }) ?? true else { throw ValidationError("--concurrent must be ≥ 1, found \(concurrent!)") }
        guard fineRounds >= 1 else { throw ValidationError("--fine-rounds must be ≥ 1, found \(fineRounds)") }
    }

    func run() throws {
        try common.apply()
        // A step's files, and a local build's, appear together when it ends, or not at all; a
        // submission's job file must exist before its jobs start.
        if runSubject.count == 2 {
            return try OutputTransaction.run(outputs: [], inputs: []) { _ in
                try TemplateStages.register(folder: output, round: runSubject[0], subject: runSubject[1], progress: progressPrinter(quiet: quiet))
            }
        }
        if let round = runUpdate {
            return try OutputTransaction.run(outputs: [], inputs: []) { _ in
                try TemplateStages.update(folder: output, round: round, progress: progressPrinter(quiet: quiet))
            }
        }
        var settings = TemplateSettings(plan: try registrationPlan(preset: preset, planPath: planPath))
        settings.iterations = iterations
        settings.average = average
        settings.gradientStep = gradientStep
        settings.sharpen = sharpen
        settings.fusion = LabelFusion(method: fusion)
        settings.concurrentRegistrations = concurrent
        settings.fineRounds = fineRounds
        var request = TemplateRequest(images: images, settings: settings)
        request.labels = labels.isEmpty ? nil : labels
        request.initial = initial
        if engine == "slurm" { return try submit(request) }
        let summary = try OutputTransaction.run(outputs: [], inputs: []) { _ in
            try TemplateFiles.build(request, folder: output, progress: progressPrinter(quiet: quiet))
        }
        guard !quiet else { return }
        let last = summary.iterations.last!
        print(String(format: "template: %@/template.nii.gz in %.1f s; mean correlation %.4f, shape update %.3f mm", output, summary.seconds,
                     last.meanCorrelation, last.shapeUpdate) + (last.meanLabelDice.map { String(format: ", label Dice %.4f", $0) } ?? ""))
        print("report: \(output)/template_report.html")
    }

    /// Prepares the steps in DIR/work and submits them; with --wait, follows the jobs to their end.
    func submit(_ request: TemplateRequest) throws {
        guard Slurm.available else {
            throw RegError.invalidArgument(name: "--engine slurm", reason: "sbatch is not on PATH (nothing was submitted): run on a Slurm login node, or use --engine local")
        }
        _ = try TemplateStages.prepare(request, folder: output)
        guard try TemplateStages.firstMissingStep(folder: output) != nil else { return print("template: \(output)/template.nii.gz is complete; nothing to submit") }
        let jobs = try TemplateStages.submitSlurm(folder: output, launcher: slurm.launcherWords,
                                                  options: slurm.options(jobName: URL(fileURLWithPath: output).lastPathComponent))
        print("submitted \(jobs.count / 2) rounds as job arrays and updates (jobs \(jobs.first!)…\(jobs.last!)); logs in \(TemplateStages.slurmFolder(output))")
        guard slurm.wait else { return }
        while let queued = Slurm.queued(jobs), !queued.isEmpty { Thread.sleep(forTimeInterval: 2) }
        if let missing = try TemplateStages.firstMissingStep(folder: output) {
            throw RegError.invalidArgument(name: "template", reason: "the Slurm jobs ended but \(missing); submit again to finish the rest")
        }
        print("template: \(output)/template.nii.gz; report: \(output)/template_report.html")
    }
}

extension TemplateAverage: ExpressibleByArgument {}
