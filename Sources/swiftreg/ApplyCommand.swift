import ArgumentParser
import Foundation
import RegCore
import RegIO
import RegKernels
import RegTransforms
import SwiftRegKit

struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Warp an image onto a reference grid through a chain of transforms.",
        discussion: """
        Each output voxel at fixed-space point x takes the input's value at Tn(…T2(T1(x))) for \
        -t T1 -t T2 … -t Tn: ANTs order, in which points go through the first transform first and \
        the image, seen the other way, is moved by the last one first. The chain is printed.
        Example:
          swiftreg apply -i moving.nii.gz -r fixed.nii.gz -t reg_affine.txt -o moving_on_fixed.nii.gz
          swiftreg apply -i seg.nii.gz -r fixed.nii.gz -t reg_warp.nii.gz -t reg_affine.txt --interp label -o seg_on_fixed.nii.gz
        """)

    @OptionGroup var common: CommonOptions
    @Option(name: .shortAndLong, help: "Image to warp (the moving image).") var input: String
    @Option(name: .shortAndLong, help: "Reference image whose grid the output takes (the fixed image).") var reference: String
    @OptionGroup var transformOptions: TransformOptions
    @Option(help: "Interpolation: nearest, linear, bspline or label.") var interp: Interpolation = .linear
    @Option(name: .customLong("default"), help: "Value outside the input image.") var defaultValue: Double = 0
    @Option(name: .shortAndLong, help: "Output image.") var output: String

    func run() throws {
        try common.apply()
        try OutputFolder.check(outputs: [output], inputs: [input, reference] + TransformFiles.paths(transformOptions.transforms))
        let chain = try transformOptions.chain()
        FileHandle.standardError.write(Data("\(chain)\n".utf8))
        try TransformFiles.apply(input: input, reference: reference, chain: chain, interpolation: interp, defaultValue: defaultValue,
                                 output: output)
    }
}

struct ApplyPointsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply-points",
        abstract: "Map points (CSV in LPS mm, Slicer .fcsv, or an elastix point set) through a chain of transforms.",
        discussion: """
        Points map the OPPOSITE way to images. A registration's transform maps fixed-space points \
        to moving-space points, which is what warps the moving image onto the fixed grid. So the \
        chain that warps an image from moving to fixed space carries points from FIXED to MOVING \
        space; to bring points picked on the moving image into fixed space, give the inverse \
        transforms in reverse order: -t [reg_affine.txt,1]. As ANTs' antsApplyTransformsToPoints.
        Example:
          swiftreg apply-points -p fixed_points.csv -t reg_affine.txt -o points_in_moving.csv
        """)

    @OptionGroup var common: CommonOptions
    @Option(name: .shortAndLong, help: "Points file (.csv x,y,z[,label] in LPS mm, Slicer .fcsv, or an elastix point set .txt).") var points: String
    @OptionGroup var transformOptions: TransformOptions
    @Option(name: .shortAndLong, help: "Output points file (.csv or .fcsv).") var output: String

    func run() throws {
        try common.apply()
        try OutputFolder.check(outputs: [output], inputs: [points] + TransformFiles.paths(transformOptions.transforms))
        let chain = try transformOptions.chain()
        FileHandle.standardError.write(Data("\(chain)\n".utf8))
        try TransformFiles.applyToPoints(input: points, chain: chain, output: output)
    }
}
