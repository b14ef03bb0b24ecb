import Foundation
import RegCore
import RegIO
import RegMethods
import RegReport
import RegTransforms

/// What `swiftreg template` builds from files.
public struct TemplateRequest: Sendable {
    public var images: [String]
    /// One label map per image, carried to the template and fused into its labels.
    public var labels: [String]?
    /// A starting template: the images are aligned to it (affine) and averaged on its grid; default: the first image.
    public var initial: String?
    public var settings: TemplateSettings

    public init(images: [String], settings: TemplateSettings = TemplateSettings()) {
        self.images = images
        self.settings = settings
    }
}

/// What `template` writes as `DIR/template_summary.json`.
public struct TemplateSummary: Sendable, Codable {
    public var images: [String]
    public var labels: [String]?
    public var initial: String?
    public var names: [String]
    public var iterations: [TemplateIteration]
    public var gradientStep: Double
    public var average: TemplateAverage
    /// The weight of the sharpened average in each round's template.
    public var sharpen: Double
    public var seconds: Double
    public var plan: RegistrationPlan
    /// The last rounds registered with the whole plan (the earlier ones without the deformable
    /// stage's finest level); nil: every round.
    public var fineRounds: Int?
}

/// `swiftreg template` on files: reads the images, builds the template and writes, in DIR,
/// `template_iterN.nii.gz` for each round (0: the initial one), `template.nii.gz`,
/// `subjects/NAME_warp.nii.gz` + `NAME_affine.txt` (template → subject, the warp first, as
/// `register` writes them), `subjects/NAME_warped.nii.gz`, with labels `subjects/NAME_labels.nii.gz`
/// and `template_labels.nii.gz`, `template_summary.json` and the QC page `template_report.html`.
///
/// ```swift
/// var request = TemplateRequest(images: ["s1.nii.gz", "s2.nii.gz", "s3.nii.gz"])
/// request.settings.iterations = 3
/// let summary = try TemplateFiles.build(request, folder: "out/template") { print($0) }
/// ```
public enum TemplateFiles {
    @discardableResult
    public static func build(_ request: TemplateRequest, folder: String, progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> TemplateSummary {
        let start = Date()
        let names = subjectNames(request.images)
        let outputs = outputPaths(request, folder: folder, names: names)
        try FileManager.default.createDirectory(atPath: folder + "/subjects", withIntermediateDirectories: true)
        try OutputFolder.check(outputs: outputs, inputs: request.images + (request.labels ?? []) + [request.initial].compactMap { $0 })
        let images = try request.images.map { try ImageFile.read($0).image.floatImage() }
        let labels = try request.labels?.map { try ImageFile.read($0).image.labelImage() }
        let initial = try request.initial.map { try ImageFile.read($0).image.floatImage() }
        let result = try TemplateConstruction.build(images, labels: labels, initial: initial, settings: request.settings, progress: progress)
        for (k, template) in result.templates.enumerated() { try ImageFile.write(template, to: folder + "/template_iter\(k).nii.gz") }
        let summary = TemplateSummary(images: request.images, labels: request.labels, initial: request.initial, names: names,
                                      iterations: result.iterations, gradientStep: request.settings.gradientStep, average: request.settings.average,
                                      sharpen: request.settings.sharpen, seconds: Date().timeIntervalSince(start), plan: request.settings.plan,
                                      fineRounds: request.settings.fineRounds)
        try write(result, summary: summary, folder: folder)
        return summary
    }

    /// Writes what follows the rounds' templates: the final template, each subject's transforms,
    /// warped image and labels, the fused labels, the summary and the QC page.
    static func write(_ result: TemplateConstruction.Result, summary: TemplateSummary, folder: String) throws {
        try ImageFile.write(result.template, to: folder + "/template.nii.gz")
        let names = summary.names
        for (name, subject) in zip(names, result.subjects) {
            let base = folder + "/subjects/" + name
            if let warp = subject.warp { try TransformFile.writeDisplacementField(warp.field, to: base + "_warp.nii.gz") }
            try TransformFile.write([LinearTransformRecord(map: subject.affine, center: .zero, dimension: 3)], to: base + "_affine.txt")
            try ImageFile.write(subject.warped, to: base + "_warped.nii.gz")
            if let l = subject.warpedLabels { try ImageFile.write(l, to: base + "_labels.nii.gz") }
        }
        if let l = result.labels { try ImageFile.write(l, to: folder + "/template_labels.nii.gz") }
        try TextFile.write(report(result, summary: summary), to: folder + "/template_report.html")
        try TextFile.write(try JSONText.encode(summary), to: folder + "/template_summary.json")
    }

    /// Each image's file name without its extension; repeated names get their position appended.
    static func subjectNames(_ paths: [String]) -> [String] {
        let bases = paths.map { path -> String in
            var name = URL(fileURLWithPath: path).lastPathComponent
            for ext in [".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".nhdr", ".png"] where name.lowercased().hasSuffix(ext) {
                name = String(name.dropLast(ext.count))
                break
            }
            return name
        }
        return bases.enumerated().map { i, b in bases.filter { $0 == b }.count > 1 ? "\(b)_\(i + 1)" : b }
    }

    static func outputPaths(_ request: TemplateRequest, folder: String, names: [String]) -> [String] {
        let rounds = (0...max(0, request.settings.iterations)).map { folder + "/template_iter\($0).nii.gz" }
        let subjects = names.flatMap { name in
            (["_warp.nii.gz", "_affine.txt", "_warped.nii.gz"] + (request.labels == nil ? [] : ["_labels.nii.gz"]))
                .map { folder + "/subjects/" + name + $0 }
        }
        return rounds + subjects + ["template.nii.gz", "template_summary.json", "template_report.html"].map { folder + "/" + $0 }
            + (request.labels == nil ? [] : [folder + "/template_labels.nii.gz"])
    }

    /// The QC page: the template of every round in three planes, the measures per round, and
    /// each subject's correlation with the template.
    static func report(_ result: TemplateConstruction.Result, summary: TemplateSummary) throws -> String {
        var page = HTMLReport(title: "Template of \(summary.images.count) images")
        page.facts = [("rounds", "\(summary.iterations.count - 1) after the initial template"), ("gradient step", "\(summary.gradientStep)"),
                      ("average", summary.average.rawValue), ("sharpening", summary.sharpen > 0 ? String(format: "Laplacian, weight %.2f", summary.sharpen) : "none"), ("time", String(format: "%.1f s", summary.seconds))]
        let window = IntensityWindow(result.template)
        page.figures = try SlicePlane.middle(of: result.template.geometry).map { plane in
            FigureRow(title: plane.title, panels: try result.templates.enumerated().map { k, t in
                FigureRow.Panel(title: k == 0 ? "initial" : "round \(k)", png: try Picture(grey: try plane.sample(t), window: window).png())
            })
        }
        page.curves = [HTMLReport.Curve(title: "mean correlation with the template", values: summary.iterations.map(\.meanCorrelation)),
                       HTMLReport.Curve(title: "shape update (mm)", values: summary.iterations.map(\.shapeUpdate))]
        let withDice = summary.iterations.contains { $0.meanLabelDice != nil }
        page.tables.append(("Rounds", [["round", "mean correlation", "sharpness", "shape update mm", "affine update"] + (withDice ? ["label Dice"] : []) + ["seconds"]]
            + summary.iterations.map { r in
                [String(r.iteration), String(format: "%.4f", r.meanCorrelation), String(format: "%.4g", r.sharpness), String(format: "%.3f", r.shapeUpdate),
                 String(format: "%.4f", r.affineUpdate)] + (withDice ? [r.meanLabelDice.map { String(format: "%.4f", $0) } ?? ""] : [])
                    + [String(format: "%.1f", r.seconds)]
            }))
        page.tables.append(("Subjects (last round)", [["subject", "correlation"] + (withDice ? ["label Dice"] : [])]
            + summary.names.enumerated().map { i, name in
                let last = summary.iterations.last!
                return [name, String(format: "%.4f", last.correlations[i])] + (withDice ? [last.labelDice.map { String(format: "%.4f", $0[i]) } ?? ""] : [])
            }))
        return page.html
    }
}
