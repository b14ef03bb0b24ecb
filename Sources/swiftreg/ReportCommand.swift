import ArgumentParser
import Foundation
import RegAnalysis
import RegCore
import SwiftRegKit
import RegIO
import RegKernels
import RegMethods
import RegReport
import RegTransforms

/// Inputs of the QC report shared by `report` and `register --report`.
struct ReportOptions: ParsableArguments {
    @Option(name: .customLong("fixed-labels"), help: "Report: fixed-space label image, for contours and the overlap table.")
    var fixedLabels: String?
    @Option(name: .customLong("moving-labels"), help: "Report: moving-space label image, warped onto the fixed grid.")
    var movingLabels: String?
    @Option(help: "Report: label lookup table (FreeSurfer LUT or id,name CSV) for names and colours.") var lut: String?
    @Option(name: .customLong("slice"), parsing: .singleValue,
            help: "Report: an extra plane, VIEW:POSITION with VIEW axial, coronal or sagittal and POSITION a fraction (0.4 or 40%) or LPS mm (12mm); repeatable.")
    var slices: [String] = []

    /// The planes: the three middle ones (or a 2-D image's own), then the chosen ones.
    func planes(through geometry: Geometry) throws -> [SlicePlane] {
        try SlicePlane.middle(of: geometry) + slices.map { try Self.plane($0, through: geometry) }
    }

    static func plane(_ spec: String, through geometry: Geometry) throws -> SlicePlane {
        let parts = spec.split(separator: ":").map(String.init)
        guard parts.count == 2, let view = SlicePlane.View(rawValue: parts[0]), view != .plane else {
            throw ValidationError("--slice takes VIEW:POSITION with VIEW axial, coronal or sagittal; found '\(spec)'")
        }
        let text = parts[1]
        let position: SlicePlane.Position
        if text.hasSuffix("mm"), let mm = Double(text.dropLast(2)) {
            position = .millimetres(mm)
        } else if text.hasSuffix("%"), let percent = Double(text.dropLast()) {
            position = .fraction(percent / 100)
        } else if let f = Double(text), (0...1).contains(f) {
            position = .fraction(f)
        } else {
            throw ValidationError("--slice position takes a fraction (0.4), a percentage (40%) or millimetres (12mm); found '\(text)'")
        }
        return try SlicePlane(view, through: geometry, at: position)
    }

    func table() throws -> LabelTable? {
        try lut.map { try LabelTable(parsing: try String(contentsOfFile: $0, encoding: .utf8), source: $0) }
    }
}

/// Builds the HTML quality-control page of one registration.
struct QCReport {
    var fixedPath: String
    var movingPath: String
    var fixed: Image<Float>
    var moving: Image<Float>
    var chain: TransformChain
    var warp: DisplacementField?
    var summary: RegistrationSummary?
    var landmarks: (fixed: Landmarks, moving: Landmarks)?
    var options: ReportOptions

    func build() throws -> HTMLReport {
        let grid = fixed.geometry
        let warped = try Resampler.resample(moving, onto: grid, mapping: chain.mapping(onto: grid), interpolation: .linear)
        let table = try options.table()
        var report = HTMLReport(title: "SwiftReg: \(URL(fileURLWithPath: movingPath).lastPathComponent) → \(URL(fileURLWithPath: fixedPath).lastPathComponent)")
        report.facts = [("fixed", "\(fixedPath) (\(grid.brief))"), ("moving", "\(movingPath) (\(moving.geometry.brief))"),
                        ("transform (first applied first)", chain.names.joined(separator: " → "))]
        let determinant = warp?.jacobianDeterminant
        var images = ReportImages(fixed: fixed, moving: moving, warped: warped, displacement: warp?.field,
                                  jacobian: determinant, colors: LabelColors(table?.colors ?? [:]))
        if let path = options.fixedLabels {
            images.fixedLabels = try Resampler.resample(try ImageFile.read(path).image.labelImage(), onto: grid, interpolation: .label)
                .converted(to: Float.self)
        }
        if let path = options.movingLabels {
            images.warpedLabels = try Resampler.resample(try ImageFile.read(path).image.labelImage(), onto: grid,
                                                         mapping: chain.mapping(onto: grid), interpolation: .label).converted(to: Float.self)
        }
        if let f = images.fixedLabels, let w = images.warpedLabels {
            report.labels = try LabelEvaluation(reference: f.converted(to: Int32.self), test: w.converted(to: Int32.self),
                                                names: table?.names ?? [:])
            if let table, let lut = options.lut { try table.validate(ids: report.labels!.labels.map(\.id), source: lut) }
        }
        if let landmarks {
            report.landmarks = try TargetRegistrationError(fixed: landmarks.fixed, moving: landmarks.moving, transform: chain.map)
            report.landmarksBefore = try TargetRegistrationError(fixed: landmarks.fixed, moving: landmarks.moving) { $0 }
        }
        report.figures = try images.rows(planes: options.planes(through: grid))
        if let determinant {
            report.jacobian = summary?.jacobianInsideFixed ?? JacobianStatistics(determinant: determinant, mask: fixed.foreground)
        }
        if let summary { add(summary, to: &report) }
        return report
    }

    func add(_ s: RegistrationSummary, to report: inout HTMLReport) {
        report.facts += [("plan", s.plan.preset.map { "preset \($0)" } ?? "from a plan file"), ("total time", String(format: "%.2f s", s.seconds)),
                         ("correlation before → after", String(format: "%.4f → %.4f", s.correlationBefore, s.correlationAfter))]
        report.timings = [["stage", "level", "shrink", "iterations", "metric first → last", "stop", "seconds"]]
        for l in s.linearLevels {
            report.timings.append(["\(l.stage): \(l.model.rawValue)", "\(l.level)", "\(l.shrink)", "\(l.evaluations)",
                                   String(format: "%.5g → %.5g", l.initialCost, l.finalCost), l.stopReason, String(format: "%.2f", l.seconds)])
            report.curves.append(.init(title: "\(l.model.rawValue) level \(l.level) (cost)", values: l.curve))
        }
        for l in s.deformableLevels {
            report.timings.append(["deformable", "\(l.level)", "\(l.shrink)", "\(l.iterations)",
                                   String(format: "%.5g → %.5g", l.initialSimilarity, l.finalSimilarity), l.stopReason,
                                   String(format: "%.2f", l.seconds)])
            report.curves.append(.init(title: "deformable level \(l.level) (similarity)", values: l.curve))
        }
        report.plan = PlanFile.text(s.plan)
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML quality-control page for a registration.",
        discussion: """
        Shows, for the axial, coronal and sagittal middle planes (and any --slice), the fixed, moving and \
        warped images, a checkerboard, the absolute difference, label contours, the deformation grid and \
        det J; with --prefix also the stage and level timings, the metric per iteration and the plan from \
        PREFIX_summary.json. Labels add an overlap table (Dice, HD95, ASSD), landmarks a TRE table.
        Examples:
          swiftreg report -f subject.nii.gz -m atlas.nii.gz --prefix out/syn -o out/syn_report.html
          swiftreg report -f a.nii.gz -m b.nii.gz -t reg_affine.txt --fixed-labels a_seg.nii.gz --moving-labels b_seg.nii.gz -o qc.html
        """)

    @OptionGroup var common: CommonOptions
    @Option(name: .shortAndLong, help: "Fixed image.") var fixed: String
    @Option(name: .shortAndLong, help: "Moving image.") var moving: String
    @Option(help: "Prefix of a `register` run: uses PREFIX_summary.json, PREFIX_warp.nii.gz and PREFIX_affine.txt.") var prefix: String?
    @OptionGroup var transform: TransformOptions
    @OptionGroup var options: ReportOptions
    @Option(parsing: .upToNextOption, help: "Two landmark files: FIXED MOVING.") var landmarks: [String] = []
    @Option(name: .shortAndLong, help: "Output HTML file.") var output: String

    func validate() throws {
        guard prefix == nil || transform.transforms.isEmpty else { throw ValidationError("give --prefix or -t, not both") }
        guard landmarks.isEmpty || landmarks.count == 2 else { throw ValidationError("--landmarks takes two files: FIXED MOVING") }
    }

    func run() throws {
        try common.apply()
        let fixedImage = try ImageFile.read(fixed).image.floatImage()
        let movingImage = try ImageFile.read(moving).image.floatImage()
        var chain = try transform.chain(), warp: DisplacementField?, summary: RegistrationSummary?
        if let prefix {
            summary = try JSONDecoder().decode(RegistrationSummary.self, from: try Data(contentsOf: URL(fileURLWithPath: prefix + "_summary.json")))
            var t = TransformOptions()
            t.transforms = (FileManager.default.fileExists(atPath: prefix + "_warp.nii.gz") ? [prefix + "_warp.nii.gz"] : []) + [prefix + "_affine.txt"]
            chain = try t.chain()
        }
        if case .displacement(let d)? = chain.elements.first { warp = d }
        let pairs = try landmarks.isEmpty ? nil : (LandmarkFile.read(landmarks[0]), LandmarkFile.read(landmarks[1]))
        let report = try QCReport(fixedPath: fixed, movingPath: moving, fixed: fixedImage, moving: movingImage, chain: chain, warp: warp,
                                  summary: summary, landmarks: pairs, options: options).build()
        try TextFile.write(report.html, to: output)
        print("report: \(output)")
    }
}
