import Foundation
import Testing
import RegCore
import RegTestSupport
@testable import SwiftRegKit

struct BatchManifestTests {
    let folder = TemporaryFolder()

    func write(_ text: String, _ name: String = "m.csv") throws -> String {
        let path = folder.file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func csvRowsSplitLikeAShellWithDefaultIDsAndLineNumbers() throws {
        let path = try write("""
            # a comment, then the header
            command,arguments,id
            register,"-f a.nii.gz -m 'b c.nii.gz' --preset syn",s1

            apply,-i x.nii.gz -r a.nii.gz -t "[aff.txt,1]"
            """)
        let m = try BatchManifest.read(path)
        #expect(m.tasks == [
            BatchTask(id: "s1", command: "register", arguments: ["-f", "a.nii.gz", "-m", "b c.nii.gz", "--preset", "syn"], line: 3),
            BatchTask(id: "task0002", command: "apply", arguments: ["-i", "x.nii.gz", "-r", "a.nii.gz", "-t", "[aff.txt,1]"], line: 5),
        ])
        #expect(m.folder == folder.path)
        #expect(BatchManifest.filesNamed(in: m.tasks[1].arguments) == ["x.nii.gz", "a.nii.gz", "aff.txt"])
        #expect(BatchManifest.filesNamed(in: ["-f", "dicom/ct#2", "--shrink", "4x2x1", "--sampling", "0.25"]) == ["dicom/ct"])
    }

    @Test func yamlTasksTakeAWordListOrACommandLine() throws {
        let path = try write("""
            tasks:
              - id: a
                command: register
                arguments: [-f, f.nii.gz, -m, m.nii.gz]
              - command: evaluate
                arguments: --labels "f l.nii.gz" m.nii.gz
            """, "m.yaml")
        let m = try BatchManifest.read(path)
        #expect(m.tasks.map(\.arguments) == [["-f", "f.nii.gz", "-m", "m.nii.gz"], ["--labels", "f l.nii.gz", "m.nii.gz"]])
        #expect(m.tasks.map(\.id) == ["a", "task0002"])
        #expect(m.tasks.map(\.line) == [2, 5])
    }

    @Test func faultsNameTheFileAndLine() throws {
        let cases: [(String, String)] = [
            ("command,arguments\nregister,-f a\nwarp,-i b\n", "line 3: unknown command 'warp'"),
            ("id,command,arguments\nx,register,-f a\nx,apply,-i b\n", "line 3: id 'x' is also the id of line 2"),
            ("id,command,arguments\n../x,register,-f a\n", "line 2: id '../x' must be"),
            ("command,arguments\nregister,-f 'a\n", "line 2: a quote in the arguments is not closed"),
            ("command,args\nregister,-f a\n", "line 1: the header must name"),
            ("command,arguments\n", "tasks: the manifest lists no task"),
            ("command,arguments\nregister,-f a,extra\n", "line 2: 3 fields"),
        ]
        for (text, message) in cases {
            let path = try write(text)
            #expect(throws: RegError.self) { try BatchManifest.read(path) }
            do { _ = try BatchManifest.read(path) } catch {
                #expect("\(error)".hasPrefix(path + ": ") && "\(error)".contains(message), "\(error)")
            }
        }
    }

    @Test func theFingerprintFollowsTheBytes() throws {
        let a = try BatchManifest.read(try write("command,arguments\nregister,-f a\n"))
        let b = try BatchManifest.read(try write("command,arguments\nregister,-f b\n"))
        #expect(a.fingerprint != b.fingerprint && a.fingerprint == BatchManifest.fnv1a(Array("command,arguments\nregister,-f a\n".utf8)))
    }

    @Test func aFolderBelongsToOneManifestAndKnowsWhatVanished() throws {
        let one = try BatchManifest.read(try write("id,command,arguments\na,register,-f x\nb,register,-f y\nc,register,-f z\n", "one.csv"))
        let other = try BatchManifest.read(try write("command,arguments\napply,-i x\n", "other.csv"))
        let batch = BatchFolder(folder.file("run"))
        try batch.prepare(for: one, force: false)
        try batch.prepare(for: one, force: false)   // a rerun reopens it
        #expect(throws: RegError.self) { try batch.prepare(for: other, force: false) }
        try batch.write(BatchTaskStatus(id: "a", state: .done, host: "h", pid: 1, slurmJob: nil, started: 0, seconds: 2, attempt: 1))
        try batch.write(BatchTaskStatus(id: "b", state: .running, host: ProcessInfo.processInfo.hostName, pid: Int32.max - 7,
                                        slurmJob: nil, started: 0, attempt: 1))
        #expect(try batch.states().map(\.state) == [.done, .vanished, .pending])
        #expect(try batch.states { _ in true }.map(\.state) == [.done, .running, .pending])
        try batch.prepare(for: other, force: true)
        #expect(try batch.states().map(\.state) == [.pending])
    }

    @Test func theSummaryCollectsNumbersButNotThePlan() throws {
        let m = try BatchManifest.read(try write("id,command,arguments\na,register,-f x\nb,evaluate,--warp w.nii.gz\n"))
        let batch = BatchFolder(folder.file("run"))
        try batch.prepare(for: m, force: false)
        try #"{"seconds": 3.5, "ok": true, "jacobian": {"sdLogJ": 0.12}, "plan": {"step": 0.25}, "levels": [1, 2]}"#
            .write(toFile: batch.resultsFolder + "/a_summary.json", atomically: true, encoding: .utf8)
        try batch.write(BatchTaskStatus(id: "a", state: .done, host: "h", pid: 1, slurmJob: nil, started: 0, seconds: 4, attempt: 1))
        try batch.write(BatchTaskStatus(id: "b", state: .failed, host: "h", pid: 1, slurmJob: nil, started: 0, seconds: 1, message: "bad", attempt: 2))
        let summary = try BatchSummary(batch)
        #expect(summary.columns == ["id", "command", "state", "wallSeconds", "attempts", "log", "jacobian.sdLogJ", "seconds"])
        #expect(summary.rows[0] == ["a", "register", "done", "4.00", "1", "", "0.12", "3.5"])
        #expect(summary.rows[1] == ["b", "evaluate", "failed", "1.00", "2", batch.logPath("b"), "", ""])
        try summary.write()
        #expect(try String(contentsOfFile: summary.csvPath, encoding: .utf8).hasPrefix("id,command,state,wallSeconds,attempts,log,jacobian.sdLogJ,seconds\n"))
        #expect(try String(contentsOfFile: summary.htmlPath, encoding: .utf8).contains("<td>failed</td>"))
    }
}
