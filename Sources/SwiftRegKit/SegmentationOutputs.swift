import Foundation
import RegAnalysis
import RegCore
import RegIO
import RegReport
import RegSegment

extension AtlasSegmentation {
    /// Writes a fusion's files under `prefix`: the label map, the confidence, the posteriors (one
    /// 4-D file with a volume per label of `summary.posteriorLabels`, or a file per label), the
    /// volume table, the QC page and, last, the summary with the run's record.
    static func write(_ fused: FusedLabels, target: Image<Float>, table: LabelTable?, request fusion: LabelFusion, perLabel: Bool,
                      prefix: String, summary: inout SegmentationSummary, clock: inout PhaseClock,
                      transaction: OutputTransaction, outputs: [String]) throws {
        if fusion.method == .jlf {
            (summary.patchRadius, summary.searchRadius, summary.alpha, summary.beta, summary.nonNegative)
                = (fusion.patchRadius, fusion.searchRadius, fusion.alpha, fusion.beta, fusion.nonNegative)
        }
        let g = target.geometry
        try ImageFile.write(fused.labels, to: prefix + "_labels.nii.gz")
        try ImageFile.write(fused.confidence, to: prefix + "_confidence.nii.gz", options: .runLength)
        // Posteriors are mostly 0 and 1: the fastest deflate level loses little.
        let fast = ImageWriteOptions(compressionLevel: 1)
        if perLabel {
            for (k, value) in fused.labelValues.enumerated() {
                try ImageFile.write(fused.posterior(ofLabelAt: k), to: prefix + "_posterior_\(value).nii.gz", options: fast)
            }
        } else {
            try ImageFile.writeSeries(geometry: g, count: fused.labelValues.count, to: prefix + "_posteriors.nii.gz", options: fast) { k, buffer in
                fused.posterior(ofLabelAt: k, into: buffer)
            }
        }
        summary.posteriorLabels = fused.labelValues.map(Int.init)
        summary.volumes = volumes(fused.labels, table: table)
        var csv = "label,name,voxels,\(g.dimension == 2 ? "mm2" : "mm3")\n"
        for v in summary.volumes { csv += "\(v.label),\(csvField(v.name ?? "")),\(v.voxels),\(String(format: "%.3f", v.volume))\n" }
        try TextFile.write(csv, to: prefix + "_volumes.csv")
        clock.end("writing")
        try TextFile.write(try report(fused, target: target, table: table, summary: summary, phases: clock.phases), to: prefix + "_report.html")
        summary.phases = clock.phases
        summary.run = transaction.record(of: outputs)
        try TextFile.write(try JSONText.encode(summary), to: prefix + "_summary.json")
    }

    /// Voxels and volume of every label but 0 in a label map.
    static func volumes(_ labels: Image<Int32>, table: LabelTable?) -> [SegmentationSummary.Volume] {
        var counts: [Int32: Int] = [:]
        for v in labels.voxels where v != 0 { counts[v, default: 0] += 1 }
        let voxelVolume = labels.geometry.voxelVolume
        return counts.keys.sorted().map { label in
            SegmentationSummary.Volume(label: Int(label), name: table?.names[Int(label)], voxels: counts[label]!,
                                       volume: Double(counts[label]!) * voxelVolume)
        }
    }

    static func csvField(_ text: String) -> String {
        text.contains(",") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    /// The QC page: the target with the fused labels' contours and the confidence in three
    /// planes, the atlases used with their scores, the phases' times and the volume table.
    static func report(_ fused: FusedLabels, target: Image<Float>, table: LabelTable?, summary: SegmentationSummary,
                       phases: [SegmentationSummary.Phase]) throws -> String {
        var page = HTMLReport(title: "Segmentation of \(URL(fileURLWithPath: summary.target).lastPathComponent)")
        let used = summary.atlases.filter(\.selected).count
        page.facts = [("target", summary.target), ("fusion", summary.fusion.rawValue),
                      ("atlases", "\(used) used of \(summary.atlases.count)")]
        let labels = fused.labels.converted(to: Float.self)
        let colors = LabelColors(table?.colors ?? [:])
        let window = IntensityWindow(target), confidenceWindow = IntensityWindow(low: 0, high: 1)
        page.figures = try SlicePlane.middle(of: target.geometry).map { plane in
            let t = try plane.sample(target)
            var contours = Picture(grey: t, window: window)
            contours.drawContours(of: try plane.sample(labels, interpolation: .label), colors: colors)
            let panels = [("target", Picture(grey: t, window: window)), ("fused labels", contours),
                          ("confidence (0–1)", Picture(grey: try plane.sample(fused.confidence), window: confidenceWindow))]
            return FigureRow(title: plane.title, panels: try panels.map { FigureRow.Panel(title: $0.0, png: try $0.1.png()) })
        }
        page.tables.append(("Atlases", [["#", "image", "labels", "score", "used", "registration s", "correlation after"]]
            + summary.atlases.enumerated().map { k, a in
                ["\(k + 1)", a.image, a.labels, a.score.map { String(format: "%.4f", $0) } ?? "", a.selected ? "yes" : "no",
                 a.reused ? "kept files" : a.registrationSeconds.map { String(format: "%.1f", $0) } ?? "",
                 a.correlationAfter.map { String(format: "%.3f", $0) } ?? ""]
            }))
        page.tables.append(("Phases", [["phase", "seconds"]] + phases.map { [$0.name, String(format: "%.2f", $0.seconds)] }))
        let unit = target.geometry.dimension == 2 ? "mm²" : "mm³"
        page.tables.append(("Volumes", [["label", "name", "voxels", unit]]
            + summary.volumes.map { ["\($0.label)", $0.name ?? "", "\($0.voxels)", String(format: "%.1f", $0.volume)] }))
        return page.html
    }
}
