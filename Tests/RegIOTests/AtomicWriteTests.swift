import Foundation
import Testing
import RegCore
@testable import RegIO
import RegTestSupport

/// Streamed outputs are written atomically: a producer that fails part way leaves nothing.
@Suite struct AtomicWriteTests {
    struct Interrupted: Error {}

    @Test func failedStreamLeavesNoFile() throws {
        let folder = TemporaryFolder()
        let path = folder.file("field.nii.gz")
        let piece = [UInt8](repeating: 7, count: 3 << 20)
        #expect(throws: Interrupted.self) {
            try FileBytes.writeAtomically(to: path) { sink in
                try Gzip.stored(into: sink) { write in
                    try piece.withUnsafeBytes(write)   // several flushes reach the file first
                    throw Interrupted()
                }
            }
        }
        #expect(folder.contents.isEmpty, "no partial output: \(folder.contents)")
    }

    @Test func unwritableFolderNamesThePath() {
        let path = "/proc/swiftreg-no-such-dir/out.nii.gz"
        do {
            try FileBytes.writeAtomically(to: path) { write in try [UInt8](repeating: 1, count: 10).withUnsafeBytes(write) }
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains(path))
        }
    }
}
