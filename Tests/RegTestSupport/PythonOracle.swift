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
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw RegError.invalidArgument(name: arguments[0], reason: "exit \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
