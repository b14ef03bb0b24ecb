import ArgumentParser
import Foundation
import RegCore
import RegIO
import RegTransforms

struct JacobianCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jacobian",
        abstract: "Jacobian determinant (and its log) of a displacement field, in physical space.",
        discussion: """
        det J of x ↦ x + u(x), with u in LPS mm and the grid's direction cosines and spacing \
        honoured (unlike ITK's DisplacementFieldJacobianDeterminantFilter, which ignores the \
        direction). Prints the minimum, maximum, folded fraction (det J ≤ 0) and SDlogJ, over \
        --mask when given.
        Example:
          swiftreg jacobian reg_warp.nii.gz -o reg_jacobian.nii.gz --log reg_logjacobian.nii.gz
        """)

    @OptionGroup var common: CommonOptions
    @Argument(help: "Displacement field (a vector image, as register or ANTs write it).") var warp: String
    @Option(name: .shortAndLong, help: "Output image of det J.") var output: String
    @Option(help: "Also write log det J here (folded voxels get the log of 1e-6).") var log: String?
    @Option(help: "Mask (non-zero voxels) for the statistics, on the warp's grid.") var mask: String?

    func run() throws {
        try common.apply()
        _ = try ImageFile.format(of: output)
        try OutputFolder.check(outputs: [output] + [log].compactMap { $0 }, inputs: [warp] + [mask].compactMap { $0 })
        let field = DisplacementField(try TransformFile.readDisplacementField(warp))
        let detJ = field.jacobianDeterminant
        let maskImage = try mask.map { try ImageFile.readMask($0, on: detJ.geometry, role: warp) }
        let stats = JacobianStatistics(determinant: detJ, mask: maskImage)
        var logImage: Image<Float>?
        if log != nil {
            var l = detJ
            for i in l.voxels.indices { l.voxels[i] = Foundation.log(max(l.voxels[i], 1e-6)) }
            logImage = l
        }
        try ImageFile.write(detJ, to: output, options: .runLength)
        if let log, let logImage { try ImageFile.write(logImage, to: log, options: .runLength) }
        print(String(format: "det J over %d voxels: min %.4f, max %.4f, folded %d (%.4f %%), SDlogJ %.4f",
                     stats.voxels, stats.minimum, stats.maximum, stats.folded, 100 * stats.foldedFraction, stats.sdLogJ))
    }
}
