import ArgumentParser
import Foundation
import RegCore
import RegIO
import SwiftRegKit

/// `swiftreg batch`: many registrations (and apply, segment, longitudinal, evaluate runs) from a
/// manifest, locally or as one Slurm job array, resumable from the state files in its folder.
struct BatchCommand: ParsableCommand, WritesAsItGoes {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Run the jobs of a manifest (register, apply, segment, longitudinal, evaluate) locally or as a Slurm job array; rerun to finish what is missing.",
        discussion: """
        MANIFEST is a CSV with the columns id (optional), command and arguments, or a YAML file with a \
        'tasks:' list of {id, command, arguments}. Arguments are written as on the command line, \
        without the output: every output lies under DIR/results, named by the task's id \
        (DIR/results/ID_warped.nii.gz, …). Relative paths are relative to the manifest's folder.
        Every row is checked before anything runs (its command, options and input files).
        State lives in DIR: status/ID.json per task, logs/ID.log, batch.json. A rerun skips finished \
        tasks and runs the ones that failed, vanished or never ran. DIR/batch_summary.csv and \
        DIR/batch_report.html collect every task's numbers at the end.
          swiftreg batch manifest.csv -o DIR --jobs 2
          swiftreg batch manifest.csv -o DIR --engine slurm --cpus-per-task 4 --mem 8G --time 1:00:00 --wait
          swiftreg batch --status DIR
        """)

    @OptionGroup var common: CommonOptions
    @Argument(help: "The manifest (.csv, .yaml); with --run-task, --status or --summarize, the batch folder.") var path: String
    @Option(name: .shortAndLong, help: "The batch folder (state, logs, results).") var output: String?
    @Option(help: "local (default) or slurm.") var engine = "local"
    @Option(help: "Local engine: tasks at once, each with the threads divided between them (default: one per core, as memory allows at 3 GiB a task; one task per thread ran full-size syn faster than one task on all threads).") var jobs: Int?
    @Flag(help: "Run in a folder that holds another manifest's batch, starting over.") var force = false
    @Flag(name: .customLong("status"), help: "Print the state of every task of the batch folder PATH.") var showStatus = false
    @Option(name: .customLong("run-task"), help: "Run task I of the batch folder PATH (what the engines start; 0-based).") var runTask: Int?
    @Flag(help: "Write the summary CSV and HTML page of the batch folder PATH.") var summarize = false
    @OptionGroup var slurm: SlurmArguments

    func validate() throws {
        let modes = [showStatus, runTask != nil, summarize].filter { $0 }.count
        guard modes <= 1 else { throw ValidationError("choose one of --status, --run-task and --summarize") }
        guard modes == 1 || output != nil else { throw ValidationError("Missing expected argument '--output <output>' (the batch folder)") }
        guard ["local", "slurm"].contains(engine) else { throw ValidationError("--engine takes local or slurm; found '\(engine)'") }
        if let jobs { guard jobs >= 1 else { throw ValidationError("--jobs must be ≥ 1, found \(jobs)") } }
    }

    func run() throws {
        try common.apply()
        if showStatus { return try printStatus(BatchFolder(path)) }
        if summarize {
            let summary = try BatchSummary(BatchFolder(path))
            try summary.write()
            return print("summary: \(summary.csvPath), \(summary.htmlPath)")
        }
        if let index = runTask { return try BatchTaskRunner.run(index: index, in: BatchFolder(path)) }
        try submit()
    }

    func submit() throws {
        let manifest = try BatchManifest.read(path)
        try BatchTaskRunner.check(manifest, folder: BatchFolder(output!))
        if engine == "slurm", !Slurm.available {
            throw RegError.invalidArgument(name: "--engine slurm", reason: "sbatch is not on PATH (nothing was submitted): run on a Slurm login node, or use --engine local")
        }
        let folder = BatchFolder(output!)
        try folder.prepare(for: manifest, force: force)
        let states = try folder.states()
        let running = states.filter { $0.state == .running }.map(\.task.id)
        guard running.isEmpty else {
            throw RegError.invalidArgument(name: "batch", reason: "tasks of \(folder.path) are still running (\(running.joined(separator: ", "))): wait for them (swiftreg batch --status \(folder.path))")
        }
        let todo = states.indices.filter { states[$0].state != .done }
        let words = slurm.launcherWords
        print("\(states.count - todo.count) of \(states.count) tasks done; \(todo.isEmpty ? "nothing to run" : "running \(todo.count)")")
        guard !todo.isEmpty else { return try finish(folder) }
        if engine == "slurm" {
            let options = slurm.options(jobName: URL(fileURLWithPath: folder.path).lastPathComponent)
            let jobs = try BatchEngine.submitSlurm(folder, indices: todo, launcher: words, options: options, wait: slurm.wait)
            print("submitted array job \(jobs.array) (\(todo.count) tasks) and summary job \(jobs.summary); follow with: swiftreg batch --status \(folder.path)")
            if slurm.wait { try finish(folder) }
            return
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let jobs = self.jobs ?? max(1, min(cores, Int(ProcessInfo.processInfo.physicalMemory >> 30) / 3, todo.count))
        let threads = common.threads ?? max(1, cores / jobs)
        let failed = try BatchEngine.runLocal(folder, indices: todo, launcher: words, jobs: jobs, threadsPerTask: threads) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        try finish(folder)
        if failed > 0 { throw ExitCode(1) }
    }

    /// Writes the summary and prints where it is and what failed.
    func finish(_ folder: BatchFolder) throws {
        let summary = try BatchSummary(folder)
        try summary.write()
        let counts = BatchTaskState.allCases.compactMap { state in summary.counts[state].map { "\($0) \(state.rawValue)" } }
        print("\(counts.joined(separator: ", ")); summary: \(summary.csvPath), \(summary.htmlPath)")
        if summary.counts[.failed, default: 0] + summary.counts[.vanished, default: 0] > 0 {
            throw RegError.invalidArgument(name: "batch", reason: "some tasks did not finish: swiftreg batch --status \(folder.path) lists them with their logs; run the batch again to retry them")
        }
    }

    func printStatus(_ folder: BatchFolder) throws {
        let states = try folder.states()
        let width = max(2, states.map(\.task.id.count).max() ?? 2)
        print("ID".padding(toLength: width, withPad: " ", startingAt: 0) + "  COMMAND       STATE     SECONDS  ATTEMPTS  LOG")
        for (task, state, status) in states {
            let seconds = status?.seconds.map { String(format: "%7.1f", $0) } ?? "      -"
            let log = [.failed, .vanished, .running].contains(state) ? folder.logPath(task.id) + (status?.message.map { ": " + $0 } ?? "") : ""
            print(task.id.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                  + task.command.padding(toLength: 12, withPad: " ", startingAt: 0) + "  " + state.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                  + "  " + seconds + "  " + String(format: "%8d", status?.attempt ?? 0) + "  " + log)
        }
        let counts = BatchTaskState.allCases.map { state in (state, states.filter { $0.state == state }.count) }.filter { $0.1 > 0 }
        print(counts.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", "))
    }
}

/// Checks a manifest's rows and runs one task in this process, as `batch --run-task` does.
enum BatchTaskRunner {
    static let commands: [String: ParsableCommand.Type] = [
        "register": RegisterCommand.self, "apply": ApplyCommand.self, "segment": SegmentCommand.self,
        "longitudinal": LongitudinalCommand.self, "evaluate": EvaluateCommand.self,
    ]

    /// The task's command, parsed with the outputs the batch names for it.
    static func parse(_ task: BatchTask, folder: BatchFolder) throws -> ParsableCommand {
        guard let type = commands[task.command] else { throw ValidationError("unknown command '\(task.command)'") }
        return try type.parseAsRoot(task.arguments + task.outputArguments(in: folder))
    }

    /// Every row of the manifest: its options parse, it names no output, the files it names exist.
    /// All faults are reported together, each with its line, before anything is created.
    static func check(_ manifest: BatchManifest, folder: BatchFolder) throws {
        var faults: [String] = []
        for task in manifest.tasks {
            let forbidden = task.arguments.filter { word in task.outputOptions.contains { word == $0 || word.hasPrefix($0 + "=") } }
            if let option = forbidden.first {
                faults.append("line \(task.line) (\(task.id)): remove \(option): the batch names the outputs (\(folder.resultsFolder)/\(task.id)…)")
                continue
            }
            do { _ = try parse(task, folder: folder) } catch {
                let message = commands[task.command]?.message(for: error) ?? "\(error)"
                faults.append("line \(task.line) (\(task.id)): \(task.command): \(message.split(separator: "\n").first ?? "")")
                continue
            }
            for file in BatchManifest.filesNamed(in: task.arguments) {
                let absolute = file.hasPrefix("/") ? file : manifest.folder + "/" + file
                if !FileManager.default.fileExists(atPath: absolute) {
                    faults.append("line \(task.line) (\(task.id)): \(file): no such file (relative paths start at \(manifest.folder))")
                }
            }
        }
        guard faults.isEmpty else {
            throw RegError.invalidHeader(path: manifest.path, field: "rows", reason: "nothing was run:\n  " + faults.joined(separator: "\n  "))
        }
    }

    /// Runs task `index` of `folder` here: its output and errors go to `logs/ID.log` (appended, a
    /// header per attempt), its status file says running, then done or failed. A finished task
    /// is not run again.
    static func run(index: Int, in folder: BatchFolder) throws {
        let record = try folder.load()
        guard record.tasks.indices.contains(index) else {
            throw RegError.invalidArgument(name: "--run-task", reason: "\(folder.path) has tasks 0…\(record.tasks.count - 1), not \(index)")
        }
        let task = record.tasks[index]
        let previous = folder.status(of: task.id)
        if previous?.state == .done { return print("\(task.id): already done") }
        let environment = ProcessInfo.processInfo.environment
        let slurmJob = environment["SLURM_ARRAY_JOB_ID"].map { $0 + "_" + (environment["SLURM_ARRAY_TASK_ID"] ?? "") }
        var status = BatchTaskStatus(id: task.id, state: .running, host: ProcessInfo.processInfo.hostName, pid: getpid(), slurmJob: slurmJob,
                                     started: Date().timeIntervalSince1970, seconds: nil, message: nil, attempt: (previous?.attempt ?? 0) + 1)
        try redirectOutput(to: folder.logPath(task.id))
        print("=== \(task.id), attempt \(status.attempt), on \(status.host) (pid \(status.pid)\(slurmJob.map { ", Slurm \($0)" } ?? "")) at \(Date())")
        print("swiftreg \(task.command) " + (task.arguments + task.outputArguments(in: folder)).joined(separator: " "))
        fflush(nil)
        try folder.write(status)
        guard FileManager.default.changeCurrentDirectoryPath(record.workingFolder) else {
            throw RegError.unreadableFile(path: record.workingFolder, reason: "cannot enter the manifest's folder")
        }
        let start = Date()
        do {
            var command = try parse(task, folder: folder)
            try OutputTransaction.run(outputs: [], inputs: []) { _ in try command.run() }
            status.state = .done
        } catch {
            status.state = .failed
            status.message = (error as? RegError).map { "\($0)" } ?? commands[task.command]?.message(for: error) ?? "\(error)"
            print("error: \(status.message!)")
        }
        status.seconds = Date().timeIntervalSince(start)
        print("=== \(task.id): \(status.state.rawValue) in \(String(format: "%.1f", status.seconds!)) s")
        fflush(nil)
        try folder.write(status)
        if status.state == .failed { throw ExitCode(1) }
    }

    /// Sends standard output and error to the end of `path`.
    static func redirectOutput(to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw RegError.unwritableFile(path: path, reason: String(cString: strerror(errno))) }
        fflush(nil)
        dup2(fd, 1)
        dup2(fd, 2)
        close(fd)
    }
}
