import Foundation

/// Locates the project's real test data in `../shared/data` beside the repository.
public enum SharedData {
    /// The repository root (the folder holding Package.swift).
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `../shared/data`, or nil when absent.
    public static let root: String? = {
        let env = ProcessInfo.processInfo.environment["SWIFTREG_SHARED_DATA"]
        let path = env ?? URL(fileURLWithPath: packageRoot).deletingLastPathComponent().appendingPathComponent("shared/data").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()

    /// Whether the shared data are present; tests that need them are disabled otherwise, with a
    /// message saying so.
    public static var isAvailable: Bool { root != nil }
    public static let skipMessage = "../shared/data is absent: real-data tests skipped"

    /// Full path of a file under the shared data folder.
    public static func path(_ relative: String) -> String { (root ?? "/nonexistent") + "/" + relative }
}

/// A fresh temporary folder, removed when the value is deinitialised.
public final class TemporaryFolder: @unchecked Sendable {
    public let path: String
    public init() {
        path = NSTemporaryDirectory() + "swiftreg-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    public func file(_ name: String) -> String { path + "/" + name }
    /// Names of the files in the folder (hidden ones included).
    public var contents: [String] { (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}
