import ArgumentParser
import RegTransforms
import SwiftRegKit

/// `-t` options in ANTs order: the first transform listed is applied to a fixed-space point first.
struct TransformOptions: ParsableArguments {
    @Option(name: .customShort("t"), parsing: .singleValue,
            help: "Transform, repeatable, in ANTs order: points go through the FIRST one first (-t warp.nii.gz -t affine.txt). ITK .txt/.tfm, ANTs .mat, or a displacement field image (.nii.gz, .mha, .nrrd). [file,1] uses the inverse.")
    var transforms: [String] = []

    /// The chain the options describe (identity when none is given).
    func chain() throws -> TransformChain { try TransformFiles.chain(transforms) }
}
