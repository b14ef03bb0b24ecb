import Foundation
import Testing
import RegCore
import RegIO
import RegTestSupport

/// A run interrupted while it writes its outputs (SIGTERM, SIGINT) leaves no file; one killed
/// with SIGKILL leaves hidden temporaries, which the next run into the folder removes (issue 31, item 10).
@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct InterruptionTests {
    /// A 96³ pair: big enough that writing the two fields takes a noticeable time.
    static func writePair(in folder: TemporaryFolder) throws {
        let grid = try Geometry(size: SIMD3(96, 96, 96), spacing: SIMD3(1, 1.1, 1.2), origin: SIMD3(-40, 12, 7),
                                direction: Phantoms.rotation(5, -8, 12))
        let center = grid.physicalPoint(ofIndex: SIMD3(48, 48, 48))
        for (name, seed) in [("fixed.nii.gz", UInt64(1)), ("moving.nii.gz", UInt64(2))] {
            let object = Phantoms.blobs(center: center, extent: SIMD3(repeating: 30), count: 7, seed: seed)
            try ImageFile.write(Phantoms.image(on: grid, object), to: folder.file(name))
        }
    }

    static let arguments = ["register", "-f", "fixed.nii.gz", "-m", "moving.nii.gz", "-o", "out", "--preset", "syn",
                            "--iterations", "2x1x0", "--deformable-iterations", "2x1x1", "--threads", "2", "-q"]

    /// Starts the run and sends `signal` once its first temporary output appears; returns its
    /// termination (reason, status).
    static func interrupt(in folder: TemporaryFolder, with signal: Int32) throws -> (Process.TerminationReason, Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(CLI.binary))
        process.arguments = arguments.map { $0.contains(".nii") || $0 == "out" ? folder.file($0) : $0 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var sent = false
        while process.isRunning {
            if folder.contents.contains(where: { $0.contains(".partial-") }) {
                kill(process.processIdentifier, signal)
                sent = true
                break
            }
            usleep(500)
        }
        process.waitUntilExit()
        #expect(sent, "the run ended before any output was begun")
        return (process.terminationReason, process.terminationStatus)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func anInterruptedRunLeavesNoFile(signal: Int32) throws {
        let folder = TemporaryFolder()
        try Self.writePair(in: folder)
        let (reason, status) = try Self.interrupt(in: folder, with: signal)
        #expect(reason == .uncaughtSignal && status == signal)
        #expect(Set(folder.contents) == ["fixed.nii.gz", "moving.nii.gz"], "left \(folder.contents)")
    }

    @Test func aRunAfterAKilledOneLeavesOnlyItsOwnCompleteSet() throws {
        let folder = TemporaryFolder()
        try Self.writePair(in: folder)
        _ = try Self.interrupt(in: folder, with: SIGKILL)
        #expect(folder.contents.contains { $0.contains(".partial-") }, "SIGKILL cannot be caught: its temporaries stay")
        #expect(!folder.contents.contains { $0.hasPrefix("out_") }, "a killed run showed part of its set")
        let r = try CLI.run(Self.arguments.map { $0.contains(".nii") || $0 == "out" ? folder.file($0) : $0 })
        #expect(r.status == 0, "\(r.stderr)")
        let outputs = ["out_affine.mat", "out_affine.txt", "out_inverse_warp.nii.gz", "out_jacobian.nii.gz", "out_summary.json",
                       "out_warp.nii.gz", "out_warped.nii.gz"]
        #expect(Set(folder.contents) == Set(["fixed.nii.gz", "moving.nii.gz"] + outputs), "left \(folder.contents)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("out_summary.json")))) as! [String: Any]
        let run = try #require(summary["run"] as? [String: Any])
        let files = try #require(run["files"] as? [[String: Any]])
        #expect(Set(files.map { $0["name"] as! String }) == Set(outputs.filter { $0 != "out_summary.json" }))
        for file in files {
            let size = try FileManager.default.attributesOfItem(atPath: folder.file(file["name"] as! String))[.size] as! Int
            #expect(size == file["bytes"] as! Int)
        }
    }

    /// An affine-only run after a SyN run under the same prefix removes the SyN run's warps, but
    /// not a file that has changed since (another tool's), so the folder never mixes two runs.
    @Test func anAffineRunRemovesTheEarlierSyNRunsFieldsButNotAnotherToolsFile() throws {
        let folder = TemporaryFolder()
        try Self.writePair(in: folder)
        let arguments = Self.arguments.map { $0.contains(".nii") || $0 == "out" ? folder.file($0) : $0 }
        #expect(try CLI.run(arguments).status == 0)
        try TextFile.write("another tool's map\n", to: folder.file("out_jacobian.nii.gz"))
        let affine = Array(arguments.prefix(7)) + ["--preset", "affine", "--iterations", "2x1x0", "-q"]
        let r = try CLI.run(affine)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Set(folder.contents) == ["fixed.nii.gz", "moving.nii.gz", "out_affine.mat", "out_affine.txt", "out_summary.json",
                                         "out_warped.nii.gz", "out_jacobian.nii.gz"], "left \(folder.contents)")
    }
}
