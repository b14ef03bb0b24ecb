import Foundation
import Testing
import RegCore
import RegIO
import RegTestSupport

/// Bad inputs, one row each: the command, its exit status, words its error must hold, and no
/// output file left behind (issue 31). A new case is one line of `cases`.
@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct BadInputCorpusTests {
    /// Files the rows refer to by name: a phantom, a constant image, empty and fractional labels,
    /// an empty mask, a displacement field.
    static func writeInputs(in folder: TemporaryFolder) throws {
        let grid = Phantoms.oblique2DGeometry(size: SIMD2(24, 20))
        let center = grid.physicalPoint(ofIndex: SIMD3(12, 10, 0))
        let blob = Phantoms.image(on: grid) { p in exp(-((p - center) * (p - center)).sum() / 30) }
        try ImageFile.write(blob, to: folder.file("image.nii.gz"))
        try ImageFile.write(Image<Float>(geometry: grid, filledWith: 3), to: folder.file("constant.nii.gz"))
        try ImageFile.write(Image<Int16>(geometry: grid), to: folder.file("empty_labels.nii.gz"))
        try ImageFile.write(Image<UInt8>(geometry: grid), to: folder.file("empty_mask.nii.gz"))
        var fractional = Image<Float>(geometry: grid, filledWith: 1)
        fractional.voxels[7] = 1.5
        try ImageFile.write(fractional, to: folder.file("fractional_labels.nii.gz"))
        try TransformFile.writeDisplacementField(VectorField(geometry: grid), to: folder.file("warp.nii.gz"))
        try ImageFile.write(blob, to: folder.file("reg_warped.nii.gz"))
        let volume = Phantoms.obliqueGeometry(size: SIMD3(8, 7, 6))
        try ImageFile.write(Phantoms.randomImage(Float.self, on: volume, seed: 5), to: folder.file("volume.nii.gz"))
        try TransformFile.writeDisplacementField(VectorField(geometry: volume), to: folder.file("volume_warp.nii.gz"))
        let header = "ObjectType = Image\nNDims = 2\nDimSize = 4 4\nElementSpacing = 1e308 1\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n"
        try Data(Array(header.utf8) + [UInt8](repeating: 7, count: 16)).write(to: URL(fileURLWithPath: folder.file("vast_spacing.mha")))
        try FileManager.default.createDirectory(atPath: folder.file("folder.d"), withIntermediateDirectories: false)
    }

    static let cases: [(arguments: String, status: Int32, words: [String])] = [
        ("register -f constant.nii.gz -m image.nii.gz -o OUT", 1, ["constant.nii.gz", "constant image"]),
        ("register -f image.nii.gz -m constant.nii.gz -o OUT --preset syn", 1, ["constant.nii.gz", "constant image"]),
        ("evaluate --labels empty_labels.nii.gz empty_labels.nii.gz --json OUT.json", 1, ["empty_labels.nii.gz", "no", "non-zero label"]),
        ("evaluate --warp warp.nii.gz --mask empty_mask.nii.gz --json OUT.json", 1, ["empty_mask.nii.gz", "selects no voxel"]),
        ("jacobian warp.nii.gz -o OUT.nii.gz --mask empty_mask.nii.gz", 1, ["empty_mask.nii.gz", "selects no voxel"]),
        ("apply -i fractional_labels.nii.gz -r image.nii.gz --interp label -o OUT.nii.gz", 1, ["fractional_labels.nii.gz", "1.5", "whole numbers"]),
        ("evaluate --labels fractional_labels.nii.gz image.nii.gz --json OUT.json", 1, ["fractional_labels.nii.gz", "whole numbers"]),
        ("snapshot image.nii.gz -o OUT.jpg", 2, ["ending in .png"]),
        ("convert image.nii.gz OUT.png --type float32", 2, ["PNG holds uint8 or uint16", "float32"]),
        ("register -f image.nii.gz -m image.nii.gz -o OUT --bins 100000000", 2, ["bins", "8 to 4096"]),
        // An output that is an input, or named twice, is refused before anything is written (item 9).
        ("evaluate --labels empty_labels.nii.gz fractional_labels.nii.gz --json empty_labels.nii.gz", 1, ["empty_labels.nii.gz", "also an input"]),
        ("jacobian warp.nii.gz -o warp.nii.gz", 1, ["warp.nii.gz", "also an input"]),
        ("jacobian warp.nii.gz -o OUT.nii.gz --log OUT.nii.gz", 1, ["named twice"]),
        ("register -f reg_warped.nii.gz -m image.nii.gz -o reg", 1, ["reg_warped.nii.gz", "also an input"]),
        ("apply -i image.nii.gz -r image.nii.gz -o image.nii.gz", 1, ["image.nii.gz", "also an input"]),
        ("convert image.nii.gz image.nii.gz", 1, ["also an input"]),
        // Messages name the file, never a Foundation error domain (item 11); no NIfTI with pixdim = inf (item 8).
        ("report -f image.nii.gz -m image.nii.gz --prefix missing_run -o OUT.html", 1, ["missing_run_summary.json", "no such file"]),
        ("evaluate --labels empty_labels.nii.gz empty_labels.nii.gz --lut missing_lut.txt", 1, ["missing_lut.txt", "no such file"]),
        ("convert vast_spacing.mha OUT.nii.gz", 1, ["OUT.nii.gz", "NIfTI-1"]),
        ("info image.nii.gz --threads -1", 2, ["--threads must be ≥ 1, found -1"]),
        // A failure after the outputs were begun leaves none of them (item 10).
        ("register -f image.nii.gz -m image.nii.gz -o OUT --preset rigid --metric mse --shrink 1x1x1 --report --slice garbage", 2, ["--slice", "garbage"]),
        ("jacobian warp.nii.gz -o OUT.nii.gz --log nodir/l.nii.gz", 1, ["nodir", "does not exist"]),
        ("evaluate --labels image.nii.gz image.nii.gz --json OUT.json --csv nodir/e.csv", 1, ["nodir", "does not exist"]),
        ("jacobian warp.nii.gz -o OUT.nii.gz --log folder.d", 1, ["folder.d", "is a folder"]),
        // 2-D and 3-D do not mix (item 8).
        ("apply -i volume.nii.gz -r image.nii.gz -o OUT.nii.gz", 1, ["volume.nii.gz is 3-D", "image.nii.gz is 2-D"]),
        ("apply -i image.nii.gz -r image.nii.gz -t volume_warp.nii.gz -o OUT.nii.gz", 1, ["volume_warp.nii.gz is a 3-D displacement field"]),
    ]

    @Test func everyBadInputFailsClearlyAndLeavesNoFile() throws {
        let folder = TemporaryFolder()
        try Self.writeInputs(in: folder)
        let inputs = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        let files = inputs.filter { !$0.hasSuffix(".d") }
        let contents = try files.map { try Data(contentsOf: URL(fileURLWithPath: folder.file($0))) }
        for row in Self.cases {
            let arguments = row.arguments.split(separator: " ").map { word -> String in
                let w = String(word)
                return w.hasPrefix("-") || !w.contains(".") && !["OUT", "reg", "missing_run"].contains(w) ? w : folder.file(w)
            }
            let r = try CLI.run(arguments)
            #expect(r.status == row.status, "\(row.arguments): exit \(r.status), \(r.stderr)")
            for w in row.words { #expect(r.stderr.contains(w), "\(row.arguments): '\(w)' not in \(r.stderr)") }
            #expect(!r.stderr.contains("NSCocoaErrorDomain") && !r.stderr.contains("SIMD3<"), "\(row.arguments): \(r.stderr)")
            let left = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)).subtracting(inputs)
            #expect(left.isEmpty, "\(row.arguments) left \(left)")
            let now = try files.map { try Data(contentsOf: URL(fileURLWithPath: folder.file($0))) }
            #expect(now == contents, "\(row.arguments) changed an input")
        }
    }
}
