import ArgumentParser
import RegCore
import RegIO

extension VoxelType: ExpressibleByArgument {}

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert an image to another format (chosen by extension), keeping its geometry.",
        discussion: """
        --threshold T writes a mask instead: 1 where the voxel is ≥ T, else 0 (uint8).
        Examples:
          swiftreg convert lung.mha lung.nii.gz --type float32
          swiftreg convert gm_probability.nii.gz gm_mask.nii.gz --threshold 0.5
        """)

    @OptionGroup var common: CommonOptions
    @Argument(help: "Input image.") var input: String
    @Argument(help: "Output image.") var output: String
    @Option(help: "Output voxel type: \(VoxelType.allCases.map(\.rawValue).joined(separator: ", ")) (default: keep).")
    var type: VoxelType?
    @Option(help: "Write 1 where the voxel is ≥ this value, else 0 (a uint8 mask).") var threshold: Double?
    @Flag(help: "Compress MetaImage/NRRD voxel data.") var compress = false
    @Flag(help: "Write NIfTI-2 instead of NIfTI-1.") var nifti2 = false

    func run() throws {
        try common.apply()
        if try ImageFile.format(of: output) == .png, let type, type != .uint8, type != .uint16 {
            throw ValidationError("PNG holds uint8 or uint16 grey values; --type \(type.rawValue) needs another format (.nii.gz, .mha, .nrrd)")
        }
        try OutputFolder.check(outputs: [output], inputs: [input])
        var image = try ImageFile.read(input).image
        if let threshold {
            guard type == nil else { throw ValidationError("--threshold writes uint8: leave out --type") }
            let values = image.floatImage()
            guard values.components == 1 else { throw ValidationError("--threshold takes a scalar image; \(input) has \(values.components) components") }
            image = AnyImage(try Image<UInt8>(geometry: values.geometry, voxels: values.voxels.map { Double($0) >= threshold ? 1 : 0 }))
        }
        if let t = type { image = image.converted(to: t) }
        try ImageFile.write(image, to: output, options: ImageWriteOptions(niftiVersion: nifti2 ? 2 : 1, compress: compress))
    }
}
