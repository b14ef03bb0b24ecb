import Foundation
import Testing
import RegCore
import RegIO
import RegTestSupport

/// `swiftreg batch`: a manifest of jobs run locally, checked before it starts, resumed after a
/// failure (issue 35, item 2); through a real single-node Slurm when one runs (item 4).
@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct BatchCLITests {
    let folder = TemporaryFolder()

    /// A fixed image and `count` moving images (the same blobs, shifted k mm and turned), on an
    /// oblique anisotropic grid; a manifest registering each to the fixed one with `syn`.
    static func writeCohort(in folder: TemporaryFolder, count: Int, size: Int = 32, iterations: String = "10x8x4",
                            extraRows: [String] = [], background: Double = 10) throws -> String {
        let grid = try Geometry(size: SIMD3(repeating: size), spacing: SIMD3(1.5, 1.7, 2.0), origin: SIMD3(-30, 14, -8),
                                direction: Phantoms.rotation(6, -9, 14))
        let center = grid.physicalPoint(ofIndex: SIMD3(repeating: Double(size) / 2))
        let blobs = Phantoms.blobs(center: center, extent: SIMD3(repeating: Double(size) / 2.5), count: 9, seed: 3)
        let object: @Sendable (SIMD3<Double>) -> Double = { blobs($0) - 10 + background }
        try ImageFile.write(Phantoms.image(on: grid, object), to: folder.file("fixed.nii.gz"))
        var rows = ["id,command,arguments"]
        for k in 1...count {
            let shift = SIMD3(2.5 * Double(k), -1.5 * Double(k), 2.0)
            try ImageFile.write(Phantoms.image(on: grid) { p in object(p - shift) }, to: folder.file("m\(k).nii.gz"))
            rows.append("r\(k),register,-f fixed.nii.gz -m m\(k).nii.gz --preset syn --deformable-iterations \(iterations) -q")
        }
        let path = folder.file("manifest.csv")
        try (rows + extraRows).joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func status(_ out: String, _ id: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: out + "/status/\(id).json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func aLocalBatchRunsWhatTheCommandsRunAndSkipsWhatIsDone() throws {
        let manifest = try Self.writeCohort(in: folder, count: 3, extraRows: ["warp1,apply,-i m1.nii.gz -r fixed.nii.gz --interp bspline"])
        let out = folder.file("out")
        let r = try CLI.run(["batch", manifest, "-o", out, "--jobs", "2", "--threads", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("0 of 4 tasks done; running 4") && r.stdout.contains("4 done;"), "\(r.stdout)")
        // The same registration run directly gives the same bytes: the batch runs the command, nothing else.
        let direct = try CLI.run(["register", "-f", folder.file("fixed.nii.gz"), "-m", folder.file("m2.nii.gz"), "--preset", "syn",
                                  "--deformable-iterations", "10x8x4", "-q", "-o", folder.file("direct"), "--threads", "2"])
        #expect(direct.status == 0, "\(direct.stderr)")
        for suffix in ["_warped.nii.gz", "_warp.nii.gz", "_affine.txt"] {
            #expect(FileManager.default.contentsEqual(atPath: folder.file("direct" + suffix), andPath: out + "/results/r2" + suffix), "\(suffix)")
        }
        #expect(FileManager.default.fileExists(atPath: out + "/results/warp1.nii.gz"))
        // The summary table holds each registration's numbers.
        let csv = try String(contentsOfFile: out + "/batch_summary.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let before = try #require(csv[0].firstIndex(of: "correlationBefore")), after = try #require(csv[0].firstIndex(of: "correlationAfter"))
        #expect(csv.count == 5)
        for row in csv[1...3] { #expect(Double(row[after])! > max(0.97, Double(row[before])! + 0.02), "\(row)") }
        // A rerun finds everything done and runs nothing.
        let again = try CLI.run(["batch", manifest, "-o", out])
        #expect(again.status == 0 && again.stdout.contains("4 of 4 tasks done; nothing to run"), "\(again.stdout)\(again.stderr)")
        for id in ["r1", "r2", "r3", "warp1"] { #expect(try Self.status(out, id)["attempt"] as? Int == 1) }
    }

    @Test func aFailedTaskIsReportedWithItsLogAndRetriedAlone() throws {
        let manifest = try Self.writeCohort(in: folder, count: 2)
        let good = try Data(contentsOf: URL(fileURLWithPath: folder.file("m2.nii.gz")))
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: folder.file("m2.nii.gz")))
        let out = folder.file("out")
        let r = try CLI.run(["batch", manifest, "-o", out, "--threads", "2"])
        #expect(r.status == 1 && r.stderr.contains("swiftreg batch --status"), "\(r.stdout)\(r.stderr)")
        let status = try CLI.run(["batch", "--status", out])
        #expect(status.stdout.contains("r1") && status.stdout.contains("done"))
        #expect(status.stdout.contains("failed") && status.stdout.contains(out + "/logs/r2.log"), "\(status.stdout)")
        #expect(try String(contentsOfFile: out + "/logs/r2.log", encoding: .utf8).contains("m2.nii.gz"))
        // Repaired, the rerun runs only the failed task.
        try good.write(to: URL(fileURLWithPath: folder.file("m2.nii.gz")))
        let rerun = try CLI.run(["batch", manifest, "-o", out, "--threads", "2"])
        #expect(rerun.status == 0 && rerun.stdout.contains("1 of 2 tasks done; running 1"), "\(rerun.stdout)\(rerun.stderr)")
        #expect(try Self.status(out, "r1")["attempt"] as? Int == 1 && Self.status(out, "r2")["attempt"] as? Int == 2)
        let log = try String(contentsOfFile: out + "/logs/r2.log", encoding: .utf8)
        #expect(log.components(separatedBy: "=== r2, attempt").count == 3, "\(log)")
    }

    @Test func badRowsAreReportedByLineBeforeAnythingIsCreated() throws {
        let manifest = try Self.writeCohort(in: folder, count: 1, extraRows: [
            "r2,register,-f fixed.nii.gz -m missing.nii.gz",
            "r3,register,-f fixed.nii.gz -m m1.nii.gz -o mine",
            "r4,register,-f fixed.nii.gz -m m1.nii.gz --no-such-option",
        ])
        let out = folder.file("out")
        let r = try CLI.run(["batch", manifest, "-o", out])
        #expect(r.status == 1)
        for fault in ["line 3 (r2): missing.nii.gz: no such file", "line 4 (r3): remove -o", "line 5 (r4): register:"] {
            #expect(r.stderr.contains(fault), "missing '\(fault)' in \(r.stderr)")
        }
        #expect(!r.stderr.contains("line 2"))
        #expect(!FileManager.default.fileExists(atPath: out))
        let unknown = folder.file("unknown.csv")
        try "command,arguments\nregister,-f fixed.nii.gz -m m1.nii.gz\nwarp,-i m1.nii.gz\n".write(toFile: unknown, atomically: true, encoding: .utf8)
        let u = try CLI.run(["batch", unknown, "-o", out])
        #expect(u.status == 1 && u.stderr.contains("line 3: unknown command 'warp'"), "\(u.stderr)")
    }

    @Test func aFolderOfAnotherManifestIsRefusedUnlessForced() throws {
        let manifest = try Self.writeCohort(in: folder, count: 1, iterations: "2x2x0")
        let out = folder.file("out")
        #expect(try CLI.run(["batch", manifest, "-o", out]).status == 0)
        let other = folder.file("other.csv")
        try "command,arguments\napply,-i m1.nii.gz -r fixed.nii.gz\n".write(toFile: other, atomically: true, encoding: .utf8)
        let refused = try CLI.run(["batch", other, "-o", out])
        #expect(refused.status == 1 && refused.stderr.contains("another manifest") && refused.stderr.contains("--force"), "\(refused.stderr)")
        let forced = try CLI.run(["batch", other, "-o", out, "--force"])
        #expect(forced.status == 0 && forced.stdout.contains("0 of 1 tasks done"), "\(forced.stdout)\(forced.stderr)")
    }

    @Test(arguments: ["batch", "template"])
    func slurmWithoutSbatchIsAClearErrorAndSubmitsNothing(command: String) throws {
        let manifest = try Self.writeCohort(in: folder, count: 1)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(CLI.binary))
        let inputs = command == "batch" ? [manifest] : [folder.file("fixed.nii.gz"), folder.file("m1.nii.gz")]
        process.arguments = [command] + inputs + ["-o", folder.file("out"), "--engine", "slurm"]
        process.environment = ["PATH": "/nonexistent"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1 && message.contains("sbatch is not on PATH (nothing was submitted)"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("out")))
    }
}

/// Whether a Slurm cluster answers here (`scripts/slurm-local.sh start` makes one on this machine).
enum SlurmCluster {
    static let up: Bool = {
        guard let output = try? PythonOracle.runProcess(["sinfo", "-h", "-o", "%t"]) else { return false }
        return output.split(separator: "\n").contains { ["idle", "mix", "alloc"].contains($0.trimmingCharacters(in: .whitespaces)) }
    }()

    static func queued(_ job: String) -> Bool {
        !((try? PythonOracle.runProcess(["squeue", "-h", "-j", job])) ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    }
}

/// The batch through a real Slurm (issue 35, item 4): one job array, the same bytes as locally,
/// and a cancelled array finished by a rerun that redoes nothing finished.
@Suite(.enabled(if: CLI.binary != nil && SlurmCluster.up, "no Slurm cluster answers sinfo: start one with scripts/slurm-local.sh start"), .serialized)
struct BatchSlurmTests {
    let folder = TemporaryFolder()

    @Test func aSlurmArrayGivesTheBytesOfALocalRun() throws {
        let manifest = try BatchCLITests.writeCohort(in: folder, count: 3)
        let local = folder.file("local"), slurm = folder.file("slurm")
        #expect(try CLI.run(["batch", manifest, "-o", local, "--jobs", "2", "--threads", "1"]).status == 0)
        let r = try CLI.run(["batch", manifest, "-o", slurm, "--engine", "slurm", "--cpus-per-task", "1", "--mem", "500M", "--wait"])
        #expect(r.status == 0 && r.stdout.contains("submitted array job") && r.stdout.contains("3 done"), "\(r.stdout)\(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: local + "/results").filter { !$0.hasSuffix("_summary.json") }
        #expect(files.count >= 12)
        for file in files {
            #expect(FileManager.default.contentsEqual(atPath: local + "/results/" + file, andPath: slurm + "/results/" + file), "\(file)")
        }
        #expect(try BatchCLITests.status(slurm, "r1")["slurmJob"] as? String != nil)
        #expect(FileManager.default.fileExists(atPath: slurm + "/batch_report.html"))
    }

    @Test func aCancelledArrayIsFinishedByARerunThatRedoesNothingFinished() throws {
        let manifest = try BatchCLITests.writeCohort(in: folder, count: 6, size: 48, iterations: "40x30x20")
        let out = folder.file("out")
        let submitted = try CLI.run(["batch", manifest, "-o", out, "--engine", "slurm", "--cpus-per-task", "1"])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/batch.json"))) as? [String: Any]
        let jobs = try #require(record?["slurmJobs"] as? [String])
        // Cancel the array once two tasks have finished.
        let deadline = Date().addingTimeInterval(300)
        func done() -> [String] { (1...6).map { "r\($0)" }.filter { (try? BatchCLITests.status(out, $0)["state"] as? String) == "done" } }
        while done().count < 2, Date() < deadline { usleep(100_000) }
        _ = try PythonOracle.runProcess(["scancel", jobs[0]])
        while jobs.contains(where: SlurmCluster.queued), Date() < deadline { usleep(200_000) }
        let finished = done()
        let before = try CLI.run(["batch", "--status", out])
        #expect(finished.count >= 2 && finished.count < 6, "\(before.stdout)")
        #expect(before.stdout.contains("vanished") || before.stdout.contains("pending"), "\(before.stdout)")
        let started = try finished.map { try BatchCLITests.status(out, $0)["started"] as? Double }
        // The rerun submits only what is missing and finishes it.
        let rerun = try CLI.run(["batch", manifest, "-o", out, "--engine", "slurm", "--cpus-per-task", "1", "--wait"])
        #expect(rerun.status == 0 && rerun.stdout.contains("\(finished.count) of 6 tasks done; running \(6 - finished.count)")
                && rerun.stdout.contains("6 done"), "\(rerun.stdout)\(rerun.stderr)")
        #expect(try finished.map { try BatchCLITests.status(out, $0)["started"] as? Double } == started)
        for id in finished {
            let log = try String(contentsOfFile: out + "/logs/\(id).log", encoding: .utf8)
            #expect(log.components(separatedBy: "=== \(id), attempt").count == 2, "\(id) ran again: \(log)")
        }
        let array = try String(contentsOfFile: out + "/slurm/array.sh", encoding: .utf8)
        #expect(array.contains("batch --run-task \"$SLURM_ARRAY_TASK_ID\"") && !array.contains("sbatch"))
    }
}

/// `swiftreg template --engine slurm` (issue 35, item 3): the rounds as job arrays and dependent
/// updates give the bytes of a build in one process, and a resubmission redoes only what is missing.
@Suite(.enabled(if: CLI.binary != nil && SlurmCluster.up, "no Slurm cluster answers sinfo: start one with scripts/slurm-local.sh start"), .serialized)
struct TemplateSlurmTests {
    let folder = TemporaryFolder()

    @Test func theRoundsOnSlurmGiveTheBytesOfALocalBuildAndAResubmissionFinishesWhatIsMissing() throws {
        _ = try BatchCLITests.writeCohort(in: folder, count: 2, background: 0)
        let images = ["fixed", "m1", "m2"].map { folder.file($0 + ".nii.gz") }
        // Two classes of each image, by intensity, as its label map.
        let labels = try images.map { path in
            let image = try ImageFile.read(path).image.floatImage()
            let classes = try Image<Int32>(geometry: image.geometry, voxels: image.voxels.map { $0 > 60 ? 2 : $0 > 5 ? 1 : 0 })
            let out = path.replacingOccurrences(of: ".nii.gz", with: "_labels.nii.gz")
            try ImageFile.write(classes, to: out)
            return out
        }
        let local = folder.file("local"), slurm = folder.file("slurm")
        let options = ["--iterations", "2", "--labels"] + labels + ["--preset", "syn"]
        let l = try CLI.run(["template"] + images + ["-o", local, "--threads", "2"] + options)
        #expect(l.status == 0, "\(l.stderr)")
        let s = try CLI.run(["template"] + images + ["-o", slurm, "--engine", "slurm", "--cpus-per-task", "1", "--wait"] + options)
        #expect(s.status == 0 && s.stdout.contains("submitted 3 rounds"), "\(s.stdout)\(s.stderr)")
        let register = try String(contentsOfFile: slurm + "/work/slurm/register.sh", encoding: .utf8)
        #expect(register.contains("template --run-subject \"$1\" \"$SLURM_ARRAY_TASK_ID\"") && !register.contains("sbatch"))
        func expectSameOutputs() throws {
            let files = ["template.nii.gz", "template_labels.nii.gz"] + (0...2).map { "template_iter\($0).nii.gz" }
                + ["fixed", "m1", "m2"].flatMap { name in ["_warp.nii.gz", "_affine.txt", "_warped.nii.gz", "_labels.nii.gz"].map { "subjects/" + name + $0 } }
            for file in files {
                #expect(FileManager.default.contentsEqual(atPath: local + "/" + file, andPath: slurm + "/" + file), "\(file) differs")
            }
        }
        try expectSameOutputs()
        // Undo the last round's registration of m1 and everything after it; a resubmission redoes only that.
        for file in ["work/round2/m1.json", "work/round2.json", "template_iter2.nii.gz", "template.nii.gz", "template_summary.json"] {
            try FileManager.default.removeItem(atPath: slurm + "/" + file)
        }
        let again = try CLI.run(["template"] + images + ["-o", slurm, "--engine", "slurm", "--cpus-per-task", "1", "--wait"] + options)
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        try expectSameOutputs()
        let skipped = try String(contentsOfFile: slurm + "/work/slurm/round1-0.out", encoding: .utf8)
        let redone = try String(contentsOfFile: slurm + "/work/slurm/round2-1.out", encoding: .utf8)
        #expect(skipped.contains("already done") && !redone.contains("already done") && redone.contains("registered"), "\(skipped)\n\(redone)")
        let complete = try CLI.run(["template"] + images + ["-o", slurm, "--engine", "slurm"] + options)
        #expect(complete.stdout.contains("is complete; nothing to submit"), "\(complete.stdout)")
        let other = try CLI.run(["template"] + images.reversed() + ["-o", slurm, "--engine", "slurm"] + ["--iterations", "2"])
        #expect(other.status == 1 && other.stderr.contains("holds the work of another template"), "\(other.stderr)")
    }
}

/// `swiftreg template` on files (issue 35, item 1): the files it names, transforms that `apply`
/// follows to the same warped subject, and clear refusals.
@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct TemplateCLITests {
    let folder = TemporaryFolder()

    @Test func theTemplateFolderHoldsEachRoundAndTransformsThatApplyFollows() throws {
        // A background of 0, as skull-stripped brains have.
        _ = try BatchCLITests.writeCohort(in: folder, count: 2, background: 0)
        let images = ["fixed.nii.gz", "m1.nii.gz", "m2.nii.gz"].map(folder.file)
        let out = folder.file("tpl")
        let r = try CLI.run(["template"] + images + ["-o", out, "--labels", images[0]])
        #expect(r.status == 2 && r.stderr.contains("one label map per image"), "\(r.stderr)")
        let ok = try CLI.run(["template"] + images + ["-o", out, "--iterations", "2", "--threads", "2"])
        #expect(ok.status == 0, "\(ok.stderr)")
        for name in ["template.nii.gz", "template_iter0.nii.gz", "template_iter2.nii.gz", "template_summary.json", "template_report.html",
                     "subjects/m1_warp.nii.gz", "subjects/m1_affine.txt", "subjects/m1_warped.nii.gz"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + name), "\(name)")
        }
        // The written transforms carry the subject onto the template as the template's own warped subject.
        let applied = folder.file("m1_applied.nii.gz")
        let a = try CLI.run(["apply", "-i", images[1], "-r", out + "/template.nii.gz", "-t", out + "/subjects/m1_warp.nii.gz",
                             "-t", out + "/subjects/m1_affine.txt", "-o", applied])
        #expect(a.status == 0, "\(a.stderr)")
        let mine = try ImageFile.read(applied).image.floatImage(), theirs = try ImageFile.read(out + "/subjects/m1_warped.nii.gz").image.floatImage()
        let worst = zip(mine.voxels, theirs.voxels).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-3 * 100, "largest difference \(worst)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/template_summary.json"))) as? [String: Any]
        let rounds = try #require(summary?["iterations"] as? [[String: Any]])
        #expect(rounds.count == 3 && (rounds[2]["meanCorrelation"] as? Double ?? 0) > 0.98, "\(rounds)")
        let one = try CLI.run(["template", images[0], "-o", folder.file("t1")])
        #expect(one.status == 2 && one.stderr.contains("at least two images"))
    }
}
