import ArgumentParser
import Foundation
import RegCore
import RegIO

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print each image's grid, orientation, datatype, value range and header faults.",
        discussion: "Example: swiftreg info brain.nii.gz seg.mha dicom_folder/\nA DICOM folder with several series lists them; choose one as FOLDER#N or FOLDER#UID.")

    @OptionGroup var common: CommonOptions
    @Argument(help: "Image files.") var files: [String]

    func run() throws {
        try common.apply()
        var failed = false
        for path in files {
            do {
                if try ImageFile.format(of: path) == .dicom, !path.contains("#") {
                    let series = try DICOMSeries.scan(path)
                    if series.count > 1 {
                        print(Self.describe(series, in: path))
                        continue
                    }
                }
                print(try Self.describe(ImageFile.read(path)))
            } catch let error as RegError {
                FileHandle.standardError.write(Data("swiftreg: error: \(error)\n".utf8))
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }

    /// The series of a DICOM folder, one block each.
    static func describe(_ series: [DICOMSeriesInfo], in path: String) -> String {
        let f = { (v: Double) in String(format: "%.6g", v) }
        var lines = ["\(path): \(series.count) series (read one as \(path)#N or \(path)#UID)"]
        for (i, s) in series.enumerated() {
            let geometry = try? Geometry(size: s.size, spacing: s.spacing, origin: s.origin, direction: s.direction, dimension: 3)
            lines.append("  \(i + 1). \(s.uid)")
            lines.append("     \(s.modality) \"\(s.description)\", \(s.files.count) file\(s.files.count == 1 ? "" : "s")\(s.frames > 1 ? ", \(s.frames) frames" : ""), transfer syntax \(s.transferSyntax)")
            lines.append("     size \(s.size.x) × \(s.size.y) × \(s.size.z), spacing \(f(s.spacing.x)) \(f(s.spacing.y)) \(f(s.spacing.z)) mm, orientation \(geometry?.orientationCode ?? "?")")
            for note in s.notes { lines.append("     note: \(note)") }
            if let problem = s.problem { lines.append("     cannot be read: \(problem)") }
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ loaded: LoadedImage) -> String {
        let g = loaded.image.geometry
        let f = { (v: Double) in String(format: "%.6g", v) }
        let vec = { (v: SIMD3<Double>, n: Int) in (0..<n).map { f(v[$0]) }.joined(separator: " ") }
        let n = g.dimension
        var lines = [loaded.info.path]
        var type = loaded.info.storedType
        if let s = loaded.info.scaling { type += " × \(f(s.slope)) + \(f(s.intercept)) → \(loaded.image.voxelType.rawValue)" }
        lines.append("  format:      \(loaded.info.format.rawValue), \(type)")
        let size = (0..<n).map { String(g.size[$0]) }.joined(separator: " × ")
        let kind = PlaneFrame.isOneSliceVolume(g) ? "3-D, one slice: registered as 2-D in its plane" : "\(n)-D"
        lines.append("  size:        \(size) (\(kind))" + (loaded.image.components > 1 ? ", \(loaded.image.components) components per voxel" : ""))
        lines.append("  spacing:     \(vec(g.spacing, n)) mm")
        lines.append("  origin:      \(vec(g.origin, 3)) (LPS mm)")
        let rows = (0..<3).map { "[" + vec(g.direction.row($0), 3) + "]" }.joined(separator: " ")
        lines.append("  direction:   \(rows)" + (g.isOblique ? " (oblique)" : ""))
        lines.append("  orientation: \(g.orientationCode.prefix(n == 2 ? 3 : 3))")
        if let r = loaded.image.valueRange { lines.append("  values:      \(f(r.lowerBound)) … \(f(r.upperBound))") }
        if loaded.info.intentCode != 0 { lines.append("  intent:      \(loaded.info.intentCode)" + (loaded.info.intentCode == 1007 ? " (vector)" : "")) }
        lines.append("  faults:      " + (loaded.info.faults.isEmpty ? "none" : loaded.info.faults.joined(separator: "\n               ")))
        return lines.joined(separator: "\n")
    }
}
