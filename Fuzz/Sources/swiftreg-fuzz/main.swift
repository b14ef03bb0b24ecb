// swiftreg-fuzz TARGET [libFuzzer options] [CORPUS…]   fuzz one reader (see FuzzTarget.all)
// swiftreg-fuzz seeds FOLDER                            write seed corpora, one folder per target
// swiftreg-fuzz list                                    name the targets
import Foundation
import RegMethods

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzer(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The target being fuzzed and the file its inputs are written to (the callback cannot capture).
nonisolated(unsafe) var selected: FuzzTarget!
nonisolated(unsafe) var inputPath = ""

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: swiftreg-fuzz TARGET|seeds FOLDER|list [libFuzzer options]\n".utf8))
    exit(2)
}
switch arguments[1] {
case "list":
    print(FuzzTarget.all.map(\.name).joined(separator: "\n"))
    exit(0)
case "seeds":
    guard arguments.count == 3 else { FileHandle.standardError.write(Data("usage: swiftreg-fuzz seeds FOLDER\n".utf8)); exit(2) }
    try Seeds.write(into: arguments[2])
    exit(0)
default:
    guard let target = FuzzTarget.named(arguments[1]) else {
        FileHandle.standardError.write(Data("unknown target '\(arguments[1])'; targets: \(FuzzTarget.all.map(\.name).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    selected = target
}
let scratch = NSTemporaryDirectory() + "swiftreg-fuzz-\(getpid())"
try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
inputPath = scratch + "/" + selected.fileName

let callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = { data, size in
    let fd = open(inputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    if size > 0, let data { _ = write(fd, data, size) }
    close(fd)
    _ = try? selected.read(inputPath)
    return 0
}
// libFuzzer sees the program name and the options, not the target's name.
var driverArguments = [arguments[0]] + arguments.dropFirst(2)
var cStrings: [UnsafeMutablePointer<CChar>?] = driverArguments.map { strdup($0) } + [nil]
var count = CInt(driverArguments.count)
let status = cStrings.withUnsafeMutableBufferPointer { buffer -> CInt in
    var argv = buffer.baseAddress!
    return runFuzzer(&count, &argv, callback)
}
try? FileManager.default.removeItem(atPath: scratch)
exit(status)
