import Foundation
import RegCore
import RegIO
import RegMethods
import RegSegment
import RegTransforms

/// What a template construction in steps builds, as `DIR/work/job.json` holds it: every step
/// reads it, so the steps need nothing else.
public struct TemplateJob: Codable, Sendable, Equatable {
    /// Absolute paths, so a step finds them from any working folder.
    public var images: [String]
    public var labels: [String]?
    public var initial: String?
    public var names: [String]
    public var iterations: Int
    public var plan: RegistrationPlan
    public var initialPlan: RegistrationPlan
    public var gradientStep: Double
    public var average: TemplateAverage
    public var sharpen: Double
    public var fusion: FusionMethod
    /// `TemplateSettings.fineRounds` (absent in jobs prepared before it: every round fine).
    public var fineRounds: Int?
    /// When the job was prepared (seconds since 1970): the summary's time runs from it.
    public var prepared: Double

    var settings: TemplateSettings {
        var s = TemplateSettings(plan: plan, initialPlan: initialPlan)
        s.iterations = iterations
        s.gradientStep = gradientStep
        s.average = average
        s.sharpen = sharpen
        s.fusion = LabelFusion(method: fusion)
        s.fineRounds = fineRounds
        return s
    }

    /// The same job, whenever it was prepared.
    func sameWork(as other: TemplateJob) -> Bool {
        var a = self, b = other
        a.prepared = 0
        b.prepared = 0
        return a == b
    }
}

/// A template construction (`TemplateConstruction`) in steps that each run as their own process,
/// for a cluster: round k's registrations, one step per subject (a Slurm array), then round k's
/// update, one step after all of them (`--dependency=afterok`); round 0 is the initial affine
/// alignment. Steps pass files in `DIR/work`: `job.json`, `roundK/NAME.json` (the registration's
/// affine, correlation, time; written last, so its presence means the step is done),
/// `roundK/NAME_warped.nii.gz` and `NAME_warp.nii.gz`, `roundK.json` (the round's measures).
/// The last update writes what `TemplateFiles.build` writes, the same bytes: everything a step
/// reads on the template's grid takes that grid's geometry from the reference image, exactly.
/// A step whose output exists returns at once, so submitting the job again finishes only what is missing.
///
/// ```swift
/// let job = try TemplateStages.prepare(request, folder: "tpl")
/// for k in 0...job.iterations {
///     for i in job.images.indices { try TemplateStages.register(folder: "tpl", round: k, subject: i) }
///     try TemplateStages.update(folder: "tpl", round: k)
/// }
/// ```
public enum TemplateStages {
    static func jobPath(_ folder: String) -> String { folder + "/work/job.json" }
    static func roundFolder(_ folder: String, _ k: Int) -> String { folder + "/work/round\(k)" }
    static func roundPath(_ folder: String, _ k: Int) -> String { folder + "/work/round\(k).json" }
    public static func slurmFolder(_ folder: String) -> String { folder + "/work/slurm" }

    /// Checks the request (inputs readable, outputs writable) and writes `DIR/work/job.json`. A
    /// folder that holds the same job is kept (its finished steps are not redone); one that holds
    /// another job is refused.
    public static func prepare(_ request: TemplateRequest, folder: String) throws -> TemplateJob {
        let absolute = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.path }
        var job = TemplateJob(images: request.images.map(absolute), labels: request.labels?.map(absolute), initial: request.initial.map(absolute),
                              names: TemplateFiles.subjectNames(request.images), iterations: request.settings.iterations,
                              plan: request.settings.plan, initialPlan: request.settings.initialPlan, gradientStep: request.settings.gradientStep,
                              average: request.settings.average, sharpen: request.settings.sharpen, fusion: request.settings.fusion.method,
                              fineRounds: request.settings.fineRounds, prepared: Date().timeIntervalSince1970)
        if let existing = try? load(folder: folder) {
            guard existing.sameWork(as: job) else {
                throw RegError.invalidArgument(name: "-o", reason: "\(folder) holds the work of another template (\(jobPath(folder))): choose another folder or remove it")
            }
            job.prepared = existing.prepared
        }
        try FileManager.default.createDirectory(atPath: slurmFolder(folder), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/subjects", withIntermediateDirectories: true)
        try OutputFolder.check(outputs: TemplateFiles.outputPaths(request, folder: folder, names: job.names),
                               inputs: job.images + (job.labels ?? []) + [job.initial].compactMap { $0 })
        for path in job.images + [job.initial].compactMap({ $0 }) { _ = try ImageFile.read(path).image.floatImage() }
        for path in job.labels ?? [] { _ = try ImageFile.read(path).image.labelImage() }
        try TextFile.write(try JSONText.encode(job), to: jobPath(folder))
        return job
    }

    public static func load(folder: String) throws -> TemplateJob {
        let path = jobPath(folder)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RegError.unreadableFile(path: path, reason: "no template job here: was it prepared (swiftreg template --engine slurm)?")
        }
        return try JSONDecoder().decode(TemplateJob.self, from: data)
    }

    /// Registers subject `index` to round `round`'s template (round 0: the reference, with the
    /// initial plan) and writes what the round's update needs.
    public static func register(folder: String, round: Int, subject index: Int, progress: @escaping @Sendable (String) -> Void = { _ in }) throws {
        let job = try load(folder: folder)
        guard (0...job.iterations).contains(round), job.images.indices.contains(index) else {
            throw RegError.invalidArgument(name: "--run-subject", reason: "round \(round) of 0…\(job.iterations), subject \(index) of 0…\(job.images.count - 1)")
        }
        let base = roundFolder(folder, round) + "/" + job.names[index]
        guard !FileManager.default.fileExists(atPath: base + ".json") else { return progress("round \(round), \(job.names[index]): already done") }
        let started = Date().timeIntervalSince1970
        let template = try self.template(before: round, job: job, folder: folder)
        let image = try ImageFile.read(job.images[index]).image.floatImage()
        let result = try TemplateRegistration.register(image, to: template, plan: job.settings.plan(forRound: round))
        try FileManager.default.createDirectory(atPath: roundFolder(folder, round), withIntermediateDirectories: true)
        try ImageFile.write(result.warped, to: base + "_warped.nii.gz")
        if let warp = result.warp { try TransformFile.writeDisplacementField(warp.field, to: base + "_warp.nii.gz") }
        let record = SubjectRecord(affine: result.affine, deformable: result.warp != nil, correlation: result.correlation, seconds: result.seconds, started: started)
        try TextFile.write(try JSONText.encode(record), to: base + ".json")
        progress(String(format: "round %d, %@: registered in %.1f s, correlation %.4f", round, job.names[index], result.seconds, result.correlation))
    }

    /// Averages round `round`'s registered subjects into its template and writes it
    /// (`template_iterK.nii.gz`) with the round's measures; after the last round, writes the outputs.
    public static func update(folder: String, round: Int, progress: @escaping @Sendable (String) -> Void = { _ in }) throws {
        let job = try load(folder: folder)
        guard (0...job.iterations).contains(round) else { throw RegError.invalidArgument(name: "--run-update", reason: "round \(round) of 0…\(job.iterations)") }
        let grid = try referenceGrid(job)
        if !FileManager.default.fileExists(atPath: roundPath(folder, round)) {
            let (step, earliest) = try roundUpdate(round, job: job, folder: folder, grid: grid)
            try ImageFile.write(step.updated, to: folder + "/template_iter\(round).nii.gz")
            let record = step.record(seconds: Date().timeIntervalSince1970 - earliest)
            try TextFile.write(try JSONText.encode(record), to: roundPath(folder, round))
            progress(TemplateConstruction.describe(record))
            guard round == job.iterations else { return }
            try finish(job, last: step, record: record, folder: folder, grid: grid)
        } else if round == job.iterations, !FileManager.default.fileExists(atPath: folder + "/template_summary.json") {
            let record = try JSONDecoder().decode(TemplateIteration.self, from: try Data(contentsOf: URL(fileURLWithPath: roundPath(folder, round))))
            try finish(job, last: try roundUpdate(round, job: job, folder: folder, grid: grid).round, record: record, folder: folder, grid: grid)
        }
    }

    /// What `register` keeps beside the warped subject and its warp.
    struct SubjectRecord: Codable {
        var affine: AffineMap
        var deformable: Bool
        var correlation: Double
        var seconds: Double
        var started: Double
    }

    static func roundUpdate(_ round: Int, job: TemplateJob, folder: String, grid: Geometry) throws -> (round: TemplateConstruction.Round, earliest: Double) {
        var registrations: [TemplateRegistration] = [], earliest = Double.infinity
        for name in job.names {
            let base = roundFolder(folder, round) + "/" + name
            guard let data = FileManager.default.contents(atPath: base + ".json") else {
                throw RegError.unreadableFile(path: base + ".json", reason: "round \(round) has not registered \(name): its task failed or has not run (see \(slurmFolder(folder)))")
            }
            let record = try JSONDecoder().decode(SubjectRecord.self, from: data)
            let warped = try onGrid(try ImageFile.read(base + "_warped.nii.gz").image.floatImage(), grid, path: base + "_warped.nii.gz")
            let warp = try record.deformable ? DisplacementField(fieldOnGrid(try TransformFile.readDisplacementField(base + "_warp.nii.gz"), grid, path: base + "_warp.nii.gz")) : nil
            registrations.append(TemplateRegistration(affine: record.affine, warp: warp, warped: warped, correlation: record.correlation, seconds: record.seconds))
            earliest = min(earliest, record.started)
        }
        let (images, labels) = try inputs(job)
        let step = try TemplateConstruction.Round(template: try template(before: round, job: job, folder: folder), registrations: registrations,
                                                   images: images, labels: labels, settings: job.settings, number: round)
        return (step, earliest)
    }

    /// The outputs, from the earlier rounds' files and the last round (`last`, measured by `record`).
    static func finish(_ job: TemplateJob, last: TemplateConstruction.Round, record: TemplateIteration, folder: String, grid: Geometry) throws {
        let templates = try (0..<job.iterations).map { k in
            let path = folder + "/template_iter\(k).nii.gz"
            return try onGrid(try ImageFile.read(path).image.floatImage(), grid, path: path)
        } + [last.updated]
        let iterations = try (0..<job.iterations).map { k in
            try JSONDecoder().decode(TemplateIteration.self, from: try Data(contentsOf: URL(fileURLWithPath: roundPath(folder, k))))
        } + [record]
        let (images, labels) = try inputs(job)
        let result = try TemplateConstruction.finish(last, templates: templates, iterations: iterations, images: images, labels: labels,
                                                     fusion: job.settings.fusion)
        let summary = TemplateSummary(images: job.images, labels: job.labels, initial: job.initial, names: job.names, iterations: iterations,
                                      gradientStep: job.gradientStep, average: job.average, sharpen: job.sharpen, seconds: Date().timeIntervalSince1970 - job.prepared, plan: job.plan,
                                      fineRounds: job.fineRounds)
        try TemplateFiles.write(result, summary: summary, folder: folder)
    }

    static func inputs(_ job: TemplateJob) throws -> ([Image<Float>], [Image<Int32>]?) {
        (try job.images.map { try ImageFile.read($0).image.floatImage() }, try job.labels?.map { try ImageFile.read($0).image.labelImage() })
    }

    /// The grid every round's template lies on: the initial template's, or the first image's.
    static func referenceGrid(_ job: TemplateJob) throws -> Geometry {
        try ImageFile.read(job.initial ?? job.images[0]).image.floatImage().geometry
    }

    /// The template that round `round` registers to: the reference image for round 0, else the
    /// previous round's, on the reference's exact grid.
    static func template(before round: Int, job: TemplateJob, folder: String) throws -> Image<Float> {
        let reference = try ImageFile.read(job.initial ?? job.images[0]).image.floatImage()
        guard round > 0 else { return reference }
        let path = folder + "/template_iter\(round - 1).nii.gz"
        guard FileManager.default.fileExists(atPath: path) else {
            throw RegError.unreadableFile(path: path, reason: "round \(round - 1)'s template is missing: its update failed or has not run")
        }
        return try onGrid(try ImageFile.read(path).image.floatImage(), reference.geometry, path: path)
    }

    /// `image`'s voxels on `grid`: a file written on the grid holds its geometry only to the
    /// precision of its header, and each step must see the grid the construction in one process sees.
    static func onGrid(_ image: Image<Float>, _ grid: Geometry, path: String) throws -> Image<Float> {
        guard image.geometry.size == grid.size else {
            throw RegError.invalidArgument(name: path, reason: "size \(image.geometry.size) is not the template grid's \(grid.size)")
        }
        return try Image(geometry: grid, voxels: image.voxels)
    }

    static func fieldOnGrid(_ field: VectorField, _ grid: Geometry, path: String) throws -> VectorField {
        guard field.geometry.size == grid.size else {
            throw RegError.invalidArgument(name: path, reason: "size \(field.geometry.size) is not the template grid's \(grid.size)")
        }
        var out = VectorField(geometry: grid)
        out.vectors = field.vectors
        return out
    }

    /// Submits the whole construction to Slurm at once: per round, one array of registrations
    /// (after the previous round's update) and its update (after the array), each step with
    /// `--dependency=afterok` and `--kill-on-invalid-dep=yes`, so a failure cancels what follows.
    /// Returns the job ids in order (also written to `DIR/work/slurm/jobs.txt`).
    public static func submitSlurm(folder: String, launcher: [String], options: SlurmOptions) throws -> [String] {
        let job = try load(folder: folder)
        let jobsPath = slurmFolder(folder) + "/jobs.txt"
        let previous = ((try? String(contentsOfFile: jobsPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        if let queued = Slurm.queued(previous), !queued.isEmpty {
            throw RegError.invalidArgument(name: "--engine slurm", reason: "jobs of this template are still queued (\(queued.joined(separator: ", "))): wait for them, or scancel them, then run again")
        }
        let command = launcher.map(BatchEngine.shellQuoted).joined(separator: " "), dir = BatchEngine.shellQuoted(folder)
        let registerScript = slurmFolder(folder) + "/register.sh", updateScript = slurmFolder(folder) + "/update.sh"
        try TextFile.write("""
            #!/bin/bash
            # Round $1's registration of one subject of the template in \(folder); written by swiftreg template.
            exec \(command) template --run-subject "$1" "$SLURM_ARRAY_TASK_ID" -o \(dir) --threads "${SLURM_CPUS_PER_TASK:-1}"

            """, to: registerScript)
        try TextFile.write("""
            #!/bin/bash
            # Round $1's average and shape update of the template in \(folder); written by swiftreg template.
            exec \(command) template --run-update "$1" -o \(dir) --threads "${SLURM_CPUS_PER_TASK:-1}"

            """, to: updateScript)
        var jobs: [String] = []
        var after: String?
        for k in 0...job.iterations {
            var o = options
            o.jobName = options.jobName + "-round\(k)"
            let dependency = after.map { ["--dependency=afterok:\($0)", "--kill-on-invalid-dep=yes"] } ?? []
            let array = try Slurm.submit(script: registerScript, arguments: o.arguments + dependency + [
                "--array=0-\(job.images.count - 1)", "--output=\(slurmFolder(folder))/round\(k)-%a.out"], scriptArguments: [String(k)])
            jobs.append(array)
            o.jobName = options.jobName + "-update\(k)"
            let update = try Slurm.submit(script: updateScript, arguments: o.arguments + [
                "--dependency=afterok:\(array)", "--kill-on-invalid-dep=yes", "--output=\(slurmFolder(folder))/update\(k).out"], scriptArguments: [String(k)])
            jobs.append(update)
            after = update
            try TextFile.write(jobs.joined(separator: "\n") + "\n", to: jobsPath)
        }
        return jobs
    }

    /// The first step that has not finished, as a sentence naming its log; nil when the template is complete.
    public static func firstMissingStep(folder: String) throws -> String? {
        let job = try load(folder: folder)
        for k in 0...job.iterations {
            if let i = job.names.firstIndex(where: { !FileManager.default.fileExists(atPath: roundFolder(folder, k) + "/" + $0 + ".json") }) {
                return "round \(k) did not register \(job.names[i]) (log: \(slurmFolder(folder))/round\(k)-\(i).out)"
            }
            if !FileManager.default.fileExists(atPath: roundPath(folder, k)) {
                return "round \(k)'s update did not finish (log: \(slurmFolder(folder))/update\(k).out)"
            }
        }
        return FileManager.default.fileExists(atPath: folder + "/template_summary.json") ? nil
            : "the final outputs were not written (log: \(slurmFolder(folder))/update\(job.iterations).out)"
    }
}
