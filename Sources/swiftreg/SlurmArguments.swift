import ArgumentParser
import Foundation
import SwiftRegKit

/// The options of a command that can hand its work to Slurm (`batch`, `template`).
struct SlurmArguments: ParsableArguments {
    @Option(help: "The words that start swiftreg for a task, e.g. 'apptainer exec swiftreg.sif swiftreg' (default: this binary).") var launcher: String?
    @Option(name: .customLong("cpus-per-task"), help: "Slurm: --cpus-per-task, also each task's threads (default 1).") var cpusPerTask = 1
    @Option(help: "Slurm: --mem per task, e.g. 8G.") var mem: String?
    @Option(help: "Slurm: --time per task, e.g. 2:00:00.") var time: String?
    @Option(help: "Slurm: --partition.") var partition: String?
    @Option(name: .customLong("sbatch"), parsing: .unconditionalSingleValue, help: "Slurm: one more sbatch option, passed as given (repeatable), e.g. --sbatch=--account=lab.") var sbatchOptions: [String] = []
    @Flag(help: "Slurm: return when the submitted jobs have ended.") var wait = false

    func validate() throws {
        guard cpusPerTask >= 1 else { throw ValidationError("--cpus-per-task must be ≥ 1, found \(cpusPerTask)") }
    }

    /// The sbatch options, the jobs named `swiftreg-NAME`.
    func options(jobName: String) -> SlurmOptions {
        var options = SlurmOptions()
        options.cpusPerTask = cpusPerTask
        options.memory = mem
        options.time = time
        options.partition = partition
        options.extra = sbatchOptions
        options.jobName = "swiftreg-" + jobName
        return options
    }

    /// The launcher's words, or this binary.
    var launcherWords: [String] {
        launcher.map { $0.split(separator: " ").map(String.init) } ?? [Bundle.main.executablePath ?? CommandLine.arguments[0]]
    }
}
