import Foundation
import RegAnalysis
import RegCore
import RegIO
import RegKernels
import RegMethods
import RegTransforms

/// What a quality-control page shows beyond the images: label files for contours and the
/// overlap table, a lookup table for names and colours, and extra planes as `VIEW:POSITION`
/// (`axial:40%`, `coronal:0.5`, `sagittal:12mm`).
///
/// ```swift
/// let settings = ReportSettings(fixedLabels: "subject_seg.nii.gz", movingLabels: "atlas_seg.nii.gz", slices: ["axial:40%"])
/// ```
public struct ReportSettings: Sendable {
    public var fixedLabels: String?
    public var movingLabels: String?
    public var lut: String?
    public var slices: [String]

    public init(fixedLabels: String? = nil, movingLabels: String? = nil, lut: String? = nil, slices: [String] = []) {
        self.fixedLabels = fixedLabels
        self.movingLabels = movingLabels
        self.lut = lut
        self.slices = slices
    }

    /// The planes: the three middle ones (or a 2-D image's own), then the chosen ones.
    public func planes(through geometry: Geometry) throws -> [SlicePlane] {
        try SlicePlane.middle(of: geometry) + slices.map { try SlicePlane(parsing: $0, through: geometry) }
    }

    /// The lookup table `lut` names, read.
    public func table() throws -> LabelTable? {
        try lut.map { path in try LabelTable(parsing: try TextFile.read(path), source: path) }
    }
}

extension SlicePlane {
    /// A plane from `VIEW:POSITION`: VIEW axial, coronal or sagittal, POSITION a fraction
    /// (`0.4`), a percentage (`40%`) or LPS millimetres (`12mm`).
    ///
    /// ```swift
    /// let plane = try SlicePlane(parsing: "coronal:40%", through: image.geometry)
    /// ```
    public init(parsing spec: String, through geometry: Geometry) throws {
        let parts = spec.split(separator: ":").map(String.init)
        guard parts.count == 2, let view = View(rawValue: parts[0]), view != .plane else {
            throw RegError.invalidArgument(name: "slice", reason: "takes VIEW:POSITION with VIEW axial, coronal or sagittal; found '\(spec)'")
        }
        let text = parts[1]
        let position: Position
        if text.hasSuffix("mm"), let mm = Double(text.dropLast(2)) {
            position = .millimetres(mm)
        } else if text.hasSuffix("%"), let percent = Double(text.dropLast()) {
            position = .fraction(percent / 100)
        } else if let f = Double(text), (0...1).contains(f) {
            position = .fraction(f)
        } else {
            throw RegError.invalidArgument(name: "slice", reason: "position takes a fraction (0.4), a percentage (40%) or millimetres (12mm); found '\(text)'")
        }
        try self.init(view, through: geometry, at: position)
    }
}

/// The HTML quality-control page of one registration: planes of the fixed, moving and warped
/// images, checkerboard, difference, label contours, deformed grid and det J; the label and
/// landmark tables; with the run's summary, the timings, cost curves and plan.
///
/// ```swift
/// let page = try RegistrationReport(fixedPath: "f.nii.gz", movingPath: "m.nii.gz", fixed: fixed, moving: moving,
///                                   chain: result.chain, warp: result.deformable?.forward, summary: result.summary).build()
/// try TextFile.write(page.html, to: "out/reg_report.html")
/// ```
public struct RegistrationReport: Sendable {
    public var fixedPath: String
    public var movingPath: String
    public var fixed: Image<Float>
    public var moving: Image<Float>
    public var chain: TransformChain
    public var warp: DisplacementField?
    public var summary: RegistrationSummary?
    public var landmarks: LandmarkPairs?
    public var settings: ReportSettings

    public init(fixedPath: String, movingPath: String, fixed: Image<Float>, moving: Image<Float>, chain: TransformChain,
                warp: DisplacementField? = nil, summary: RegistrationSummary? = nil, landmarks: LandmarkPairs? = nil,
                settings: ReportSettings = ReportSettings()) {
        self.fixedPath = fixedPath
        self.movingPath = movingPath
        self.fixed = fixed
        self.moving = moving
        self.chain = chain
        self.warp = warp
        self.summary = summary
        self.landmarks = landmarks
        self.settings = settings
    }

    public func build() throws -> HTMLReport {
        let grid = fixed.geometry
        let warped = try Resampler.resample(moving, onto: grid, mapping: chain.mapping(onto: grid), interpolation: .linear)
        let table = try settings.table()
        var report = HTMLReport(title: "SwiftReg: \(URL(fileURLWithPath: movingPath).lastPathComponent) → \(URL(fileURLWithPath: fixedPath).lastPathComponent)")
        report.facts = [("fixed", "\(fixedPath) (\(grid.brief))"), ("moving", "\(movingPath) (\(moving.geometry.brief))"),
                        ("transform (first applied first)", chain.names.joined(separator: " → "))]
        let determinant = warp?.jacobianDeterminant
        var images = ReportImages(fixed: fixed, moving: moving, warped: warped, displacement: warp?.field,
                                  jacobian: determinant, colors: LabelColors(table?.colors ?? [:]))
        if let path = settings.fixedLabels {
            images.fixedLabels = try Resampler.resample(try ImageFile.readLabels(path), onto: grid, interpolation: .label)
                .converted(to: Float.self)
        }
        if let path = settings.movingLabels {
            images.warpedLabels = try Resampler.resample(try ImageFile.readLabels(path), onto: grid,
                                                         mapping: chain.mapping(onto: grid), interpolation: .label).converted(to: Float.self)
        }
        if let f = images.fixedLabels, let w = images.warpedLabels {
            report.labels = try LabelEvaluation(reference: f.converted(to: Int32.self), test: w.converted(to: Int32.self),
                                                names: table?.names ?? [:])
            if let table, let lut = settings.lut { try table.validate(ids: report.labels!.labels.map(\.id), source: lut) }
        }
        if let landmarks {
            report.landmarks = try TargetRegistrationError(fixed: landmarks.fixed, moving: landmarks.moving, transform: chain.map)
            report.landmarksBefore = try TargetRegistrationError(fixed: landmarks.fixed, moving: landmarks.moving) { $0 }
        }
        report.figures = try images.rows(planes: settings.planes(through: grid))
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
        report.plan = s.plan.document.yaml
    }
}

