import Foundation
import RegAnalysis
import RegTransforms

/// A self-contained HTML quality-control page: pictures embedded as PNG data, metric curves as
/// SVG, and the tables of the run (timings, evaluation, Jacobian statistics, the plan).
///
/// ```swift
/// var report = HTMLReport(title: "atlas → subject")
/// report.facts = [("fixed", "subject.nii.gz"), ("moving", "atlas.nii.gz")]
/// report.figures = try images.rows(planes: try SlicePlane.middle(of: fixed.geometry))
/// try TextFile.write(report.html, to: "out/report.html")
/// ```
public struct HTMLReport: Sendable {
    /// One metric curve: a value per iteration of one stage level.
    public struct Curve: Sendable {
        public var title: String
        public var values: [Double]
        public init(title: String, values: [Double]) {
            self.title = title
            self.values = values
        }
    }

    public var title: String
    /// Key–value lines at the top (inputs, preset, command, total time).
    public var facts: [(String, String)] = []
    /// Timing table: a header row, then one row per stage level.
    public var timings: [[String]] = []
    public var curves: [Curve] = []
    public var figures: [FigureRow] = []
    public var labels: LabelEvaluation?
    public var landmarks: TargetRegistrationError?
    public var landmarksBefore: TargetRegistrationError?
    public var jacobian: JacobianStatistics?
    /// The plan that ran, as YAML.
    public var plan: String?
    /// Further tables, each a title, a header row and its rows (e.g. a segmentation's volumes).
    public var tables: [(title: String, rows: [[String]])] = []

    public init(title: String) { self.title = title }

    public var html: String {
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}
        h1{font-size:22px} h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}
        table{border-collapse:collapse;font-size:13px;margin:8px 0} td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
        th{background:#eee} td:first-child,th:first-child{text-align:left}
        .row{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:14px} figure{margin:0;text-align:center;font-size:12px}
        figure img{display:block;height:220px;image-rendering:pixelated;background:#000}
        .curves{display:flex;flex-wrap:wrap;gap:12px} pre{background:#f0f0f0;padding:8px;font-size:12px;overflow:auto}
        </style></head><body>
        <h1>\(escape(title))</h1>

        """
        if !facts.isEmpty { h += table([["", ""]] + facts.map { [$0.0, $0.1] }, header: false) }
        if !figures.isEmpty {
            h += "<h2>Images</h2>\n<p>Radiological display (patient right on the left); planes resampled in physical space.</p>\n"
            for row in figures {
                h += "<h3>\(escape(row.title))</h3><div class=\"row\">\n"
                for p in row.panels {
                    h += "<figure><img alt=\"\(escape(p.title))\" src=\"data:image/png;base64,\(Data(p.png).base64EncodedString())\"><figcaption>\(escape(p.title))</figcaption></figure>\n"
                }
                h += "</div>\n"
            }
            h += jacobianLegend
        }
        if let labels { h += labelSection(labels) }
        if let landmarks { h += landmarkSection(landmarks) }
        if let jacobian {
            h += "<h2>Jacobian determinant</h2>\n" + table([["voxels", "min", "max", "folded (det J ≤ 0)", "folded %", "SDlogJ"],
                [String(jacobian.voxels), format(jacobian.minimum), format(jacobian.maximum), String(jacobian.folded),
                 String(format: "%.4f", 100 * jacobian.foldedFraction), format(jacobian.sdLogJ)]])
        }
        if !timings.isEmpty { h += "<h2>Stages and levels</h2>\n" + table(timings) }
        if !curves.isEmpty {
            h += "<h2>Metric per iteration</h2>\n<div class=\"curves\">\n" + curves.map(svg).joined(separator: "\n") + "</div>\n"
        }
        for (title, rows) in tables { h += "<h2>\(escape(title))</h2>\n" + table(rows) }
        if let plan { h += "<h2>Plan</h2>\n<pre>\(escape(plan))</pre>\n" }
        return h + "</body></html>\n"
    }

    private var jacobianLegend: String {
        """
        <p><svg width="360" height="38" role="img" aria-label="det J colour scale">
        <defs><linearGradient id="dj"><stop offset="0" stop-color="#0000ff"/><stop offset="0.5" stop-color="#ffffff"/><stop offset="1" stop-color="#ff0000"/></linearGradient></defs>
        <rect x="40" y="4" width="240" height="14" fill="url(#dj)" stroke="#888"/>
        <text x="40" y="32" font-size="11" text-anchor="middle">≤0.37</text><text x="160" y="32" font-size="11" text-anchor="middle">1</text>
        <text x="280" y="32" font-size="11" text-anchor="middle">≥2.72</text>
        <rect x="300" y="4" width="14" height="14" fill="#00ff00"/><text x="318" y="15" font-size="11">det J ≤ 0</text>
        <text x="0" y="15" font-size="11">det J</text></svg></p>

        """
    }

    private func labelSection(_ e: LabelEvaluation) -> String {
        var rows = [["label", "name", "Dice", "Jaccard", "HD95 mm", "ASSD mm", "fixed vol", "warped vol", "vol diff %"]]
        for l in e.labels {
            rows.append([String(l.id), l.name ?? "", format(l.dice), format(l.jaccard), l.hd95.map(format) ?? "–",
                         l.assd.map(format) ?? "–", String(format: "%.0f", l.referenceVolume), String(format: "%.0f", l.testVolume),
                         l.relativeVolumeDifference.map { String(format: "%.1f", 100 * $0) } ?? "–"])
        }
        rows.append(["mean", "", format(e.meanDice), format(e.meanJaccard), e.meanHD95.map(format) ?? "–",
                     e.meanASSD.map(format) ?? "–", "", "", ""])
        return "<h2>Labels (warped moving vs fixed)</h2>\n" + table(rows)
    }

    private func landmarkSection(_ tre: TargetRegistrationError) -> String {
        var rows = [["point", "TRE mm"] + (landmarksBefore == nil ? [] : ["before mm"])]
        for (i, p) in tre.points.enumerated() {
            rows.append([p.label, format(p.error)] + (landmarksBefore.map { [format($0.points[i].error)] } ?? []))
        }
        rows.append(["mean ± sd", "\(format(tre.mean)) ± \(format(tre.standardDeviation))"]
                    + (landmarksBefore.map { ["\(format($0.mean)) ± \(format($0.standardDeviation))"] } ?? []))
        rows.append(["max", format(tre.maximum)] + (landmarksBefore.map { [format($0.maximum)] } ?? []))
        return "<h2>Landmarks (target registration error)</h2>\n" + table(rows)
    }

    /// A small line chart of one curve.
    private func svg(_ curve: Curve) -> String {
        let (w, h, pad) = (280.0, 150.0, 34.0)
        let values = curve.values.filter(\.isFinite)
        guard let lo = values.min(), let hi = values.max(), values.count > 1 else {
            return "<figure><figcaption>\(escape(curve.title)): \(values.first.map(format) ?? "no values")</figcaption></figure>"
        }
        let span = hi > lo ? hi - lo : 1
        let points = values.enumerated().map { i, v in
            String(format: "%.1f,%.1f", pad + (w - pad - 6) * Double(i) / Double(values.count - 1), 8 + (h - pad - 8) * (hi - v) / span)
        }.joined(separator: " ")
        return """
        <figure><svg width="\(Int(w))" height="\(Int(h))" role="img" aria-label="\(escape(curve.title))">
        <rect x="\(pad)" y="8" width="\(w - pad - 6)" height="\(h - pad - 8)" fill="#fff" stroke="#aaa"/>
        <polyline fill="none" stroke="#1565c0" stroke-width="1.5" points="\(points)"/>
        <text x="\(pad - 3)" y="14" font-size="10" text-anchor="end">\(format(hi))</text>
        <text x="\(pad - 3)" y="\(h - pad)" font-size="10" text-anchor="end">\(format(lo))</text>
        <text x="\(w - 6)" y="\(h - pad + 14)" font-size="10" text-anchor="end">\(values.count) iterations</text>
        </svg><figcaption>\(escape(curve.title))</figcaption></figure>
        """
    }

    private func table(_ rows: [[String]], header: Bool = true) -> String {
        var t = "<table>\n"
        for (i, row) in rows.enumerated() {
            if i == 0 && !header { continue }
            let cell = i == 0 ? "th" : "td"
            t += "<tr>" + row.map { "<\(cell)>\(escape($0))</\(cell)>" }.joined() + "</tr>\n"
        }
        return t + "</table>\n"
    }

    private func format(_ v: Double) -> String { String(format: abs(v) >= 1000 ? "%.0f" : "%.4g", v) }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
