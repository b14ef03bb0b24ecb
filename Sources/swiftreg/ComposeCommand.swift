import ArgumentParser
import RegCore
import RegIO
import RegTransforms
import SwiftRegKit

struct ComposeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compose",
        abstract: "Compose a chain of transforms into one displacement field on a reference grid.",
        discussion: """
        The field holds map(x) − x at every voxel x of the reference grid (LPS mm, as ANTs writes \
        warps), where map sends x through the -t transforms in ANTs order: what \
        `antsApplyTransforms -o [FIELD,1]` writes. One field then stands for an affine plus warp \
        result, for det J statistics or comparison with a known transform.
        Example: swiftreg compose -r fixed.nii.gz -t reg_warp.nii.gz -t reg_affine.txt -o reg_total_warp.nii.gz
        """)

    @OptionGroup var common: CommonOptions
    @Option(name: .shortAndLong, help: "Reference image whose grid the field takes (the fixed image).") var reference: String
    @OptionGroup var transformOptions: TransformOptions
    @Option(name: .shortAndLong, help: "Output displacement field (.nii.gz, .mha, .nrrd).") var output: String

    func run() throws {
        try common.apply()
        try OutputFolder.check(outputs: [output], inputs: [reference] + TransformFiles.paths(transformOptions.transforms))
        let chain = try transformOptions.chain()
        try TransformFiles.compose(chain: chain, reference: reference, output: output)
    }
}
