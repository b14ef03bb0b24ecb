import ArgumentParser
import Foundation
import RegCore
import RegMethods
import RegSegment
import SwiftRegKit

/// `swiftreg template`: an unbiased template from a cohort (Avants et al. 2010).
struct TemplateCommand: ParsableCommand {
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
          swiftreg template s1.nii.gz s2.nii.gz s3.nii.gz s4.nii.gz -o tpl --iterations 4
        """)

    @OptionGroup var common: CommonOptions
    @Argument(help: "The images (two or more).") var images: [String]
    @Option(name: .shortAndLong, help: "Output folder.") var output: String
    @Option(help: "Rounds after the initial template.") var iterations = 4
    @Option(help: "Registration preset of each round (default syn).") var preset: String?
    @Option(name: .customLong("plan"), help: "A registration plan file instead of a preset.") var planPath: String?
    @Option(help: "A starting template: the images are aligned to it (affine) and averaged on its grid.") var initial: String?
    @Option(parsing: .upToNextOption, help: "One label map per image, in the same order: carried to the template and fused.") var labels: [String] = []
    @Option(help: "mean or median of the warped images.") var average: TemplateAverage = .mean
    @Option(name: .customLong("gradient-step"), help: "Fraction of the mean warp the template moves by per round (0.25).") var gradientStep = 0.25
    @Option(help: "Label fusion for --labels: majority, weighted, jlf or staple.") var fusion: FusionMethod = .majority
    @Flag(name: .shortAndLong, help: "No progress lines.") var quiet = false

    func validate() throws {
        guard images.count >= 2 else { throw ValidationError("give at least two images") }
        guard labels.isEmpty || labels.count == images.count else {
            throw ValidationError("--labels takes one label map per image: \(images.count) images, \(labels.count) label maps")
        }
        guard iterations >= 0 else { throw ValidationError("--iterations must be ≥ 0, found \(iterations)") }
        guard gradientStep > 0, gradientStep <= 1 else { throw ValidationError("--gradient-step must be in (0, 1], found \(gradientStep)") }
    }

    func run() throws {
        try common.apply()
        var settings = TemplateSettings(plan: try registrationPlan(preset: preset, planPath: planPath))
        settings.iterations = iterations
        settings.average = average
        settings.gradientStep = gradientStep
        settings.fusion = LabelFusion(method: fusion)
        var request = TemplateRequest(images: images, settings: settings)
        request.labels = labels.isEmpty ? nil : labels
        request.initial = initial
        let summary = try TemplateFiles.build(request, folder: output, progress: progressPrinter(quiet: quiet))
        guard !quiet else { return }
        let last = summary.iterations.last!
        print(String(format: "template: %@/template.nii.gz in %.1f s; mean correlation %.4f, shape update %.3f mm", output, summary.seconds,
                     last.meanCorrelation, last.shapeUpdate) + (last.meanLabelDice.map { String(format: ", label Dice %.4f", $0) } ?? ""))
        print("report: \(output)/template_report.html")
    }
}

extension TemplateAverage: ExpressibleByArgument {}
