import ArgumentParser
import RegCore
import RegIO

extension VoxelType: ExpressibleByArgument {}

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert an image to another format (chosen by extension), keeping its geometry.",
        discussion: "Example: swiftreg convert lung.mha lung.nii.gz --type float32")

    @OptionGroup var common: CommonOptions
    @Argument(help: "Input image.") var input: String
    @Argument(help: "Output image.") var output: String
    @Option(help: "Output voxel type: \(VoxelType.allCases.map(\.rawValue).joined(separator: ", ")) (default: keep).")
    var type: VoxelType?
    @Flag(help: "Compress MetaImage/NRRD voxel data.") var compress = false
    @Flag(help: "Write NIfTI-2 instead of NIfTI-1.") var nifti2 = false

    func run() throws {
        try common.apply()
        _ = try ImageFile.format(of: output)
        var image = try ImageFile.read(input).image
        if let t = type { image = image.converted(to: t) }
        try ImageFile.write(image, to: output, options: ImageWriteOptions(niftiVersion: nifti2 ? 2 : 1, compress: compress))
    }
}
