import ArgumentParser
import RegCore
import RegIO
import RegKernels

extension Interpolation: ExpressibleByArgument {}

struct ResampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resample",
        abstract: "Resample an image onto another image's grid or to a new spacing, in physical space.",
        discussion: """
        The voxel type is kept (linear and B-spline values are rounded for integer images).
        Use --interp label for label maps: it never invents labels.
        Examples:
          swiftreg resample seg.nii.gz seg_on_T1.nii.gz --like T1.nii.gz --interp label
          swiftreg resample ct.mha ct_2mm.nii.gz --spacing 2
          swiftreg resample slice.nii.gz out.nii.gz --spacing 0.5,0.5 --interp bspline
        """)

    @OptionGroup var common: CommonOptions
    @Argument(help: "Input image.") var input: String
    @Argument(help: "Output image.") var output: String
    @Option(help: "Reference image whose grid the output takes.") var like: String?
    @Option(help: "New spacing in mm: one value or one per axis (comma-separated); the field of view is kept.")
    var spacing: String?
    @Option(help: "Interpolation: nearest, linear, bspline or label.") var interp: Interpolation = .linear
    @Option(name: .customLong("default"), help: "Value outside the input image.") var defaultValue: Double = 0

    func validate() throws {
        if (like == nil) == (spacing == nil) { throw ValidationError("give exactly one of --like REF or --spacing S") }
    }

    func run() throws {
        try common.apply()
        _ = try ImageFile.format(of: output)
        try OutputFolder.check(outputs: [output], inputs: [input] + [like].compactMap { $0 })
        let image = try ImageFile.read(input).image
        let target: Geometry
        if let ref = like {
            target = try ImageFile.read(ref).image.geometry
        } else {
            let values = spacing!.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! > 0 && $0!.isFinite }) else {
                throw ValidationError("--spacing takes positive numbers, e.g. 2 or 1,1,2.5; found '\(spacing!)'")
            }
            let v = values.map { $0! }
            let n = image.geometry.dimension
            guard v.count == 1 || v.count == n else { throw ValidationError("--spacing needs 1 or \(n) values, found \(v.count)") }
            var s = image.geometry.spacing
            for a in 0..<n { s[a] = v.count == 1 ? v[0] : v[a] }
            target = try image.geometry.resampled(toSpacing: s)
        }
        let out = try image.resampled(onto: target, interpolation: interp, defaultValue: defaultValue)
        try ImageFile.write(out, to: output)
    }
}
