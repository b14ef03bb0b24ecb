import Foundation
import Testing
import RegCore
import RegIO
import RegTestSupport

/// A command's outputs appear together at the end, or not at all (issue 31, item 10).
@Suite struct OutputTransactionTests {
    struct Failure: Error {}

    static let grid = Phantoms.oblique2DGeometry(size: SIMD2(12, 10))
    static let image = Phantoms.randomImage(Float.self, on: grid, seed: 3)

    @Test func filesAppearOnlyWhenTheWholeSetIsWritten() throws {
        let folder = TemporaryFolder()
        let a = folder.file("a.nii.gz"), b = folder.file("b.txt")
        let record = try OutputTransaction.run(outputs: [a, b], inputs: []) { run -> RunRecord in
            try ImageFile.write(Self.image, to: a)
            #expect(!FileManager.default.fileExists(atPath: a), "a.nii.gz appeared before the set was complete")
            #expect(folder.contents.count == 1 && folder.contents[0].hasPrefix(".a.nii.gz.partial-"))
            try TextFile.write("b\n", to: b)
            return run.record(of: [a, b])
        }
        #expect(Set(folder.contents) == ["a.nii.gz", "b.txt"])
        #expect(try ImageFile.read(a).image.floatImage().voxels == Self.image.voxels)
        let sizes = try Dictionary(uniqueKeysWithValues: [a, b].map {
            (URL(fileURLWithPath: $0).lastPathComponent, try FileManager.default.attributesOfItem(atPath: $0)[.size] as! Int)
        })
        #expect(Dictionary(uniqueKeysWithValues: record.files.map { ($0.name, $0.bytes) }) == sizes)
        #expect(record.id.contains("-\(getpid())-"))
    }

    @Test func aFailureLeavesTheEarlierSetAsItWas() throws {
        let folder = TemporaryFolder()
        let a = folder.file("a.nii.gz"), b = folder.file("b.txt")
        try TextFile.write("old\n", to: b)
        #expect(throws: Failure.self) {
            try OutputTransaction.run(outputs: [a, b], inputs: []) { _ in
                try ImageFile.write(Self.image, to: a)
                try TextFile.write("new\n", to: b)
                throw Failure()
            }
        }
        #expect(folder.contents == ["b.txt"], "left \(folder.contents)")
        #expect(try TextFile.read(b) == "old\n")
    }

    @Test func anInnerSetJoinsTheOuterOne() throws {
        let folder = TemporaryFolder()
        let a = folder.file("a.txt"), b = folder.file("b.txt")
        try OutputTransaction.run(outputs: [a], inputs: []) { _ in
            try TextFile.write("a\n", to: a)
            try OutputTransaction.run(outputs: [b], inputs: [a]) { _ in try TextFile.write("b\n", to: b) }
            #expect(!FileManager.default.fileExists(atPath: b), "the inner set was committed on its own")
        }
        #expect(Set(folder.contents) == ["a.txt", "b.txt"])
    }

    @Test func removalsHappenAtTheCommitAndNeverToAFileOfTheSet() throws {
        let folder = TemporaryFolder()
        let a = folder.file("a.txt"), stale = folder.file("old_warp.nii.gz")
        try TextFile.write("x\n", to: stale)
        try OutputTransaction.run(outputs: [a], inputs: []) { run in
            try TextFile.write("a\n", to: a)
            run.remove(stale)
            run.remove(a)
            #expect(FileManager.default.fileExists(atPath: stale), "removed before the commit")
        }
        #expect(folder.contents == ["a.txt"])
    }

    @Test func aRecordListsAFileOnlyWhileItIsUnchanged() throws {
        let folder = TemporaryFolder()
        let a = folder.file("a.txt")
        let record = try OutputTransaction.run(outputs: [a], inputs: []) { run -> RunRecord in
            try TextFile.write("abc\n", to: a)
            try TextFile.write("other\n", to: folder.file("b.txt"))
            return run.record(of: [a])
        }
        #expect(record.files.map(\.name) == ["a.txt"], "a record lists only the files asked for")
        #expect(record.lists(a))
        try TextFile.write("abcd\n", to: a)
        #expect(!record.lists(a), "a file another run rewrote is not this run's")
        #expect(!record.lists(folder.file("b.txt")))
    }

    @Test func temporariesOfKilledRunsAreRemovedAndLiveOnesKept() throws {
        let folder = TemporaryFolder()
        // PID 4194304 is beyond Linux's largest (2²²), so no process has it.
        let dead = folder.file(".out.nii.gz.partial-4194304-17"), live = folder.file(".out.nii.gz.partial-\(getpid())-18")
        let other = folder.file(".other.nii.gz.partial-4194304-19")
        for path in [dead, live, other] { try TextFile.write("x", to: path) }
        try OutputFolder.check(outputs: [folder.file("out.nii.gz")], inputs: [])
        #expect(Set(folder.contents) == [".out.nii.gz.partial-\(getpid())-18", ".other.nii.gz.partial-4194304-19"])
    }
}
