import Foundation
import RegAnalysis
import RegCore
import RegIO
import RegKernels
import RegMethods
import RegReport
import RegTransforms

/// The maps of one subject in atlas space: log det J of the warp that registers the atlas to the
/// subject, and the residual |subject − warped atlas| (both clamped to their 1st and 99th percentiles and scaled to 0…1),
/// each carried back onto the atlas's grid and smoothed.
struct AtlasSpaceMaps {
    var logJacobian: Image<Float>
    var residual: Image<Float>
    var registration: RegistrationResult

    init(atlas: Image<Float>, subject: Image<Float>, plan: RegistrationPlan, smoothing: Double) throws {
        let result = try Registration(plan).run(fixed: subject, moving: atlas)
        guard let detJ = result.jacobian else {
            throw RegError.invalidArgument(name: "plan", reason: "abnormality detection needs a deformable stage (e.g. --preset syn)")
        }
        guard let back = result.inverseChain else {
            throw RegError.invalidArgument(name: "registration", reason: "the affine map found is singular")
        }
        let sg = subject.geometry
        let logJ = try Image<Float>(geometry: sg, voxels: detJ.voxels.map { $0 > 0 ? Foundation.log($0) : 0 })
        // Beyond the 1st and 99th percentiles (vessels, fat, remnants of the skull) an intensity counts as
        // no brighter or darker than the extremes of the tissue, so it cannot outweigh a change in tissue.
        let (s, w) = (UnitRange.scaled(subject, percentiles: 0.01...0.99), UnitRange.scaled(result.warped, percentiles: 0.01...0.99))
        let difference = try Image<Float>(geometry: sg, voxels: zip(s.voxels, w.voxels).map { abs($0 - $1) })
        let toAtlas = back.mapping(onto: atlas.geometry)
        func carried(_ map: Image<Float>) throws -> Image<Float> {
            let onAtlas = try Resampler.resample(map, onto: atlas.geometry, mapping: toAtlas)
            return smoothing > 0 ? GaussianSmoothing.smooth(onAtlas, sigma: .mm(smoothing)) : onAtlas
        }
        logJacobian = try carried(logJ)
        residual = try carried(difference)
        registration = result
    }
}

/// What `swiftreg normative build` stores as `NORMDIR/model.json`, beside the mean and standard
/// deviation maps of log det J and of the residual on the atlas's grid.
public struct NormativeModel: Sendable, Codable {
    public var atlas: String
    public var atlasGeometry: Geometry
    /// FNV-1a of the atlas's voxel values: a model is used only with the atlas it was built on.
    public var atlasChecksum: String
    public var healthy: [String]
    public var plan: RegistrationPlan
    /// Gaussian smoothing of every map before the statistics, mm.
    public var smoothing: Double
    /// The least standard deviation used in a z-score: half the median within the atlas's foreground.
    public var logJacobianFloor: Float
    public var residualFloor: Float
    public var run: RunRecord?

    /// Gaussian σ of the maps, mm: FWHM 9.4 mm, about the diameter of the smallest lesions the
    /// model is for (radius 5 mm), so a lesion's maps peak inside it and noise averages out.
    public static let defaultSmoothing = 4.0

    public static let files = ["logjacobian_mean.nii.gz", "logjacobian_sd.nii.gz", "residual_mean.nii.gz", "residual_sd.nii.gz", "model.json"]

    /// Registers the atlas to every healthy subject and stores the voxel-wise statistics of their
    /// maps in `folder` (one `OutputTransaction`). `progress` hears a line per subject.
    ///
    /// ```swift
    /// let model = try NormativeModel.build(atlas: "atlas.nii.gz", healthy: ["h1.nii.gz", "h2.nii.gz", "h3.nii.gz"],
    ///                                      folder: "norm")
    /// ```
    public static func build(atlas atlasPath: String, healthy: [String], folder: String, plan: RegistrationPlan = .preset("syn")!,
                             smoothing: Double = defaultSmoothing, progress: (@Sendable (String) -> Void)? = nil) throws -> NormativeModel {
        guard healthy.count >= 3 else {
            throw RegError.invalidArgument(name: "--healthy", reason: "a normative model needs at least 3 healthy subjects, found \(healthy.count)")
        }
        guard smoothing >= 0, smoothing <= 20 else { throw RegError.invalidArgument(name: "--smoothing", reason: "takes 0–20 mm, found \(smoothing)") }
        try plan.validate()
        for path in [atlasPath] + healthy where !FileManager.default.fileExists(atPath: path) {
            throw RegError.unreadableFile(path: path, reason: "no such file")
        }
        let atlas = try RegistrationInputs.scalarImage(atlasPath)
        var logJ = VoxelStatistics(geometry: atlas.geometry), residual = VoxelStatistics(geometry: atlas.geometry)
        for (k, path) in healthy.enumerated() {
            let subject = try RegistrationInputs.scalarImage(path)
            let maps = try AtlasSpaceMaps(atlas: atlas, subject: subject, plan: plan, smoothing: smoothing)
            try logJ.add(maps.logJacobian)
            try residual.add(maps.residual)
            progress?(String(format: "healthy %d/%d %@: registered in %.1f s, correlation %.3f", k + 1, healthy.count,
                             path, maps.registration.seconds, maps.registration.summary.correlationAfter))
        }
        let foreground = try LongitudinalChange.thresholdMask(atlas)
        let smoothSD = { (sd: Image<Float>) in smoothing > 0 ? GaussianSmoothing.smooth(sd, sigma: .mm(2 * smoothing)) : sd }
        let (logJSD, residualSD) = (smoothSD(logJ.standardDeviation), smoothSD(residual.standardDeviation))
        var model = NormativeModel(atlas: atlasPath, atlasGeometry: atlas.geometry, atlasChecksum: checksum(atlas), healthy: healthy,
                                   plan: plan, smoothing: smoothing,
                                   logJacobianFloor: halfMedian(logJSD, inside: foreground), residualFloor: halfMedian(residualSD, inside: foreground))
        let outputs = files.map { folder + "/" + $0 }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return try OutputTransaction.run(outputs: outputs, inputs: [atlasPath] + healthy) { transaction in
            try ImageFile.write(logJ.mean, to: folder + "/logjacobian_mean.nii.gz")
            try ImageFile.write(logJSD, to: folder + "/logjacobian_sd.nii.gz")
            try ImageFile.write(residual.mean, to: folder + "/residual_mean.nii.gz")
            try ImageFile.write(residualSD, to: folder + "/residual_sd.nii.gz")
            model.run = transaction.record(of: outputs)
            try TextFile.write(try JSONText.encode(model), to: folder + "/model.json")
            return model
        }
    }

    /// Reads a model folder and checks that `atlas` (the image about to be used) is the one it was built on.
    static func read(_ folder: String, atlas: Image<Float>, atlasPath: String) throws -> (NormativeModel, [Image<Float>]) {
        let modelPath = folder + "/model.json"
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw RegError.unreadableFile(path: modelPath, reason: "no such file: \(folder) is not a normative model folder (swiftreg normative build writes one)")
        }
        let model = try JSONDecoder().decode(NormativeModel.self, from: Data(TextFile.read(modelPath).utf8))
        guard atlas.geometry.sameGrid(as: model.atlasGeometry), checksum(atlas) == model.atlasChecksum else {
            throw RegError.geometryMismatch("the normative model \(folder) was built with the atlas \(model.atlas) (\(model.atlasGeometry.brief)), not \(atlasPath) (\(atlas.geometry.brief)); build a model with this atlas")
        }
        let maps = try files.dropLast().map { name -> Image<Float> in
            let map = try RegistrationInputs.scalarImage(folder + "/" + name)
            guard map.geometry.sameGrid(as: model.atlasGeometry) else {
                throw RegError.geometryMismatch("\(folder)/\(name) (\(map.geometry.brief)) is not on the model's atlas grid (\(model.atlasGeometry.brief))")
            }
            return map
        }
        return (model, maps)
    }

    static func checksum(_ image: Image<Float>) -> String {
        var hash: UInt64 = 0xcbf29ce484222325
        for v in image.voxels {
            var bits = v.bitPattern
            for _ in 0..<4 {
                hash = (hash ^ UInt64(bits & 0xff)) &* 0x100000001b3
                bits >>= 8
            }
        }
        return String(hash, radix: 16)
    }

    static func halfMedian(_ image: Image<Float>, inside mask: Image<UInt8>) -> Float {
        let values = zip(image.voxels, mask.voxels).compactMap { $1 != 0 ? $0 : nil }.sorted()
        return max(values.isEmpty ? 1e-6 : 0.5 * values[values.count / 2], 1e-6)
    }
}

/// What `swiftreg abnormality` does: register the model's atlas to a subject, carry log det J
/// and the residual into atlas space, and score them against the normative model.
///
/// ```swift
/// var request = AbnormalityRequest(subject: "patient.nii.gz", atlas: "atlas.nii.gz", normative: "norm")
/// request.atlasLabels = "atlas_labels.nii.gz"
/// let summary = try AbnormalityDetection.run(request, prefix: "out/patient")
/// for c in summary.atlasClusters.clusters { print(c.volume, c.peak, c.labelAtPeak ?? 0) }
/// ```
public struct AbnormalityRequest: Sendable {
    public var subject: String
    public var atlas: String
    public var normative: String
    public var atlasLabels: String?
    /// |z| above which voxels join a cluster, and the fewest voxels a reported cluster has.
    public var threshold = 3.0
    public var minimumVoxels = 20

    public init(subject: String, atlas: String, normative: String) {
        self.subject = subject
        self.atlas = atlas
        self.normative = normative
    }
}

/// What `abnormality` writes as `PREFIX_summary.json`.
public struct AbnormalitySummary: Sendable, Codable {
    public var subject: String
    public var atlas: String
    public var normative: String
    /// Clusters of the combined z-map (`VoxelStatistics.combinedZScore`: the evidence of |z log det J|
    /// and of a raised residual z together), in atlas and in subject space.
    public var atlasClusters: ClusterTable
    public var subjectClusters: ClusterTable
    public var correlationAfter: Double
    public var phases: [SegmentationSummary.Phase] = []
    public var run: RunRecord?
}

/// `swiftreg abnormality` as a library call.
public enum AbnormalityDetection {
    /// The files a run writes under `prefix`.
    ///
    /// ```swift
    /// let files = AbnormalityDetection.outputs(prefix: "out/patient")
    /// ```
    public static func outputs(prefix: String) -> [String] {
        ["_z_logjacobian.nii.gz", "_z_residual.nii.gz", "_z_combined.nii.gz", "_z_logjacobian_subject.nii.gz",
         "_z_residual_subject.nii.gz", "_z_combined_subject.nii.gz", "_clusters.csv", "_report.html", "_summary.json"].map { prefix + $0 }
    }

    /// Scores a subject against a normative model and writes z-maps in atlas and subject space,
    /// the cluster tables, the QC page and the summary (one `OutputTransaction`).
    public static func run(_ request: AbnormalityRequest, prefix: String,
                           progress: (@Sendable (String) -> Void)? = nil) throws -> AbnormalitySummary {
        let inputs = [request.subject, request.atlas, request.atlasLabels].compactMap { $0 }
        for path in inputs where !FileManager.default.fileExists(atPath: path) {
            throw RegError.unreadableFile(path: path, reason: "no such file")
        }
        guard request.threshold > 0, request.threshold.isFinite, request.minimumVoxels >= 0 else {
            throw RegError.invalidArgument(name: "clusters", reason: "need a threshold > 0 and a voxel count ≥ 0, found \(request.threshold) and \(request.minimumVoxels)")
        }
        var clock = PhaseClock()
        let atlas = try RegistrationInputs.scalarImage(request.atlas)
        let (model, maps) = try NormativeModel.read(request.normative, atlas: atlas, atlasPath: request.atlas)
        let subject = try RegistrationInputs.scalarImage(request.subject)
        let labels = try request.atlasLabels.map { path -> Image<Int32> in
            let l = try ImageFile.readLabels(path)
            guard l.geometry.sameGrid(as: atlas.geometry) else {
                throw RegError.geometryMismatch("the atlas labels \(path) (\(l.geometry.brief)) are not on the atlas \(request.atlas)'s grid (\(atlas.geometry.brief))")
            }
            return l
        }
        clock.end("read")
        progress?("registering the atlas to \(request.subject)")
        let found = try AtlasSpaceMaps(atlas: atlas, subject: subject, plan: model.plan, smoothing: model.smoothing)
        clock.end("registration")
        let n = model.healthy.count
        let zJ = try VoxelStatistics.predictionZScore(found.logJacobian, mean: maps[0], standardDeviation: maps[1], count: n, floor: model.logJacobianFloor)
        let zR = try VoxelStatistics.predictionZScore(found.residual, mean: maps[2], standardDeviation: maps[3], count: n, floor: model.residualFloor)
        let combined = try VoxelStatistics.combinedZScore(twoSided: zJ, oneSided: zR)
        let toSubject = found.registration.chain.mapping(onto: subject.geometry)
        let onSubject = try [zJ, zR, combined].map { try Resampler.resample($0, onto: subject.geometry, mapping: toSubject) }
        let atlasClusters = try ClusterTable(combined, threshold: request.threshold, minimumVoxels: request.minimumVoxels, labels: labels)
        let subjectLabels = try labels.map { try Resampler.resample($0, onto: subject.geometry, mapping: toSubject, interpolation: .label) }
        let subjectClusters = try ClusterTable(onSubject[2], threshold: request.threshold, minimumVoxels: request.minimumVoxels, labels: subjectLabels)
        clock.end("scores")
        var summary = AbnormalitySummary(subject: request.subject, atlas: request.atlas, normative: request.normative,
                                         atlasClusters: atlasClusters, subjectClusters: subjectClusters,
                                         correlationAfter: found.registration.summary.correlationAfter)
        let outputs = outputs(prefix: prefix)
        return try OutputTransaction.run(outputs: outputs, inputs: inputs + NormativeModel.files.map { request.normative + "/" + $0 }) { transaction in
            for (map, name) in zip([zJ, zR, combined] + onSubject, ["logjacobian", "residual", "combined", "logjacobian_subject", "residual_subject", "combined_subject"]) {
                try ImageFile.write(map, to: prefix + "_z_\(name).nii.gz")
            }
            var csv = "space,cluster,voxels,volume_mm3,peak_z,peak_L,peak_P,peak_S,centre_L,centre_P,centre_S,label_at_peak\n"
            for (space, table) in [("atlas", atlasClusters), ("subject", subjectClusters)] {
                for (k, c) in table.clusters.enumerated() {
                    let numbers = [c.volume, c.peak] + c.peakPoint + c.centre
                    csv += "\(space),\(k + 1),\(c.voxels)," + numbers.map { String(format: "%.2f", $0) }.joined(separator: ",")
                        + ",\(c.labelAtPeak.map(String.init) ?? "")\n"
                }
            }
            try TextFile.write(csv, to: prefix + "_clusters.csv")
            clock.end("writing")
            try TextFile.write(try report(summary, subject: subject, combined: onSubject[2], phases: clock.phases), to: prefix + "_report.html")
            summary.phases = clock.phases
            summary.run = transaction.record(of: outputs)
            try TextFile.write(try JSONText.encode(summary), to: prefix + "_summary.json")
            return summary
        }
    }

    /// The QC page: the subject with the combined z-map over it (|z| above the threshold), in
    /// three planes, and the cluster table in subject space.
    static func report(_ s: AbnormalitySummary, subject: Image<Float>, combined: Image<Float>, phases: [SegmentationSummary.Phase]) throws -> String {
        var page = HTMLReport(title: "Abnormality of \(URL(fileURLWithPath: s.subject).lastPathComponent)")
        page.facts = [("subject", s.subject), ("atlas", s.atlas), ("normative model", s.normative),
                      ("clusters (subject space)", "\(s.subjectClusters.clusters.count) above z \(s.subjectClusters.threshold)")]
        let window = IntensityWindow(subject)
        page.figures = try SlicePlane.middle(of: subject.geometry).map { plane in
            let t = try plane.sample(subject), z = try plane.sample(combined)
            var overlay = Picture(grey: t, window: window)
            overlay.overlayHeat(z, from: Float(s.subjectClusters.threshold), to: Float(2 * s.subjectClusters.threshold))
            return FigureRow(title: plane.title, panels: [FigureRow.Panel(title: "subject", png: try Picture(grey: t, window: window).png()),
                                                          FigureRow.Panel(title: "combined z (threshold to twice it)", png: try overlay.png())])
        }
        page.tables.append(("Clusters (subject space, LPS mm)", [["#", "voxels", "mm³", "peak z", "peak", "label"]] + s.subjectClusters.clusters.enumerated().map { k, c in
            ["\(k + 1)", "\(c.voxels)", String(format: "%.0f", c.volume), String(format: "%.2f", c.peak),
             c.peakPoint.map { String(format: "%.1f", $0) }.joined(separator: ", "), c.labelAtPeak.map(String.init) ?? ""]
        }))
        page.tables.append(("Phases", [["phase", "seconds"]] + phases.map { [$0.name, String(format: "%.2f", $0.seconds)] }))
        return page.html
    }
}
