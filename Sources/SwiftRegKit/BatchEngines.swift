import Foundation
import RegCore
import RegIO

/// The `sbatch` options of a Slurm submission.
public struct SlurmOptions: Sendable, Equatable {
    public var cpusPerTask = 1
    /// `--mem` per task, e.g. `8G` (nil: the partition's default).
    public var memory: String?
    /// `--time` per task, e.g. `2:00:00`.
    public var time: String?
    public var partition: String?
    /// Further `sbatch` options, passed through as given (e.g. `--account=lab`, `--qos=short`).
    public var extra: [String] = []
    public var jobName = "swiftreg"

    public init() {}

    /// The options as `sbatch` arguments.
    public var arguments: [String] {
        var a = ["--cpus-per-task=\(cpusPerTask)", "--job-name=\(jobName)"]
        if let memory { a.append("--mem=\(memory)") }
        if let time { a.append("--time=\(time)") }
        if let partition { a.append("--partition=\(partition)") }
        return a + extra
    }
}

/// The few Slurm commands SwiftReg uses: `sbatch` to submit, `squeue` to see what is queued.
/// SwiftReg submits and returns (or waits with `sbatch --wait`); it never schedules.
public enum Slurm {
    /// Whether `sbatch` is on PATH.
    public static var available: Bool { executable("sbatch") != nil }

    static func executable(_ name: String) -> String? {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Submits `script` (given `scriptArguments`) with the sbatch `arguments` and returns the job
    /// id (`sbatch --parsable`).
    public static func submit(script: String, arguments: [String], scriptArguments: [String] = []) throws -> String {
        guard let sbatch = executable("sbatch") else {
            throw RegError.invalidArgument(name: "--engine slurm", reason: "sbatch is not on PATH: run on a Slurm login node (or use --engine local)")
        }
        let result = try run(sbatch, ["--parsable"] + arguments + [script] + scriptArguments)
        guard result.status == 0 else {
            throw RegError.invalidArgument(name: "--engine slurm", reason: "sbatch failed (status \(result.status)): \(result.error.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let id = result.output.split(separator: "\n").last.map { String($0.split(separator: ";")[0]) } ?? ""
        guard !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw RegError.invalidArgument(name: "--engine slurm", reason: "sbatch printed no job id: '\(result.output)'")
        }
        return id
    }

    /// The jobs or array tasks among `jobs` that Slurm still holds (pending, running, completing);
    /// nil when `squeue` is missing or fails.
    public static func queued(_ jobs: [String]) -> [String]? {
        guard !jobs.isEmpty else { return [] }
        guard let squeue = executable("squeue"), let result = try? run(squeue, ["-h", "-o", "%i %t", "-j", jobs.joined(separator: ",")]) else { return nil }
        // squeue fails for ids it no longer knows; that means none of them is queued.
        guard result.status == 0 else { return result.error.contains("Invalid job id") ? [] : nil }
        return result.output.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}

/// Runs a batch folder's tasks: each task is one `LAUNCHER batch --run-task I DIR` process, so a
/// task that crashes or is killed takes nothing else with it, and runs the same way locally and
/// on a cluster node. The launcher is the `swiftreg` binary, or the words that start it in a
/// container (`apptainer exec swiftreg.sif swiftreg`).
///
/// ```swift
/// let folder = BatchFolder("out/batch")
/// try BatchEngine.runLocal(folder, indices: [0, 1, 2], launcher: ["/usr/local/bin/swiftreg"], jobs: 2, threadsPerTask: 1) { print($0) }
/// ```
public enum BatchEngine {
    /// The arguments that run task `index` of the batch in `folder`.
    public static func taskArguments(_ folder: BatchFolder, index: Int, threads: String) -> [String] {
        ["batch", "--run-task", String(index), folder.path, "--threads", threads]
    }

    /// Runs the tasks at `indices`, `jobs` at a time, each with `threadsPerTask` threads; reports
    /// each start and end through `progress`. A task whose process dies without writing its end
    /// is marked failed, naming the signal. Returns the number of tasks that failed.
    @discardableResult
    public static func runLocal(_ folder: BatchFolder, indices: [Int], launcher: [String], jobs: Int, threadsPerTask: Int,
                                progress: @escaping @Sendable (String) -> Void) throws -> Int {
        guard let executable = launcher.first else { throw RegError.invalidArgument(name: "--launcher", reason: "empty") }
        let tasks = try folder.load().tasks
        let queue = TaskQueue(indices)
        let lock = NSLock()
        nonisolated(unsafe) var finished = 0, failed = 0
        let group = DispatchGroup()
        for _ in 0..<max(1, min(jobs, indices.count)) {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                while let index = queue.next() {
                    let task = tasks[index]
                    progress("\(task.id): started (\(task.command))")
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: executable)
                    process.arguments = Array(launcher.dropFirst()) + taskArguments(folder, index: index, threads: String(threadsPerTask))
                    process.standardOutput = FileHandle.nullDevice
                    process.standardError = FileHandle.nullDevice
                    var ok = false
                    do {
                        try process.run()
                        process.waitUntilExit()
                        ok = process.terminationStatus == 0 && process.terminationReason == .exit
                        if process.terminationReason == .uncaughtSignal, var status = folder.status(of: task.id), status.state == .running {
                            status.state = .failed
                            status.message = "killed by signal \(process.terminationStatus)"
                            try? folder.write(status)
                        }
                    } catch {
                        progress("\(task.id): cannot start \(executable): \(error.localizedDescription)")
                    }
                    let status = folder.status(of: task.id)
                    lock.withLock {
                        finished += 1
                        if !ok { failed += 1 }
                        let time = status?.seconds.map { String(format: " in %.1f s", $0) } ?? ""
                        let outcome = ok ? "done\(time)" : "FAILED: \(status?.message ?? "see \(folder.logPath(task.id))")"
                        progress("[\(finished)/\(indices.count)] \(task.id): \(outcome)")
                    }
                }
            }
        }
        group.wait()
        return failed
    }

    /// Submits the tasks at `indices` as one Slurm job array (`sbatch --array`) and a summary job
    /// that runs after it (`--dependency=afterany`) to write the batch's CSV and HTML page.
    /// With `wait`, returns when the summary job has ended (`sbatch --wait`). Returns the array's
    /// and the summary's job ids, also recorded in `batch.json`.
    public static func submitSlurm(_ folder: BatchFolder, indices: [Int], launcher: [String], options: SlurmOptions, wait: Bool) throws -> (array: String, summary: String) {
        var record = try folder.load()
        if let queued = Slurm.queued(record.slurmJobs), !queued.isEmpty {
            throw RegError.invalidArgument(name: "--engine slurm", reason: "jobs of this batch are still queued (\(queued.joined(separator: ", "))): wait for them, or scancel them, then run again")
        }
        let command = launcher.map(shellQuoted).joined(separator: " ")
        let arrayScript = folder.slurmFolder + "/array.sh"
        try TextFile.write("""
            #!/bin/bash
            # One task of the batch in \(folder.path); written by swiftreg batch.
            exec \(command) batch --run-task "$SLURM_ARRAY_TASK_ID" \(shellQuoted(folder.path)) --threads "${SLURM_CPUS_PER_TASK:-1}"

            """, to: arrayScript)
        let summaryScript = folder.slurmFolder + "/summary.sh"
        try TextFile.write("""
            #!/bin/bash
            # The summary of the batch in \(folder.path), after its array; written by swiftreg batch.
            exec \(command) batch --summarize \(shellQuoted(folder.path))

            """, to: summaryScript)
        let array = try Slurm.submit(script: arrayScript, arguments: options.arguments + [
            "--array=\(indices.map(String.init).joined(separator: ","))", "--output=\(folder.slurmFolder)/slurm-%A_%a.out"])
        record.slurmJobs.append(array)
        try folder.save(record)
        var summaryOptions = options
        summaryOptions.cpusPerTask = 1
        summaryOptions.jobName = options.jobName + "-summary"
        let summary = try Slurm.submit(script: summaryScript, arguments: summaryOptions.arguments + [
            "--dependency=afterany:\(array)", "--kill-on-invalid-dep=no", "--output=\(folder.slurmFolder)/summary-%j.out"] + (wait ? ["--wait"] : []))
        record.slurmJobs.append(summary)
        try folder.save(record)
        return (array, summary)
    }

    static func shellQuoted(_ word: String) -> String {
        word.allSatisfy({ $0.isLetter || $0.isNumber || "/._-=:+".contains($0) }) ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// Hands out indices to worker threads, each once.
final class TaskQueue: @unchecked Sendable {
    private var remaining: [Int]
    private let lock = NSLock()
    init(_ indices: [Int]) { remaining = indices.reversed() }
    func next() -> Int? { lock.withLock { remaining.popLast() } }
}
