import Foundation
import RegCore

/// Runs Python snippets against independent libraries, when installed.
public enum PythonOracle {
    public static let available: Bool = (try? run("import nibabel, SimpleITK, numpy", arguments: [])) != nil

    /// Runs `python3 -c code arguments…` and returns its standard output.
    public static func run(_ code: String, arguments: [String]) throws -> String {
        try runProcess(["python3", "-c", code] + arguments)
    }

    /// Runs a program found on `PATH` and returns its standard output; throws on a non-zero exit.
    public static func runProcess(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Both pipes are drained at once, so a child that writes much to either never blocks.
        final class Drained: @unchecked Sendable { var data = Data() }
        let message = Drained(), errors = DispatchGroup()
        DispatchQueue.global().async(group: errors) { message.data = err.fileHandleForReading.readDataToEndOfFile() }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        errors.wait()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let tail = String(decoding: message.data.suffix(2000), as: UTF8.self)
            throw RegError.invalidArgument(name: arguments[0], reason: "exit \(process.terminationStatus): \(tail)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
