import RegCore
import Foundation

/// Whole-file reads and atomic writes.
enum FileBytes {
    /// The bytes of `path`, at most `limit` of them. Only regular files are read: a device such
    /// as `/dev/zero`, a pipe or a folder named as a data file is refused, never read without end.
    static func read(_ path: String, limit: Int = .max) throws -> [UInt8] {
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            throw RegError.unreadableFile(path: path, reason: "not a regular file (a device, a pipe or a folder)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw RegError.unreadableFile(path: path, reason: reason)
        }
        defer { try? handle.close() }
        do {
            let data = limit == .max ? try handle.readToEnd() : try handle.read(upToCount: limit)
            guard let data else { return [] }
            return [UInt8](data)
        } catch {
            throw RegError.unreadableFile(path: path, reason: "\(error.localizedDescription)")
        }
    }

    /// Writes `chunks` to a temporary file beside `path`, then renames it to `path`, so that a
    /// failed write never leaves a partial output.
    static func writeAtomically(_ chunks: [[UInt8]], to path: String) throws {
        try writeAtomically(to: path) { write in
            for chunk in chunks { try chunk.withUnsafeBytes(write) }
        }
    }

    /// Writes the bytes that `produce` hands to its `write` function, in order, to a temporary
    /// file beside `path`, then syncs it and renames it to `path` — or, inside an
    /// `OutputTransaction`, leaves the rename to the transaction's commit. A failure (the file
    /// system's, thrown as `RegError.unwritableFile` naming `path`, or `produce`'s own error,
    /// rethrown as it is) removes the temporary file: no partial output is ever left. The
    /// temporary is tracked by `TemporaryFiles`, so an interrupting signal removes it too.
    ///
    /// ```swift
    /// try FileBytes.writeAtomically(to: "out.raw") { write in try header.withUnsafeBytes(write) }
    /// ```
    static func writeAtomically(to path: String, _ produce: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let temp = (dir.isEmpty ? "." : dir) + "/.\(url.lastPathComponent).partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        // Tracked before it exists: a signal between creating and tracking it would leave it behind.
        TemporaryFiles.track(temp)
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            TemporaryFiles.forget(temp)
            throw RegError.unwritableFile(path: path, reason: "cannot create a file in \(dir.isEmpty ? "." : dir): \(reason)")
        }
        func systemError() -> RegError { RegError.unwritableFile(path: path, reason: String(cString: strerror(errno))) }
        var isOpen = true
        var written = 0
        do {
            try produce { bytes in
                var done = 0
                while done < bytes.count {
                    let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw systemError() }
                    done += n
                }
                written += done
            }
            guard fsync(fd) == 0 else { throw systemError() }
            isOpen = false
            guard close(fd) == 0 else { throw systemError() }
            if let transaction = OutputTransaction.current {
                transaction.stage(temporary: temp, final: path, bytes: written)
                return
            }
            guard rename(temp, path) == 0 else { throw systemError() }
            TemporaryFiles.forget(temp)
        } catch {
            if isOpen { close(fd) }   // never twice: another thread may own the number by then
            unlink(temp)
            TemporaryFiles.forget(temp)
            throw error   // the file system's, as RegError, or the producer's own
        }
    }
}

/// Text files: inputs (plans, lookup tables, summaries) read as UTF-8 with errors that name the
/// file, outputs (reports, tables) written like every output, to a temporary name then renamed.
///
/// ```swift
/// try TextFile.write("{\"ok\": true}\n", to: "out_summary.json")
/// let text = try TextFile.read("out_summary.json")
/// ```
public enum TextFile {
    /// The file's text; `RegError.unreadableFile` naming it when it is missing, unreadable or not UTF-8.
    public static func read(_ path: String) throws -> String {
        guard let text = String(validating: try FileBytes.read(path), as: UTF8.self) else {
            throw RegError.unreadableFile(path: path, reason: "not UTF-8 text")
        }
        return text
    }

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

/// The folder that outputs will be written to, checked before long work: a missing or read-only
/// folder fails at once, naming it, instead of after the computation.
///
/// ```swift
/// try OutputFolder.check(for: "out/syn_warp.nii.gz")   // throws when out/ is missing
/// ```
public enum OutputFolder {
    /// Throws `RegError.unwritableFile` when files cannot be created beside `path`.
    public static func check(for path: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw RegError.unwritableFile(path: path, reason: "the folder \(folder) does not exist")
        }
        guard access(folder, W_OK) == 0 else {
            throw RegError.unwritableFile(path: path, reason: "the folder \(folder) is not writable")
        }
    }

    /// Checks a command's outputs before it starts: each folder can be written, no output is one
    /// of the inputs (by resolved path, or by device and inode for links), and no file is named
    /// twice among the outputs; so a run never replaces what it reads. Temporaries that a killed
    /// run left beside an output (`.NAME.partial-PID-N` of a process that no longer runs) are removed.
    ///
    /// ```swift
    /// try OutputFolder.check(outputs: ["j.nii.gz", "logj.nii.gz"], inputs: ["warp.nii.gz", "mask.nii.gz"])
    /// ```
    public static func check(outputs: [String], inputs: [String]) throws {
        var seen: [String: String] = [:]
        for input in inputs { seen[identity(of: input)] = input }
        var written: [String: String] = [:]
        for output in outputs {
            try check(for: output)
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: output, isDirectory: &isFolder), isFolder.boolValue {
                throw RegError.unwritableFile(path: output, reason: "it is a folder: name a file")
            }
            let id = identity(of: output)
            if let input = seen[id] {
                throw RegError.unwritableFile(path: output, reason: input == output ? "it is also an input of this command: choose another output name"
                                                                                  : "it is also an input of this command (\(input)): choose another output name")
            }
            if let other = written[id] {
                throw RegError.unwritableFile(path: output, reason: "it is named twice among the outputs (also as \(other))")
            }
            written[id] = output
            TemporaryFiles.removeAbandoned(besides: output)
        }
    }

    /// True when the two paths name one file (by device and inode, or by resolved path).
    public static func sameFile(_ a: String, _ b: String) -> Bool { identity(of: a) == identity(of: b) }

    /// The file's device and inode when it exists, else its resolved absolute path.
    static func identity(of path: String) -> String {
        var info = stat()
        if stat(path, &info) == 0 { return "inode \(info.st_dev):\(info.st_ino)" }
        return URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }
}
