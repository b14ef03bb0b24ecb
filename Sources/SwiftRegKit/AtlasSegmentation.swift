import Foundation
import RegAnalysis
import RegCore
import RegIO
import RegKernels
import RegMethods
import RegSegment
import RegTransforms

/// One labelled atlas: an intensity image and its label map on the same grid.
public struct AtlasFiles: Sendable, Codable, Equatable {
    public var image: String
    public var labels: String

    public init(image: String, labels: String) {
        self.image = image
        self.labels = labels
    }

    /// The atlases a CSV file lists, one `image,labels` pair per line (a header line and `#`
    /// comments allowed; relative paths are relative to the list's folder).
    ///
    /// ```swift
    /// let atlases = try AtlasFiles.list("atlases.csv")
    /// ```
    /// - Throws: `RegError.invalidHeader` naming the list and line of a malformed entry or a
    ///   path that does not exist.
    public static func list(_ path: String) throws -> [AtlasFiles] {
        let text = try TextFile.read(path)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var atlases: [AtlasFiles] = []
        for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = (raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty else { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if n == 0, fields.first?.lowercased() == "image" { continue }
            guard fields.count == 2, !fields[0].isEmpty, !fields[1].isEmpty else {
                throw RegError.invalidHeader(path: path, field: "line \(n + 1)", reason: "expected 'image,labels', found '\(line)'")
            }
            let resolved = fields.map { $0.hasPrefix("/") ? $0 : folder + "/" + $0 }
            for file in resolved where !FileManager.default.fileExists(atPath: file) {
                throw RegError.invalidHeader(path: path, field: "line \(n + 1)", reason: "\(file) does not exist")
            }
            atlases.append(AtlasFiles(image: resolved[0], labels: resolved[1]))
        }
        guard !atlases.isEmpty else { throw RegError.invalidHeader(path: path, field: "contents", reason: "lists no atlases") }
        return atlases
    }
}

/// How atlases are ranked for `--select`: similarity to the target after the linear stages,
/// over the target's head mask.
///
/// ```swift
/// request.select = 5
/// request.selectionMetric = .nmi
/// ```
public enum SelectionMetric: String, Sendable, Codable, CaseIterable {
    /// Normalised cross-correlation.
    case ncc
    /// Normalised mutual information (Studholme), 32 bins.
    case nmi
}

/// What `swiftreg segment` does: register every atlas to the target with one plan, optionally
/// keep the most similar ones, warp their labels and fuse them.
///
/// ```swift
/// var request = SegmentationRequest(target: "subject.nii.gz",
///                                   atlases: try AtlasFiles.list("atlases.csv"), plan: .preset("syn")!)
/// request.fusion = LabelFusion(method: .jlf)
/// let summary = try AtlasSegmentation.segment(request, prefix: "out/subject")
/// print(summary.volumes.map { ($0.label, $0.volume) })
/// ```
public struct SegmentationRequest: Sendable {
    public var target: String
    public var atlases: [AtlasFiles]
    /// The registration plan (its inputs are set per atlas).
    public var plan: RegistrationPlan
    public var fusion = LabelFusion()
    /// Keep this many atlases (the most similar after the linear stages); nil keeps all.
    public var select: Int?
    public var selectionMetric = SelectionMetric.ncc
    /// A mask on the target grid to fuse inside; nil: the atlases' foreground, grown.
    public var mask: String?
    /// Label names (FreeSurfer LUT, ITK-SNAP label file or `id,name` CSV).
    public var lut: String?
    /// Keep each atlas's registration as `PREFIX_atlasNN_*` files, and reuse them when they are
    /// already there for the same target, atlas and plan.
    public var keepWarps = false
    /// Write each label's probability as `PREFIX_posterior_LABEL.nii.gz` instead of one 4-D file.
    public var posteriorsPerLabel = false
    /// Registrations run at once (nil: as the cores and memory allow).
    public var concurrentRegistrations: Int?

    public init(target: String, atlases: [AtlasFiles], plan: RegistrationPlan) {
        self.target = target
        self.atlases = atlases
        self.plan = plan
    }

    /// The plan `segment` registers atlases with for a preset: for joint label fusion with a
    /// search window, the preset with its deformable stage's finest level left out, unless
    /// `finestLevel`; for the other fusions, which take each atlas's labels where they fall, the
    /// whole preset. Joint label fusion lets each atlas patch move by up to `searchRadius` voxels
    /// to its best match, which takes up what the finest level would fix, and that level is half
    /// of a full-resolution registration's time (ANTs' quick SyN, which `antsJointLabelFusion.sh`
    /// offers, leaves it out too). nil for an unknown preset.
    ///
    /// ```swift
    /// let plan = SegmentationRequest.plan(preset: "syn", fusion: LabelFusion(method: .jlf))!   // SyN at shrink 4 and 2
    /// ```
    public static func plan(preset name: String, fusion: LabelFusion, finestLevel: Bool = false) -> RegistrationPlan? {
        guard let plan = RegistrationPlan.preset(name) else { return nil }
        let searches = fusion.method == .jlf && fusion.searchRadius > 0
        return finestLevel || !searches ? plan : plan.withoutFinestDeformableLevel
    }
}

/// What `segment` and `fuse` write as `PREFIX_summary.json`.
///
/// ```swift
/// let summary = try AtlasSegmentation.segment(request, prefix: "out/subject")
/// for v in summary.volumes { print(v.label, v.name ?? "", v.volume) }
/// ```
public struct SegmentationSummary: Sendable, Codable {
    public struct Atlas: Sendable, Codable {
        public var image: String
        public var labels: String
        /// Similarity to the target after the linear stages (with `--select`).
        public var score: Double?
        public var selected: Bool
        /// Its registration was read from kept files instead of run.
        public var reused: Bool = false
        public var registrationSeconds: Double?
        /// Pearson correlation of the target and the warped atlas image.
        public var correlationAfter: Double?
    }
    public struct Phase: Sendable, Codable {
        public var name: String
        public var seconds: Double
    }
    public struct Volume: Sendable, Codable, Equatable {
        public var label: Int
        public var name: String?
        public var voxels: Int
        /// mm³ (mm² on a 2-D grid).
        public var volume: Double
    }
    public var target: String
    public var atlases: [Atlas] = []
    public var fusion: FusionMethod
    public var patchRadius: Int?, searchRadius: Int?, alpha: Double?, beta: Double?, nonNegative: Bool?
    public var selectionMetric: SelectionMetric?
    public var phases: [Phase] = []
    /// The label of each volume of `PREFIX_posteriors.nii.gz`, in order.
    public var posteriorLabels: [Int] = []
    public var volumes: [Volume] = []
    public var run: RunRecord?
}

/// `swiftreg segment` and `swiftreg fuse` as library calls.
public enum AtlasSegmentation {
    /// The files a run writes under `prefix` (with `labels`, the per-label posterior files).
    ///
    /// ```swift
    /// let files = AtlasSegmentation.outputs(prefix: "out/subject")   // out/subject_labels.nii.gz, …
    /// ```
    public static func outputs(prefix: String, labels: [Int32]? = nil, posteriorsPerLabel: Bool = false) -> [String] {
        var names = ["_labels.nii.gz", "_confidence.nii.gz", "_volumes.csv", "_report.html", "_summary.json"].map { prefix + $0 }
        if !posteriorsPerLabel { names.append(prefix + "_posteriors.nii.gz") }
        if posteriorsPerLabel, let labels { names += labels.map { prefix + "_posterior_\($0).nii.gz" } }
        return names
    }

    /// Registers every atlas to the target, keeps the `select` most similar, warps their labels,
    /// fuses them and writes the outputs (one `OutputTransaction`: all or none). `progress`
    /// hears a line per atlas and phase.
    ///
    /// ```swift
    /// let summary = try AtlasSegmentation.segment(request, prefix: "out/subject") { print($0) }
    /// ```
    public static func segment(_ request: SegmentationRequest, prefix: String,
                               progress: (@Sendable (String) -> Void)? = nil) throws -> SegmentationSummary {
        let atlases = request.atlases
        guard !atlases.isEmpty else { throw RegError.invalidArgument(name: "atlases", reason: "give at least one atlas (-a IMAGE LABELS or --atlases LIST)") }
        if let k = request.select, !(1...atlases.count).contains(k) {
            throw RegError.invalidArgument(name: "--select", reason: "keeps 1…\(atlases.count) of the \(atlases.count) atlases given, found \(k)")
        }
        try request.fusion.validate()
        try request.plan.validate()
        try OutputFolder.check(for: prefix + "_labels.nii.gz")   // before any image is read
        let inputs = [request.target, request.mask, request.lut].compactMap { $0 } + atlases.flatMap { [$0.image, $0.labels] }
        for path in inputs where !FileManager.default.fileExists(atPath: path) {
            throw RegError.unreadableFile(path: path, reason: "no such file")
        }
        var clock = PhaseClock()
        let target = try RegistrationInputs.scalarImage(request.target)
        // Every atlas checked before anything runs: its label map integral and on its image's grid.
        let labelValues = try checkedLabelValues(atlases, target: target, targetPath: request.target)
        let mask = try request.mask.map { try readMask($0, on: target.geometry) }
        let table = try request.lut.map { try LabelTable(parsing: try TextFile.read($0), source: $0) }
        clock.end("read")

        let outputs = outputs(prefix: prefix, labels: labelValues, posteriorsPerLabel: request.posteriorsPerLabel)
        let keptFiles = request.keepWarps
            ? atlases.indices.flatMap { RegistrationOutputs.paths(prefix: keptPrefix(prefix, $0), deformable: request.plan.deformable != nil) } : []
        return try OutputTransaction.run(outputs: outputs + keptFiles, inputs: inputs) { transaction in
            var summary = SegmentationSummary(target: request.target, fusion: request.fusion.method)
            summary.atlases = atlases.map { SegmentationSummary.Atlas(image: $0.image, labels: $0.labels, selected: true) }
            let runner = AtlasRegistrations(request: request, target: target, prefix: prefix, progress: progress)
            // Linear stages first when atlases are selected: rank, keep the best.
            var chosen = Array(atlases.indices)
            var linear: [Int: LinearRegistrationResult] = [:]
            if let k = request.select, k < atlases.count {
                let ranked = try runner.rank()
                for (i, score) in ranked.scores.enumerated() { summary.atlases[i].score = score }
                linear = ranked.linear
                chosen = ranked.scores.indices.sorted { (ranked.scores[$0], -$0) > (ranked.scores[$1], -$1) }.prefix(k).sorted()
                for i in atlases.indices { summary.atlases[i].selected = chosen.contains(i) }
                summary.selectionMetric = request.selectionMetric
                clock.end("selection")
                progress?("kept \(chosen.count) of \(atlases.count) atlases: " + chosen.map { "\($0 + 1)" }.joined(separator: ", "))
            }
            var stack = try AtlasStack(geometry: target.geometry, labelValues: labelValues)
            let warped = try runner.warp(chosen, linear: linear)
            for (i, atlas) in zip(chosen, warped) {
                try stack.append(labels: atlas.labels, image: request.fusion.needsIntensities ? atlas.image : nil, name: atlases[i].labels)
                summary.atlases[i].reused = atlas.reused
                summary.atlases[i].registrationSeconds = atlas.seconds
                summary.atlases[i].correlationAfter = atlas.correlation
            }
            clock.end("registration")
            progress?("fusing \(chosen.count) atlas\(chosen.count == 1 ? "" : "es") (\(request.fusion.method.rawValue))")
            let fused = try request.fusion.fuse(stack, target: request.fusion.needsIntensities ? target : nil, mask: mask)
            clock.end("fusion")
            try write(fused, target: target, table: table, request: request.fusion, perLabel: request.posteriorsPerLabel,
                      prefix: prefix, summary: &summary, clock: &clock, transaction: transaction, outputs: outputs)
            return summary
        }
    }

    /// `swiftreg fuse`: fusion alone, from atlas images and label maps already on the target's grid.
    ///
    /// ```swift
    /// let summary = try AtlasSegmentation.fuse(target: "subject.nii.gz",
    ///                                          atlases: [AtlasFiles(image: "warped1.nii.gz", labels: "labels1.nii.gz"),
    ///                                                    AtlasFiles(image: "warped2.nii.gz", labels: "labels2.nii.gz")],
    ///                                          fusion: LabelFusion(method: .jlf), prefix: "out/fused")
    /// ```
    public static func fuse(target targetPath: String, atlases: [AtlasFiles], fusion: LabelFusion, mask maskPath: String? = nil,
                            lut: String? = nil, posteriorsPerLabel: Bool = false, prefix: String) throws -> SegmentationSummary {
        guard !atlases.isEmpty else { throw RegError.invalidArgument(name: "atlases", reason: "give at least one atlas (-a IMAGE LABELS or --atlases LIST)") }
        try fusion.validate()
        try OutputFolder.check(for: prefix + "_labels.nii.gz")   // before any image is read
        var clock = PhaseClock()
        let target = try RegistrationInputs.scalarImage(targetPath)
        let labelValues = try checkedLabelValues(atlases, target: target, targetPath: targetPath, onTargetGrid: true)
        let mask = try maskPath.map { try readMask($0, on: target.geometry) }
        let table = try lut.map { try LabelTable(parsing: try TextFile.read($0), source: $0) }
        var stack = try AtlasStack(geometry: target.geometry, labelValues: labelValues)
        for atlas in atlases {
            let labels = try ImageFile.read(atlas.labels).image.labelImage()
            let image = fusion.needsIntensities ? try RegistrationInputs.scalarImage(atlas.image) : nil
            try stack.append(labels: labels, image: image, name: atlas.labels)
        }
        clock.end("read")
        let outputs = outputs(prefix: prefix, labels: labelValues, posteriorsPerLabel: posteriorsPerLabel)
        let inputs = [targetPath, maskPath, lut].compactMap { $0 } + atlases.flatMap { [$0.image, $0.labels] }
        return try OutputTransaction.run(outputs: outputs, inputs: inputs) { transaction in
            var summary = SegmentationSummary(target: targetPath, fusion: fusion.method)
            summary.atlases = atlases.map { SegmentationSummary.Atlas(image: $0.image, labels: $0.labels, selected: true) }
            let fused = try fusion.fuse(stack, target: fusion.needsIntensities ? target : nil, mask: mask)
            clock.end("fusion")
            try write(fused, target: target, table: table, request: fusion, perLabel: posteriorsPerLabel, prefix: prefix,
                      summary: &summary, clock: &clock, transaction: transaction, outputs: outputs)
            return summary
        }
    }

    static func keptPrefix(_ prefix: String, _ i: Int) -> String { prefix + String(format: "_atlas%02d", i + 1) }

    /// The label values of all atlases, after checking each label map: whole numbers, on its
    /// image's grid, of the target's dimension (and on the target's grid for `fuse`).
    static func checkedLabelValues(_ atlases: [AtlasFiles], target: Image<Float>, targetPath: String,
                                   onTargetGrid: Bool = false) throws -> [Int32] {
        var values = Set<Int32>()
        for atlas in atlases {
            let labels = try ImageFile.read(atlas.labels).image
            try ImageFile.checkLabels(labels, path: atlas.labels)
            guard labels.components == 1 else {
                throw RegError.invalidHeader(path: atlas.labels, field: "components", reason: "a label map holds one value per voxel; this one holds \(labels.components)")
            }
            let grid = try ImageFile.layout(of: atlas.image).geometry   // registration reads the voxels
            guard grid.sameGrid(as: labels.geometry) else {
                throw RegError.geometryMismatch("the atlas label map \(atlas.labels) (\(AtlasStack.describe(labels.geometry))) is not on its image \(atlas.image)'s grid (\(AtlasStack.describe(grid)))")
            }
            guard grid.dimension == target.geometry.dimension || PlaneFrame.isOneSliceVolume(grid)
                    || PlaneFrame.isOneSliceVolume(target.geometry) else {
                throw RegError.geometryMismatch("the atlas \(atlas.image) is \(grid.dimension)-D but the target \(targetPath) is \(target.geometry.dimension)-D")
            }
            if onTargetGrid, !labels.geometry.sameGrid(as: target.geometry) {
                throw RegError.geometryMismatch("\(atlas.labels) (\(AtlasStack.describe(labels.geometry))) is not on the target \(targetPath)'s grid (\(AtlasStack.describe(target.geometry))); fuse takes atlases already warped onto the target (segment registers them)")
            }
            values.formUnion(try AtlasStack.values(in: [labels.labelImage()]))
        }
        return values.sorted()
    }

    static func readMask(_ path: String, on grid: Geometry) throws -> Image<UInt8> {
        let mask = try ImageFile.read(path).image
        guard mask.geometry.sameGrid(as: grid) else {
            throw RegError.geometryMismatch("the mask \(path) (\(AtlasStack.describe(mask.geometry))) is not on the target's grid (\(AtlasStack.describe(grid)))")
        }
        return mask.mask
    }
}

/// Seconds per phase of a run.
struct PhaseClock {
    private var last = DispatchTime.now().uptimeNanoseconds
    private(set) var phases: [SegmentationSummary.Phase] = []

    mutating func end(_ name: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        phases.append(SegmentationSummary.Phase(name: name, seconds: Double(now - last) / 1e9))
        last = now
    }
}
