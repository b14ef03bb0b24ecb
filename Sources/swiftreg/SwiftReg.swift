import ArgumentParser
import Foundation
import RegCore
import RegIO
import RegLearn
import RegMethods
import SwiftRegKit

/// `swiftreg`: the command-line tool.
@main
struct SwiftReg: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftreg",
        abstract: "Medical image registration toolkit: register, apply transforms, inspect, convert and resample images.",
        discussion: """
        Physical space is LPS millimetres, as in ITK, ANTs and DICOM. Formats are chosen by extension: \
        .nii .nii.gz .mha .mhd .nrrd .nhdr .png (read/write), .jpg .jpeg (read).
        Exit status: 0 success, 1 bad input (unreadable file, bad header), 2 bad usage.
        """,
        version: "0.1.0 (\(buildKind) build)",
        subcommands: [InfoCommand.self, ConvertCommand.self, ResampleCommand.self, RegisterCommand.self, ApplyCommand.self, ComposeCommand.self, SynthCommand.self, LongitudinalCommand.self, NormativeCommand.self, AbnormalityCommand.self,
                      ApplyPointsCommand.self, JacobianCommand.self, EvaluateCommand.self, ReportCommand.self, SnapshotCommand.self, SegmentCommand.self, FuseCommand.self, BatchCommand.self, TemplateCommand.self, LandmarkWarpCommand.self, KeypointsCommand.self, TrainCommand.self, PredictCommand.self, BenchCommand.self, BenchDeformableCommand.self, BenchLearnCommand.self])

    static func main() {
        do {
            TemporaryFiles.removeOnSignals()
            var command = try parseAsRoot()
            if command is WritesAsItGoes {
                try command.run()
            } else {
                // Every file a command writes appears at the end, together, or not at all.
                try OutputTransaction.run(outputs: [], inputs: []) { _ in try command.run() }
            }
        } catch let error as RegError {
            FileHandle.standardError.write(Data("swiftreg: error: \(error)\n".utf8))
            Foundation.exit(1)
        } catch let error as LearnError {
            FileHandle.standardError.write(Data("swiftreg: error: \(error)\n".utf8))
            Foundation.exit(1)
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                print(message)
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data("\(message)\n".utf8))
            Foundation.exit(2)
        }
    }
}

/// A command whose files are kept as each is written (training checkpoints, benchmark
/// results), instead of appearing together when it ends.
protocol WritesAsItGoes {}

/// How this binary was compiled, for `--version`: `scripts/build.sh` makes a native build (tuned
/// for the CPU it runs on), a plain `swift build` a portable one. Benchmarks time native builds.
#if SWIFTREG_NATIVE
let buildKind = "native"
#else
let buildKind = "portable"
#endif

/// Options every subcommand takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Threads to use (default: all cores; at most one per core). Results do not depend on it.")
    var threads: Int?
    @Option(name: .customLong("dicom-tilt"), help: "DICOM series acquired under a gantry tilt: keep (as ITK: stacked along the normal, sheared against the patient) or resample (onto an orthogonal grid).")
    var dicomTilt: String?

    func apply() throws {
        if let tilt = dicomTilt {
            guard let choice = ["keep": GantryTilt.keep, "resample": .resample][tilt] else {
                throw ValidationError("--dicom-tilt takes keep or resample; found '\(tilt)'")
            }
            DICOMSeries.gantryTilt = choice
        }
        MallocTuning.apply()
        if let t = threads {
            guard t >= 1 else { throw ValidationError("--threads must be ≥ 1, found \(t)") }
            Parallelism.threadCount = t
        }
    }
}

/// The plan of `--preset`/`--plan`, default `syn`.
func registrationPlan(preset: String?, planPath: String?) throws -> RegistrationPlan {
    guard preset == nil || planPath == nil else { throw ValidationError("give --preset or --plan, not both") }
    if let planPath { return try PlanFile.read(planPath) }
    let name = preset ?? "syn"
    guard let plan = RegistrationPlan.preset(name) else {
        throw ValidationError("unknown preset '\(name)'; choose one of \(RegistrationPlan.presetNames.joined(separator: ", "))")
    }
    return plan
}

/// Prints library progress lines on standard error with the time since `start`, unless quiet.
func progressPrinter(quiet: Bool) -> @Sendable (String) -> Void {
    let start = Date()
    return { line in
        if !quiet { FileHandle.standardError.write(Data(String(format: "[%6.1f s] ", Date().timeIntervalSince(start)).utf8 + Data((line + "\n").utf8))) }
    }
}
