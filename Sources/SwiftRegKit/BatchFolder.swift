import Foundation
import RegCore
import RegIO

/// What `batch.json` in a batch folder records: the manifest it runs, its tasks, and the Slurm
/// jobs submitted for it.
public struct BatchRecord: Codable, Equatable, Sendable {
    public var manifest: String
    public var fingerprint: String
    /// The folder the tasks run in (the manifest's), so relative paths resolve wherever they run.
    public var workingFolder: String
    public var tasks: [BatchTask]
    /// Every Slurm job submitted for this folder (arrays and their summary jobs), oldest first.
    public var slurmJobs: [String]
}

/// One task's status file, `DIR/status/ID.json`, written atomically as the task starts and ends.
public struct BatchTaskStatus: Codable, Equatable, Sendable {
    public enum State: String, Codable, Sendable { case running, done, failed }
    public var id: String
    public var state: State
    public var host: String
    public var pid: Int32
    /// `JOB_TASK` when the task runs as a Slurm array task.
    public var slurmJob: String?
    /// Seconds since 1970 when this attempt started.
    public var started: Double
    public var seconds: Double?
    public var message: String?
    /// Attempts so far, this one included.
    public var attempt: Int

    public init(id: String, state: State, host: String, pid: Int32, slurmJob: String?, started: Double, seconds: Double? = nil,
                message: String? = nil, attempt: Int) {
        self.id = id
        self.state = state
        self.host = host
        self.pid = pid
        self.slurmJob = slurmJob
        self.started = started
        self.seconds = seconds
        self.message = message
        self.attempt = attempt
    }
}

/// The state `batch --status` shows for a task.
public enum BatchTaskState: String, Sendable, CaseIterable {
    case done, running, failed
    /// Marked running, but the process or Slurm task that ran it is gone (killed, node lost).
    case vanished
    /// Not started yet.
    case pending
}

/// A batch's output folder: `batch.json`, `status/ID.json` per task, `logs/ID.log`,
/// `results/ID…` (the tasks' outputs), `slurm/` (job scripts and Slurm's own output), and the
/// aggregated `batch_summary.csv` and `batch_report.html`.
///
/// ```swift
/// let folder = BatchFolder("out/batch")
/// try folder.prepare(for: try BatchManifest.read("manifest.csv"), force: false)
/// for (task, state, _) in folder.states() { print(task.id, state) }
/// ```
public struct BatchFolder: Sendable {
    public let path: String

    public init(_ path: String) { self.path = URL(fileURLWithPath: path).standardizedFileURL.path }

    public var recordPath: String { path + "/batch.json" }
    public var statusFolder: String { path + "/status" }
    public var logFolder: String { path + "/logs" }
    public var resultsFolder: String { path + "/results" }
    public var slurmFolder: String { path + "/slurm" }
    public func statusPath(_ id: String) -> String { statusFolder + "/\(id).json" }
    public func logPath(_ id: String) -> String { logFolder + "/\(id).log" }

    /// Creates the folder for `manifest`, or reopens it for a rerun. A folder written for another
    /// manifest (different bytes) is refused unless `force`, which clears its status files.
    @discardableResult
    public func prepare(for manifest: BatchManifest, force: Bool) throws -> BatchRecord {
        let files = FileManager.default
        var record = BatchRecord(manifest: manifest.path, fingerprint: manifest.fingerprint, workingFolder: manifest.folder,
                                 tasks: manifest.tasks, slurmJobs: [])
        if files.fileExists(atPath: recordPath) {
            let old = try load()
            if old.fingerprint == manifest.fingerprint {
                record.slurmJobs = old.slurmJobs
            } else if force {
                try? files.removeItem(atPath: statusFolder)
            } else {
                throw RegError.unwritableFile(path: path, reason: "it holds a batch of another manifest (\(old.manifest)); choose another folder, or add --force to start over in it")
            }
        } else if files.fileExists(atPath: path), let entries = try? files.contentsOfDirectory(atPath: path), !entries.isEmpty, !force {
            throw RegError.unwritableFile(path: path, reason: "the folder is not empty and is not a batch folder; choose another, or add --force")
        }
        for folder in [path, statusFolder, logFolder, resultsFolder, slurmFolder] {
            do { try files.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw RegError.unwritableFile(path: folder, reason: "cannot create the folder: \(error.localizedDescription)")
            }
        }
        try save(record)
        return record
    }

    public func load() throws -> BatchRecord {
        let text = try TextFile.read(recordPath)
        do { return try JSONDecoder().decode(BatchRecord.self, from: Data(text.utf8)) } catch {
            throw RegError.invalidHeader(path: recordPath, field: "batch record", reason: "\(error)")
        }
    }

    public func save(_ record: BatchRecord) throws {
        try TextFile.write(try JSONText.encode(record), to: recordPath)
    }

    public func status(of id: String) -> BatchTaskStatus? {
        guard let data = FileManager.default.contents(atPath: statusPath(id)) else { return nil }
        return try? JSONDecoder().decode(BatchTaskStatus.self, from: data)
    }

    public func write(_ status: BatchTaskStatus) throws {
        try TextFile.write(try JSONText.encode(status), to: statusPath(status.id))
    }

    /// Every task with its state and status file; `isAlive` says whether a `running` status's
    /// process still runs (default: `BatchFolder.isAlive`).
    public func states(isAlive: (BatchTaskStatus) -> Bool = BatchFolder.isAlive) throws -> [(task: BatchTask, state: BatchTaskState, status: BatchTaskStatus?)] {
        try load().tasks.map { task in
            guard let status = status(of: task.id) else { return (task, .pending, nil) }
            switch status.state {
            case .done: return (task, .done, status)
            case .failed: return (task, .failed, status)
            case .running: return (task, isAlive(status) ? .running : .vanished, status)
            }
        }
    }

    /// Whether the process a `running` status names still runs: on this host, by its process id;
    /// a Slurm task, by `squeue`; elsewhere without Slurm, assumed running.
    public static func isAlive(_ status: BatchTaskStatus) -> Bool {
        if status.host == ProcessInfo.processInfo.hostName, kill(status.pid, 0) != 0, errno == ESRCH { return false }
        if let job = status.slurmJob, let queued = Slurm.queued([job]) { return !queued.isEmpty }
        return true
    }
}
