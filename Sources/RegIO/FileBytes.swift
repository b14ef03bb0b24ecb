import RegCore
import Foundation

/// Whole-file reads and atomic writes.
enum FileBytes {
    /// The bytes of `path`.
    static func read(_ path: String) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw RegError.unreadableFile(path: path, reason: reason)
        }
        defer { try? handle.close() }
        do {
            guard let data = try handle.readToEnd() else { return [] }
            return [UInt8](data)
        } catch {
            throw RegError.unreadableFile(path: path, reason: "\(error.localizedDescription)")
        }
    }

    /// Writes `chunks` to a temporary file beside `path`, then renames it to `path`, so that a
    /// failed write never leaves a partial output.
    static func writeAtomically(_ chunks: [[UInt8]], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let temp = (dir.isEmpty ? "." : dir) + "/.\(url.lastPathComponent).partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: temp, contents: nil) else {
            throw RegError.unwritableFile(path: path, reason: "cannot create a file in \(dir.isEmpty ? "." : dir)")
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temp))
            defer { try? handle.close() }
            for chunk in chunks { try handle.write(contentsOf: chunk) }
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            throw RegError.unwritableFile(path: path, reason: error.localizedDescription)
        }
        if rename(temp, path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temp)
            throw RegError.unwritableFile(path: path, reason: reason)
        }
    }
}

/// Text outputs (reports, tables), written like every output: to a temporary name, then renamed.
///
/// ```swift
/// try TextFile.write("{\"ok\": true}\n", to: "out_summary.json")
/// ```
public enum TextFile {
    public static func write(_ text: String, to path: String) throws {
        try FileBytes.writeAtomically([Array(text.utf8)], to: path)
    }
}

/// Binary outputs and inputs read whole (model checkpoints), written atomically.
///
/// ```swift
/// try BinaryFile.write(bytes, to: "model.safetensors")
/// let back = try BinaryFile.read("model.safetensors")
/// ```
public enum BinaryFile {
    public static func read(_ path: String) throws -> [UInt8] { try FileBytes.read(path) }
    public static func write(_ bytes: [UInt8], to path: String) throws { try FileBytes.writeAtomically([bytes], to: path) }
}
