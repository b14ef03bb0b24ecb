#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which run wrote a set of files: its id and each file's name and size, so that a file of
/// another run beside them (or a set cut short) is recognisable. `OutputTransaction.record(of:)`
/// makes it; a summary file carries it.
///
/// ```swift
/// let record = RunRecord(id: "20261205T201512Z-4821-9f3a07c1", files: [.init(name: "reg_affine.txt", bytes: 412)])
/// ```
public struct RunRecord: Sendable, Codable, Equatable {
    public struct File: Sendable, Codable, Equatable {
        public var name: String
        public var bytes: Int
        public init(name: String, bytes: Int) {
            self.name = name
            self.bytes = bytes
        }
    }
    public var id: String
    public var files: [File]
    public init(id: String, files: [File]) {
        self.id = id
        self.files = files
    }

    /// True when this record lists a file named like `path` (its last component) with the size
    /// `path` has now: the file is still the one this run wrote.
    public func lists(_ path: String) -> Bool {
        let name = String(path.split(separator: "/").last ?? Substring(path))
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return files.contains { $0.name == name && $0.bytes == Int(info.st_size) }
    }
}
