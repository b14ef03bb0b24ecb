import Foundation
import RegAnalysis
import RegCore
import RegIO
import RegKernels
import RegTransforms

/// What `swiftreg evaluate` scores, by file: label overlap and surface distances, landmark
/// error, Jacobian statistics, and the endpoint error against a known warp.
///
/// ```swift
/// var request = EvaluationRequest(chain: try TransformFiles.chain(["out/syn_warp.nii.gz", "out/syn_affine.txt"]))
/// request.labels = (fixed: "subject_seg.nii.gz", moving: "atlas_seg.nii.gz")
/// let results = try request.run()
/// print(results.table)      // also results.csv, and JSON through JSONText.encode(results)
/// ```
public struct EvaluationRequest: Sendable {
    /// The chain from fixed to moving space (identity when empty).
    public var chain: TransformChain
    /// Two label images: the moving one is carried onto the fixed one's grid through `chain`.
    public var labels: (fixed: String, moving: String)?
    /// Two landmark files: the TRE of the fixed points carried through `chain`.
    public var landmarks: (fixed: String, moving: String)?
    /// A displacement field whose det J statistics to report, over `mask` (on its grid).
    public var warp: String?
    public var mask: String?
    /// A known field on the warp's grid: the endpoint error of `warp` against it.
    public var referenceWarp: String?
    /// A label lookup table (FreeSurfer LUT or id,name CSV) for names.
    public var lut: String?
    /// The labels to score (nil: every non-zero label).
    public var labelIDs: [Int]?
    /// HD95, ASSD and the Hausdorff distance besides the overlaps.
    public var distances = true

    public init(chain: TransformChain = TransformChain([AffineMap]())) { self.chain = chain }

    public func run() throws -> EvaluationResults {
        let table = try lut.map { path in
            try LabelTable(parsing: try TextFile.read(path), source: path)
        }
        var results = EvaluationResults()
        if let labels {
            results.labels = try Self.labelEvaluation(fixed: labels.fixed, moving: labels.moving, chain: chain, table: table, lutPath: lut,
                                                      ids: labelIDs, distances: distances)
        }
        if let landmarks {
            results.landmarks = try TargetRegistrationError(fixed: LandmarkFile.read(landmarks.fixed), moving: LandmarkFile.read(landmarks.moving),
                                                            transform: chain.map)
        }
        if let warp {
            let field = DisplacementField(try TransformFile.readDisplacementField(warp))
            let m = try mask.map { try ImageFile.readMask($0, on: field.geometry, role: "the warp") }
            results.jacobian = JacobianStatistics(determinant: field.jacobianDeterminant, mask: m)
            if let referenceWarp {
                let truth = try TransformFile.readDisplacementField(referenceWarp)
                guard truth.geometry.sameGrid(as: field.geometry) else {
                    throw RegError.geometryMismatch("\(referenceWarp) (\(truth.geometry.brief)) is not on the grid of \(warp) (\(field.geometry.brief))")
                }
                results.endpoint = try FieldComparison(estimate: field.field, truth: truth, mask: m)
            }
        }
        return results
    }

    /// The moving labels on the fixed labels' grid (through the chain when it is not empty), scored.
    static func labelEvaluation(fixed: String, moving: String, chain: TransformChain, table: LabelTable?, lutPath: String?,
                                ids: [Int]?, distances: Bool) throws -> LabelEvaluation {
        let reference = try ImageFile.readLabels(fixed)
        var test = try ImageFile.readLabels(moving)
        if !chain.elements.isEmpty || !test.geometry.sameGrid(as: reference.geometry) {
            guard !chain.elements.isEmpty else {
                throw RegError.geometryMismatch("\(fixed) (\(reference.geometry.brief)) and \(moving) (\(test.geometry.brief)) are on different grids; give the transform from the first's space to the second's with -t")
            }
            test = try Resampler.resample(test, onto: reference.geometry, mapping: chain.mapping(onto: reference.geometry),
                                          interpolation: .label)
        }
        let evaluation: LabelEvaluation
        do {
            evaluation = try LabelEvaluation(reference: reference, test: test, labels: ids, names: table?.names ?? [:], distances: distances)
        } catch RegError.invalidArgument(_, let reason) {
            throw RegError.invalidArgument(name: "\(fixed) and \(moving)", reason: reason)
        }
        if let table, let lutPath { try table.validate(ids: evaluation.labels.map(\.id), source: lutPath) }
        return evaluation
    }
}

/// The scores of an `EvaluationRequest`, as a table, CSV rows or JSON (`Codable`).
public struct EvaluationResults: Sendable, Codable {
    public var labels: LabelEvaluation?
    public var landmarks: TargetRegistrationError?
    public var jacobian: JacobianStatistics?
    public var endpoint: FieldComparison?

    public init() {}

    /// The table `evaluate` prints.
    public var table: String { Self.table(self) }
    /// `section,item,name,measure,value` rows.
    public var csv: String { Self.csv(self) }

    static func table(_ r: EvaluationResults) -> String {
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

    static func csv(_ r: EvaluationResults) -> String {
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
