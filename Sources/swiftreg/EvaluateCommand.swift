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
        try OutputFolder.check(outputs: [json, csv].compactMap { $0 }.filter { $0 != "-" },
                               inputs: labels + landmarks + [warp, mask, referenceWarp, lut].compactMap { $0 } + TransformFiles.paths(transform.transforms))
        var request = EvaluationRequest(chain: try transform.chain())
        if labels.count == 2 { request.labels = (labels[0], labels[1]) }
        if landmarks.count == 2 { request.landmarks = (landmarks[0], landmarks[1]) }
        request.warp = warp
        request.mask = mask
        request.referenceWarp = referenceWarp
        request.lut = lut
        request.labelIDs = try ids()
        request.distances = !noDistances
        let results = try request.run()
        if let json { try emit(JSONText.encode(results), to: json) }
        if let csv { try emit(results.csv, to: csv) }
        if json != "-" && csv != "-" { print(results.table, terminator: "") }
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
}
