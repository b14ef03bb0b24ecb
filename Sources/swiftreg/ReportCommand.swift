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

    var settings: ReportSettings { ReportSettings(fixedLabels: fixedLabels, movingLabels: movingLabels, lut: lut, slices: slices) }

    /// A `--slice` plane; a bad one is a usage error (exit 2) naming the option.
    static func plane(_ spec: String, through geometry: Geometry) throws -> SlicePlane {
        do { return try SlicePlane(parsing: spec, through: geometry) } catch RegError.invalidArgument(_, let reason) {
            throw ValidationError("--slice \(reason)")
        }
    }

    /// Checks every `--slice` against the fixed grid before anything is computed.
    func validateSlices(through geometry: Geometry) throws {
        for spec in slices { _ = try Self.plane(spec, through: geometry) }
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
        try OutputFolder.check(outputs: [output], inputs: [fixed, moving] + landmarks + TransformFiles.paths(transform.transforms)
                               + [options.fixedLabels, options.movingLabels, options.lut].compactMap { $0 })
        let fixedImage = try ImageFile.read(fixed).image.floatImage()
        try options.validateSlices(through: fixedImage.geometry)
        let movingImage = try ImageFile.read(moving).image.floatImage()
        var chain = try transform.chain(), warp: DisplacementField?, summary: RegistrationSummary?
        if let prefix {
            let path = prefix + "_summary.json"
            do { summary = try JSONDecoder().decode(RegistrationSummary.self, from: Data(try TextFile.read(path).utf8)) } catch let error as DecodingError {
                throw RegError.invalidHeader(path: path, field: "summary", reason: "not a summary that `register` wrote (\(error))")
            }
            var t = TransformOptions()
            t.transforms = (FileManager.default.fileExists(atPath: prefix + "_warp.nii.gz") ? [prefix + "_warp.nii.gz"] : []) + [prefix + "_affine.txt"]
            chain = try t.chain()
        }
        if case .displacement(let d)? = chain.elements.first { warp = d }
        let pairs = try landmarks.isEmpty ? nil : LandmarkPairs(fixed: LandmarkFile.read(landmarks[0]), moving: LandmarkFile.read(landmarks[1]))
        let report = try RegistrationReport(fixedPath: fixed, movingPath: moving, fixed: fixedImage, moving: movingImage, chain: chain,
                                            warp: warp, summary: summary, landmarks: pairs, settings: options.settings).build()
        try TextFile.write(report.html, to: output)
        print("report: \(output)")
    }
}
