import Foundation
import RegAnalysis
import RegCore
import RegIO
import RegKernels
import RegMethods
import RegReport
import RegTransforms

/// What `swiftreg longitudinal` does: align two scans of one subject rigidly into their halfway
/// space, register them there with the plan's deformable stage, and measure the change.
///
/// ```swift
/// var request = LongitudinalRequest(baseline: "bl.nii.gz", followup: "fu.nii.gz")
/// request.mask = "bl_brain.nii.gz"
/// let summary = try LongitudinalChange.run(request, prefix: "out/subject")
/// print(summary.percentVolumeChange, summary.boundaryShift.percentVolumeChange)
/// ```
public struct LongitudinalRequest: Sendable {
    public var baseline: String
    public var followup: String
    /// The region whose volume change is measured, on the baseline's grid; nil: the baseline's
    /// voxels above a tenth of its 99th percentile.
    public var mask: String?
    /// A baseline segmentation (on the baseline's grid) for the change of every label.
    public var labels: String?
    /// Label names (FreeSurfer LUT, ITK-SNAP label file or `id,name` CSV).
    public var lut: String?
    /// The plan whose deformable stage runs in the halfway space (its linear stages are not used);
    /// by default `syn` with the wider window of `DeformableStage.synLongitudinal`.
    public var plan: RegistrationPlan = {
        var plan = RegistrationPlan.preset("syn")!
        plan.deformable = .syn(.synLongitudinal)
        plan.preset = nil
        return plan
    }()
    /// Align with a similarity transform (rigid + one scale) instead of a rigid one.
    public var allowScaling = false

    public init(baseline: String, followup: String) {
        self.baseline = baseline
        self.followup = followup
    }
}

/// What `longitudinal` writes as `PREFIX_summary.json`.
public struct LongitudinalSummary: Sendable, Codable {
    public struct LabelChange: Sendable, Codable, Equatable {
        public var label: Int
        public var name: String?
        public var change: VolumeChange
    }
    public var baseline: String
    public var followup: String
    /// The mask file, or nil when the threshold mask was used.
    public var mask: String?
    /// Percent volume change of the mask's region: det J of the deformation integrated over it.
    public var percentVolumeChange: Double
    /// The same by the motion of the region's edge between the halfway images (SIENA's way).
    public var boundaryShiftPercentVolumeChange: Double
    public var jacobianIntegration: VolumeChange
    public var boundaryShift: BoundaryShift
    public var labels: [LabelChange] = []
    /// Baseline → follow-up points (LPS mm), rigid or similarity, and its halfway root.
    public var rigidMatrix: [Double], rigidTranslation: [Double]
    public var rotationDegrees: Double, translationMillimetres: Double
    public var halfwayMatrix: [Double], halfwayTranslation: [Double]
    /// det J of the deformation over the whole halfway grid and inside the mask.
    public var jacobian: JacobianStatistics
    public var jacobianInsideMask: JacobianStatistics
    public var deformableCorrelationBefore: Double, deformableCorrelationAfter: Double
    /// Voxels of the region left out because one scan's field of view does not cover them (with a
    /// margin of 2 voxels).
    public var voxelsOutsideFieldOfView: Int
    public var phases: [SegmentationSummary.Phase] = []
    public var run: RunRecord?
}

/// `swiftreg longitudinal` as a library call.
public enum LongitudinalChange {
    /// The files a run writes under `prefix` (`_change.csv` only with labels).
    ///
    /// ```swift
    /// let files = LongitudinalChange.outputs(prefix: "out/s1", labels: true)
    /// ```
    public static func outputs(prefix: String, labels: Bool) -> [String] {
        ["_halfway_baseline.nii.gz", "_halfway_followup.nii.gz", "_halfway_mask.nii.gz", "_rigid.txt", "_halfway.txt",
         "_warp.nii.gz", "_logjacobian.nii.gz", "_logjacobian_baseline.nii.gz", "_report.html", "_summary.json"].map { prefix + $0 }
            + (labels ? [prefix + "_change.csv"] : [])
    }

    /// Aligns the scans rigidly, resamples each by half the motion into the halfway space (the
    /// baseline's grid, moved halfway), registers them there, and writes the measures and maps
    /// (one `OutputTransaction`: all or none). `progress` hears a line per phase.
    ///
    /// ```swift
    /// let summary = try LongitudinalChange.run(request, prefix: "out/subject") { print($0) }
    /// ```
    public static func run(_ request: LongitudinalRequest, prefix: String,
                           progress: (@Sendable (String) -> Void)? = nil) throws -> LongitudinalSummary {
        guard let deformable = request.plan.deformable else {
            throw RegError.invalidArgument(name: "plan", reason: "longitudinal needs a deformable stage (e.g. --preset syn) to measure change")
        }
        try request.plan.validate()
        let inputs = [request.baseline, request.followup, request.mask, request.labels, request.lut].compactMap { $0 }
        for path in inputs where !FileManager.default.fileExists(atPath: path) {
            throw RegError.unreadableFile(path: path, reason: "no such file")
        }
        var clock = PhaseClock()
        let baseline = try RegistrationInputs.scalarImage(request.baseline)
        let followup = try RegistrationInputs.scalarImage(request.followup)
        let (bg, fg) = (baseline.geometry, followup.geometry)
        let planar = { (g: Geometry) in g.dimension == 2 || PlaneFrame.isOneSliceVolume(g) }
        guard planar(bg) == planar(fg) else {
            throw RegError.geometryMismatch("the baseline \(request.baseline) is \(planar(bg) ? 2 : 3)-D (\(bg.brief)) but the follow-up \(request.followup) is \(planar(fg) ? 2 : 3)-D (\(fg.brief))")
        }
        let mask = try request.mask.map { try ImageFile.readMask($0, on: bg, role: "the baseline \(request.baseline)") }
        let labels = try request.labels.map { path -> Image<Int32> in
            let l = try ImageFile.readLabels(path)
            guard l.geometry.sameGrid(as: bg) else {
                throw RegError.geometryMismatch("the labels \(path) (\(l.geometry.brief)) are not on the baseline \(request.baseline)'s grid (\(bg.brief)); carry them there first (swiftreg apply --interp label)")
            }
            return l
        }
        let table = try request.lut.map { try LabelTable(parsing: try TextFile.read($0), source: $0) }
        clock.end("read")

        progress?("aligning the follow-up to the baseline (\(request.allowScaling ? "similarity" : "rigid"))")
        let linear = try Registration(.preset(request.allowScaling ? "similarity" : "rigid")!).run(fixed: baseline, moving: followup)
        let motion = linear.affine
        guard let half = motion.squareRoot, let halfInverse = half.inverse else {
            throw RegError.invalidArgument(name: "rigid alignment", reason: "the motion found (\(motion)) has no halfway root: the scans are turned by half a turn or more")
        }
        clock.end("rigid")
        // The halfway space: the baseline's grid, each scan resampled once by half the motion.
        let baselineHalf = try Resampler.resample(baseline, onto: bg, mapping: PointMapping(halfInverse))
        let followupHalf = try Resampler.resample(followup, onto: bg, mapping: PointMapping(half))
        let region = try mask.map { try Resampler.resample($0, onto: bg, mapping: PointMapping(halfInverse), interpolation: .nearest) }
            ?? thresholdMask(baselineHalf)
        // Only where both scans hold data: a region cut by either field of view would show change at the cut.
        let seen = commonFieldOfView(bg, baseline: (bg, halfInverse), followup: (fg, half))
        let maskHalf = try Image<UInt8>(geometry: bg, voxels: zip(region.voxels, seen).map { $0 != 0 && $1 ? 1 : 0 })
        let outsideView = region.voxels.indices.filter { region.voxels[$0] != 0 && !seen[$0] }.count
        let labelsHalf = try labels.map { try Resampler.resample($0, onto: bg, mapping: PointMapping(halfInverse), interpolation: .label) }
        clock.end("halfway")

        progress?("registering in the halfway space (\(deformable.name))")
        var plan = request.plan
        plan.linear = []
        // The deformable stage looks at the region and about 4 mm around it: what lies beyond (background
        // noise, the neck) would only pull the warp at the region's edge.
        let registration = try Registration(plan).run(fixed: baselineHalf, moving: followupHalf, masks: RegistrationMasks(fixed: grown(maskHalf)))
        guard let warp = registration.deformable?.forward, let detJ = registration.jacobian else {
            throw RegError.invalidArgument(name: "plan", reason: "the deformable stage returned no warp")
        }
        clock.end("deformable")

        let jacobianChange = try VolumeChange(determinant: detJ, mask: maskHalf)
        let shift = try BoundaryShift(baseline: baselineHalf, followup: followupHalf, mask: maskHalf)
        let perLabel = try labelsHalf.map { try VolumeChange.perLabel(determinant: detJ, labels: $0) } ?? [:]
        // log det J, 0 where the warp folds (the summary counts those voxels).
        let logJ = try Image<Float>(geometry: bg, voxels: detJ.voxels.map { $0 > 0 ? Foundation.log($0) : 0 })
        let logJBaseline = try Resampler.resample(logJ, onto: bg, mapping: PointMapping(half))
        clock.end("measures")

        let angle = Foundation.acos(max(-1, min(1, (motion.matrix[0, 0] + motion.matrix[1, 1] + motion.matrix[2, 2] - 1) / 2)))
        let center = bg.physicalPoint(ofIndex: (SIMD3<Double>(bg.size) - 1) * 0.5)
        var summary = LongitudinalSummary(
            baseline: request.baseline, followup: request.followup, mask: request.mask,
            percentVolumeChange: jacobianChange.percentVolumeChange, boundaryShiftPercentVolumeChange: shift.percentVolumeChange,
            jacobianIntegration: jacobianChange, boundaryShift: shift,
            labels: perLabel.keys.sorted().map { LongitudinalSummary.LabelChange(label: Int($0), name: table?.names[Int($0)], change: perLabel[$0]!) },
            rigidMatrix: motion.matrix.rowMajor, rigidTranslation: [motion.translation.x, motion.translation.y, motion.translation.z],
            rotationDegrees: angle * 180 / .pi, translationMillimetres: (motion.apply(center) - center).length,
            halfwayMatrix: half.matrix.rowMajor, halfwayTranslation: [half.translation.x, half.translation.y, half.translation.z],
            jacobian: JacobianStatistics(determinant: detJ), jacobianInsideMask: JacobianStatistics(determinant: detJ, mask: maskHalf),
            deformableCorrelationBefore: registration.summary.correlationBefore,
            deformableCorrelationAfter: registration.summary.correlationAfter, voxelsOutsideFieldOfView: outsideView)

        let outputs = outputs(prefix: prefix, labels: labels != nil)
        return try OutputTransaction.run(outputs: outputs, inputs: inputs) { transaction in
            let dimension = planar(bg) ? 2 : 3
            try ImageFile.write(baselineHalf, to: prefix + "_halfway_baseline.nii.gz")
            try ImageFile.write(followupHalf, to: prefix + "_halfway_followup.nii.gz")
            try ImageFile.write(maskHalf, to: prefix + "_halfway_mask.nii.gz")
            try TransformFile.write([LinearTransformRecord(map: motion, dimension: dimension)], to: prefix + "_rigid.txt")
            try TransformFile.write([LinearTransformRecord(map: half, dimension: dimension)], to: prefix + "_halfway.txt")
            try TransformFile.writeDisplacementField(warp.field, to: prefix + "_warp.nii.gz")
            try ImageFile.write(logJ, to: prefix + "_logjacobian.nii.gz")
            try ImageFile.write(logJBaseline, to: prefix + "_logjacobian_baseline.nii.gz")
            if labels != nil {
                let unit = dimension == 2 ? "mm2" : "mm3"
                var csv = "label,name,baseline_\(unit),followup_\(unit),percent_change\n"
                for l in summary.labels {
                    csv += "\(l.label),\(AtlasSegmentation.csvField(l.name ?? "")),\(String(format: "%.3f", l.change.baselineVolume)),"
                        + "\(String(format: "%.3f", l.change.followupVolume)),\(String(format: "%.4f", l.change.percentVolumeChange))\n"
                }
                try TextFile.write(csv, to: prefix + "_change.csv")
            }
            clock.end("writing")
            try TextFile.write(try report(summary, baseline: baselineHalf, followup: followupHalf, warped: registration.warped,
                                          determinant: detJ, mask: maskHalf, phases: clock.phases), to: prefix + "_report.html")
            summary.phases = clock.phases
            summary.run = transaction.record(of: outputs)
            try TextFile.write(try JSONText.encode(summary), to: prefix + "_summary.json")
            return summary
        }
    }

    /// Whether each voxel of `grid` maps, through each scan's map, to at least 2 voxels inside that
    /// scan's grid (in-plane only for a 2-D grid).
    static func commonFieldOfView(_ grid: Geometry, baseline: (Geometry, AffineMap), followup: (Geometry, AffineMap)) -> [Bool] {
        var seen = [Bool](repeating: true, count: grid.voxelCount)
        for (scan, map) in [baseline, followup] {
            let margin = 2.0
            for z in 0..<grid.size.z { for y in 0..<grid.size.y { for x in 0..<grid.size.x {
                let i = grid.offset(x, y, z)
                guard seen[i] else { continue }
                let p = scan.continuousIndex(ofPhysicalPoint: map.apply(grid.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))))
                for axis in 0..<3 where scan.size[axis] > 1 && (p[axis] < margin || p[axis] > Double(scan.size[axis] - 1) - margin) {
                    seen[i] = false
                }
            } } }
        }
        return seen
    }

    /// The mask grown by about 4 mm (its Gaussian blur of σ 2 mm above 0.02).
    static func grown(_ mask: Image<UInt8>) throws -> Image<UInt8> {
        let blurred = GaussianSmoothing.smooth(mask.converted(to: Float.self), sigma: .mm(2))
        return try Image<UInt8>(geometry: mask.geometry, voxels: blurred.voxels.map { $0 > 0.02 ? 1 : 0 })
    }

    /// The voxels above a tenth of the image's 99th percentile: a brain in a skull-stripped scan.
    static func thresholdMask(_ image: Image<Float>) throws -> Image<UInt8> {
        let sorted = image.voxels.filter { $0.isFinite }.sorted()
        let high = sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(0.99 * Double(sorted.count)))]
        let mask = try Image<UInt8>(geometry: image.geometry, voxels: image.voxels.map { $0 > 0.1 * high && high > 0 ? 1 : 0 })
        guard mask.voxels.contains(where: { $0 != 0 }) else {
            throw RegError.invalidArgument(name: "mask", reason: "the baseline has no voxel above a tenth of its 99th percentile; give --mask")
        }
        return mask
    }

    /// The QC page: both halfway scans, their difference before and after the deformable stage,
    /// and log det J over the baseline inside the mask, in three planes; the measures and phases.
    static func report(_ s: LongitudinalSummary, baseline: Image<Float>, followup: Image<Float>, warped: Image<Float>,
                       determinant: Image<Float>, mask: Image<UInt8>, phases: [SegmentationSummary.Phase]) throws -> String {
        var page = HTMLReport(title: "Change from \(URL(fileURLWithPath: s.baseline).lastPathComponent) to \(URL(fileURLWithPath: s.followup).lastPathComponent)")
        page.facts = [("baseline", s.baseline), ("follow-up", s.followup), ("region", s.mask ?? "threshold mask"),
                      ("percent volume change (det J)", String(format: "%.3f %%", s.percentVolumeChange)),
                      ("percent volume change (boundary shift)", String(format: "%.3f %%", s.boundaryShiftPercentVolumeChange)),
                      ("rigid motion", String(format: "%.2f°, %.2f mm", s.rotationDegrees, s.translationMillimetres)),
                      ("region voxels outside a field of view", "\(s.voxelsOutsideFieldOfView)")]
        let window = IntensityWindow(baseline), maskFloat = mask.converted(to: Float.self)
        page.figures = try SlicePlane.middle(of: baseline.geometry).map { plane in
            let b = try plane.sample(baseline), f = try plane.sample(followup), w = try plane.sample(warped)
            var overlay = Picture(grey: b, window: window)
            overlay.overlayJacobian(try plane.sample(determinant), inside: try plane.sample(maskFloat, interpolation: .nearest))
            let panels = [("baseline (halfway)", Picture(grey: b, window: window)), ("follow-up (halfway)", Picture(grey: f, window: window)),
                          ("|difference| rigid", Picture.difference(b, window, f, window)),
                          ("|difference| deformed", Picture.difference(b, window, w, window)),
                          ("log det J (blue shrinks, red grows)", overlay)]
            return FigureRow(title: plane.title, panels: try panels.map { FigureRow.Panel(title: $0.0, png: try $0.1.png()) })
        }
        page.jacobian = s.jacobianInsideMask
        let unit = baseline.geometry.dimension == 2 ? "mm²" : "mm³"
        page.tables.append(("Region", [["estimate", "baseline \(unit)", "follow-up \(unit)", "change %"],
                                       ["det J", String(format: "%.1f", s.jacobianIntegration.baselineVolume),
                                        String(format: "%.1f", s.jacobianIntegration.followupVolume), String(format: "%.3f", s.percentVolumeChange)],
                                       ["boundary shift", String(format: "%.1f", s.boundaryShift.volume),
                                        String(format: "%.1f", s.boundaryShift.volume * (1 + s.boundaryShiftPercentVolumeChange / 100)),
                                        String(format: "%.3f", s.boundaryShiftPercentVolumeChange)]]))
        if !s.labels.isEmpty {
            page.tables.append(("Labels", [["label", "name", "baseline \(unit)", "follow-up \(unit)", "change %"]] + s.labels.map {
                ["\($0.label)", $0.name ?? "", String(format: "%.1f", $0.change.baselineVolume), String(format: "%.1f", $0.change.followupVolume),
                 String(format: "%.3f", $0.change.percentVolumeChange)]
            }))
        }
        page.tables.append(("Phases", [["phase", "seconds"]] + phases.map { [$0.name, String(format: "%.2f", $0.seconds)] }))
        return page.html
    }
}
