import ArgumentParser
import Foundation
import RegAnalysis
import RegCore
import SwiftRegKit
import RegIO
import RegKernels
import RegTransforms

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a registration: label overlap and surface distances, landmark error, Jacobian statistics.",
        discussion: """
        --labels FIXED MOVING: Dice, Jaccard, volumes, HD95, ASSD and the Hausdorff distance (mm, exact \
        Euclidean distances in physical space) per label and on average. With -t, the MOVING labels are \
        carried onto the FIXED labels' grid through the chain (label interpolation); without, both must \
        share a grid. --landmarks FIXED MOVING: target registration error of the fixed points carried \
        through the chain to their moving partners (paired by label, else by order). --warp FIELD: det J \
        statistics (min, max, folded %, SDlogJ) over --mask or the whole grid; with --reference-warp KNOWN \
        (a known transform as a field on the same grid, e.g. from `swiftreg synth`), also the endpoint \
        error |φ(x) − φ*(x)| (mean, median, 95th percentile, max) and the rotation angle between the two \
        maps' best linear fits. Label names come from --lut \
        (FreeSurfer LUT or id,name CSV). A table goes to standard output; --json and --csv write the \
        same numbers to a file ('-' for standard output instead of the table).
        Examples:
          swiftreg evaluate --labels fixed_seg.nii.gz atlas_seg.nii.gz -t out/syn_warp.nii.gz -t out/syn_affine.txt --lut FreeSurferColorLUT.txt
          swiftreg evaluate --landmarks fixed.csv moving.csv -t out/reg_affine.txt --json tre.json
          swiftreg evaluate --warp out/syn_warp.nii.gz --mask brain_mask.nii.gz
          swiftreg evaluate --warp total_warp.nii.gz --reference-warp kw_true_warp.nii.gz --mask kw_labels.nii.gz
        """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var transform: TransformOptions
    @Option(parsing: .upToNextOption, help: "Two label images: FIXED MOVING (or already warped).") var labels: [String] = []
    @Option(parsing: .upToNextOption, help: "Two landmark files: FIXED MOVING.") var landmarks: [String] = []
    @Option(help: "A displacement field whose det J statistics to report.") var warp: String?
    @Option(help: "Mask for the Jacobian statistics and the endpoint error (non-zero voxels), on the warp's grid.") var mask: String?
    @Option(name: .customLong("reference-warp"), help: "The known displacement field (same grid as --warp): report the endpoint error of --warp against it.") var referenceWarp: String?
    @Option(help: "Label lookup table: FreeSurfer LUT (id name r g b a) or CSV (id,name).") var lut: String?
    @Option(name: .customLong("label-ids"), help: "Labels to score, e.g. 2,3,41,42 (default: all non-zero labels).") var labelIDs: String?
    @Flag(name: .customLong("no-distances"), help: "Skip HD95, ASSD and the Hausdorff distance.") var noDistances = false
    @Option(help: "Write the results as JSON to this file ('-': standard output).") var json: String?
    @Option(help: "Write the results as CSV (section,item,name,measure,value) to this file ('-': standard output).") var csv: String?

    struct Results: Codable {
        var labels: LabelEvaluation?
        var landmarks: TargetRegistrationError?
        var jacobian: JacobianStatistics?
        var endpoint: FieldComparison?
    }

    func validate() throws {
        guard labels.isEmpty || labels.count == 2 else { throw ValidationError("--labels takes two files: FIXED MOVING") }
        guard landmarks.isEmpty || landmarks.count == 2 else { throw ValidationError("--landmarks takes two files: FIXED MOVING") }
        guard !labels.isEmpty || !landmarks.isEmpty || warp != nil else {
            throw ValidationError("nothing to evaluate: give --labels, --landmarks or --warp")
        }
        guard referenceWarp == nil || warp != nil else { throw ValidationError("--reference-warp needs --warp: the field to compare with it") }
        guard json != "-" || csv != "-" else { throw ValidationError("only one of --json and --csv can go to standard output") }
    }

    func run() throws {
        try common.apply()
        let chain = try transform.chain()
        let table = try lut.map { path in
            try LabelTable(parsing: try String(contentsOfFile: path, encoding: .utf8), source: path)
        }
        var results = Results()
        if labels.count == 2 {
            results.labels = try Self.labelEvaluation(fixed: labels[0], moving: labels[1], chain: chain, table: table, lutPath: lut,
                                                      ids: try ids(), distances: !noDistances)
        }
        if landmarks.count == 2 {
            results.landmarks = try TargetRegistrationError(fixed: LandmarkFile.read(landmarks[0]), moving: LandmarkFile.read(landmarks[1]),
                                                            transform: chain.map)
        }
        if let warp {
            let field = DisplacementField(try TransformFile.readDisplacementField(warp))
            let m = try mask.map { path -> Image<UInt8> in
                let image = try ImageFile.read(path).image
                guard image.geometry.sameGrid(as: field.geometry) else {
                    throw RegError.geometryMismatch("\(path): the mask's grid (size \(image.geometry.size)) is not the warp's (size \(field.geometry.size))")
                }
                return image.mask
            }
            results.jacobian = JacobianStatistics(determinant: field.jacobianDeterminant, mask: m)
            if let referenceWarp {
                let truth = try TransformFile.readDisplacementField(referenceWarp)
                guard truth.geometry.sameGrid(as: field.geometry) else {
                    throw RegError.geometryMismatch("\(referenceWarp) (\(truth.geometry.brief)) is not on the grid of \(warp) (\(field.geometry.brief))")
                }
                results.endpoint = try FieldComparison(estimate: field.field, truth: truth, mask: m)
            }
        }
        if let json { try emit(JSONText.encode(results), to: json) }
        if let csv { try emit(Self.csv(results), to: csv) }
        if json != "-" && csv != "-" { print(Self.table(results), terminator: "") }
    }

    func ids() throws -> [Int]? {
        try labelIDs.map { text in
            try text.split(separator: ",").map { part in
                guard let id = Int(part.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--label-ids takes comma-separated integers, found '\(text)'")
                }
                return id
            }
        }
    }

    func emit(_ text: String, to path: String) throws {
        if path == "-" { print(text, terminator: "") } else { try TextFile.write(text, to: path) }
    }

    /// The moving labels on the fixed labels' grid (through the chain when it is not empty), scored.
    static func labelEvaluation(fixed: String, moving: String, chain: TransformChain, table: LabelTable?, lutPath: String?,
                                ids: [Int]?, distances: Bool) throws -> LabelEvaluation {
        let reference = try ImageFile.read(fixed).image.labelImage()
        var test = try ImageFile.read(moving).image.labelImage()
        if !chain.elements.isEmpty || !test.geometry.sameGrid(as: reference.geometry) {
            guard !chain.elements.isEmpty else {
                throw RegError.geometryMismatch("\(fixed) (\(reference.geometry.brief)) and \(moving) (\(test.geometry.brief)) are on different grids; give the transform from the first's space to the second's with -t")
            }
            test = try Resampler.resample(test, onto: reference.geometry, mapping: chain.mapping(onto: reference.geometry),
                                          interpolation: .label)
        }
        let evaluation = try LabelEvaluation(reference: reference, test: test, labels: ids, names: table?.names ?? [:],
                                             distances: distances)
        if let table, let lutPath { try table.validate(ids: evaluation.labels.map(\.id), source: lutPath) }
        return evaluation
    }

    static func table(_ r: Results) -> String {
        var out = ""
        let number = { (v: Double?) in v.map { String(format: "%.4f", $0) } ?? "–" }
        if let e = r.labels {
            let width = max(4, e.labels.map { ($0.name ?? "").count }.max() ?? 0)
            out += "label  " + "name".padding(toLength: width, withPad: " ", startingAt: 0)
                + "    Dice  Jaccard    HD95 mm    ASSD mm  vol diff %\n"
            for l in e.labels {
                out += String(format: "%5d  ", l.id) + (l.name ?? "").padding(toLength: width, withPad: " ", startingAt: 0)
                    + String(format: "  %6.4f   %6.4f", l.dice, l.jaccard)
                    + number(l.hd95).leftPadded(11) + number(l.assd).leftPadded(11)
                    + (l.relativeVolumeDifference.map { String(format: "%.2f", 100 * $0) } ?? "–").leftPadded(12) + "\n"
            }
            out += " mean  " + "".padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: "  %6.4f   %6.4f", e.meanDice, e.meanJaccard) + number(e.meanHD95).leftPadded(11)
                + number(e.meanASSD).leftPadded(11) + "\n"
            if !e.absent.isEmpty {
                out += "not scored, in neither image: " + e.absent.map(String.init).joined(separator: ", ") + "\n"
            }
        }
        if let t = r.landmarks {
            out += String(format: "TRE over %d points: mean %.4f mm, sd %.4f, max %.4f\n", t.points.count, t.mean, t.standardDeviation, t.maximum)
            for p in t.points { out += "  \(p.label): " + String(format: "%.4f mm\n", p.error) }
        }
        if let j = r.jacobian {
            out += String(format: "det J over %d voxels: min %.4f, max %.4f, folded %d (%.4f %%), SDlogJ %.4f\n",
                          j.voxels, j.minimum, j.maximum, j.folded, 100 * j.foldedFraction, j.sdLogJ)
        }
        if let e = r.endpoint {
            out += String(format: "endpoint error over %d voxels: mean %.4f mm, median %.4f, 95th pct %.4f, max %.4f (known displacement mean %.4f); rotation %.4f°\n",
                          e.voxels, e.meanError, e.medianError, e.error95, e.maximumError, e.meanTruth, e.rotationDegrees)
        }
        return out
    }

    static func csv(_ r: Results) -> String {
        var rows = ["section,item,name,measure,value"]
        let quoted = { (s: String) in s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
        let add = { (section: String, item: String, name: String, measure: String, value: Double?) in
            if let value { rows.append([section, item, quoted(name), measure, String(format: "%.10g", value)].joined(separator: ",")) }
        }
        if let e = r.labels {
            for l in e.labels {
                let id = String(l.id), name = l.name ?? ""
                add("labels", id, name, "dice", l.dice); add("labels", id, name, "jaccard", l.jaccard)
                add("labels", id, name, "hd95_mm", l.hd95); add("labels", id, name, "assd_mm", l.assd)
                add("labels", id, name, "hausdorff_mm", l.hausdorff)
                add("labels", id, name, "fixed_volume_mm3", l.referenceVolume); add("labels", id, name, "moving_volume_mm3", l.testVolume)
                add("labels", id, name, "relative_volume_difference", l.relativeVolumeDifference)
            }
            add("labels", "mean", "", "dice", e.meanDice); add("labels", "mean", "", "jaccard", e.meanJaccard)
            add("labels", "mean", "", "hd95_mm", e.meanHD95); add("labels", "mean", "", "assd_mm", e.meanASSD)
        }
        if let t = r.landmarks {
            for p in t.points { add("landmarks", p.label, "", "tre_mm", p.error) }
            add("landmarks", "all", "", "mean_mm", t.mean); add("landmarks", "all", "", "sd_mm", t.standardDeviation)
            add("landmarks", "all", "", "max_mm", t.maximum)
        }
        if let j = r.jacobian {
            add("jacobian", "all", "", "min", j.minimum); add("jacobian", "all", "", "max", j.maximum)
            add("jacobian", "all", "", "folded_fraction", j.foldedFraction); add("jacobian", "all", "", "sdlogj", j.sdLogJ)
        }
        if let e = r.endpoint {
            add("endpoint", "all", "", "mean_mm", e.meanError); add("endpoint", "all", "", "median_mm", e.medianError)
            add("endpoint", "all", "", "p95_mm", e.error95); add("endpoint", "all", "", "max_mm", e.maximumError)
            add("endpoint", "all", "", "truth_mean_mm", e.meanTruth); add("endpoint", "all", "", "rotation_deg", e.rotationDegrees)
        }
        return rows.joined(separator: "\n") + "\n"
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? " " + self : String(repeating: " ", count: width - count) + self }
}
