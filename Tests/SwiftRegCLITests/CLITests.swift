import Foundation
import Testing
import RegCore
import RegIO
import RegTestSupport

/// Runs the built `swiftreg` binary.
enum CLI {
    /// The newest `swiftreg` under .build (the configuration `swift test` just built).
    static let binary: String? = {
        let build = SharedData.packageRoot + "/.build"
        let candidates = ["release", "debug"].map { build + "/\($0)/swiftreg" }
            .filter { FileManager.default.isExecutableFile(atPath: $0) }
        return candidates.max { a, b in
            let da = (try? FileManager.default.attributesOfItem(atPath: a)[.modificationDate] as? Date) ?? .distantPast
            let db = (try? FileManager.default.attributesOfItem(atPath: b)[.modificationDate] as? Date) ?? .distantPast
            return da < db
        }
    }()

    struct Result { let status: Int32; let stdout: String; let stderr: String }

    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(binary))
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}

@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct CLITests {
    let folder = TemporaryFolder()

    func writePhantom(_ name: String) throws -> String {
        let path = folder.file(name)
        try ImageFile.write(Phantoms.randomImage(Int16.self, on: Phantoms.obliqueGeometry(), range: 0...1000), to: path)
        return path
    }

    @Test func infoPrintsGeometryAndOrientation() throws {
        let path = try writePhantom("p.nii.gz")
        let r = try CLI.run(["info", path, "--threads", "2"])
        #expect(r.status == 0)
        for word in ["size:        19 × 17 × 13", "spacing:     0.9 1.3 2.1", "origin:      -31.5 12.25 48", "orientation:", "oblique", "int16", "faults:      none"] {
            #expect(r.stdout.contains(word), "missing '\(word)' in \(r.stdout)")
        }
    }

    @Test func convertKeepsGeometryAndType() throws {
        let path = try writePhantom("p.nii.gz")
        let out = folder.file("p.nrrd")
        #expect(try CLI.run(["convert", path, out]).status == 0)
        let a = try ImageFile.read(path).image, b = try ImageFile.read(out).image
        #expect(b.voxelType == .int16 && b == a.with(geometry: b.geometry))
        #expect(Approx.sameGeometry(a.geometry, b.geometry, tolerance: 1e-12))
        #expect(try CLI.run(["convert", path, folder.file("f.mha"), "--type", "float32"]).status == 0)
        #expect(try ImageFile.read(folder.file("f.mha")).image.voxelType == .float32)
    }

    @Test func resampleLikeAndSpacing() throws {
        let path = try writePhantom("p.nii.gz")
        let ref = folder.file("ref.mha")
        let refGeometry = try Geometry(size: SIMD3(10, 11, 12), spacing: SIMD3(1.5, 1.5, 1.5), origin: SIMD3(-30, 10, 45))
        try ImageFile.write(Image<UInt8>(geometry: refGeometry), to: ref)
        let r = try CLI.run(["resample", path, folder.file("r.nii.gz"), "--like", ref, "--interp", "label"])
        #expect(r.status == 0, "\(r.stderr)")
        let resampled = try ImageFile.read(folder.file("r.nii.gz")).image
        #expect(resampled.geometry.sameGrid(as: refGeometry, tolerance: 1e-5) && resampled.voxelType == .int16)
        #expect(try CLI.run(["resample", path, folder.file("s.nii.gz"), "--spacing", "1.7,2.5,4"]).status == 0)
        #expect(try ImageFile.read(folder.file("s.nii.gz")).image.geometry.size == SIMD3(10, 9, 7))
    }

    @Test func badInputExitsOneNamingTheFileAndWritesNothing() throws {
        let bad = folder.file("bad.nii")
        try Data(Array(repeating: 1, count: 400)).write(to: URL(fileURLWithPath: bad))
        let out = folder.file("out.nii.gz")
        let r = try CLI.run(["convert", bad, out])
        #expect(r.status == 1)
        #expect(r.stderr.contains(bad) && r.stderr.contains("sizeof_hdr"))
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(folder.contents == ["bad.nii"], "leftovers: \(folder.contents)")
        let missing = try CLI.run(["info", folder.file("none.mha")])
        #expect(missing.status == 1 && missing.stderr.contains("none.mha"))
        let unknown = try CLI.run(["convert", try writePhantom("q.nii"), folder.file("q.xyz")])
        #expect(unknown.status == 1 && unknown.stderr.contains(".nrrd"))
    }

    @Test func badUsageExitsTwo() throws {
        #expect(try CLI.run(["resample", "a.nii", "b.nii"]).status == 2)
        #expect(try CLI.run(["info", "--threads", "0", "a.nii"]).status == 2)
        #expect(try CLI.run(["frobnicate"]).status == 2)
        #expect(try CLI.run(["--help"]).status == 0)
    }

    /// The benchmark scripts read the build kind from here and time only native builds.
    @Test func versionSaysWhichKindOfBuild() throws {
        let version = try CLI.run(["--version"])
        #expect(version.status == 0)
        let line = version.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line == "0.1.0 (native build)" || line == "0.1.0 (portable build)", "\(line)")
    }
}
