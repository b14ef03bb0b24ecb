import ArgumentParser
import RegCore
import RegIO
import RegReport

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Write one plane of an image as a PNG picture, optionally with label contours.",
        discussion: """
        The plane is resampled in physical space and shown as 3D Slicer shows it (patient right on the left). \
        A 2-D image is shown as it is.
        Examples:
          swiftreg snapshot t1.nii.gz --slice axial:0.5 -o t1_axial.png
          swiftreg snapshot t1.nii.gz --slice coronal:12mm --overlay seg.nii.gz --lut lut.txt -o seg_coronal.png
        """)

    @OptionGroup var common: CommonOptions
    @Argument(help: "The image.") var image: String
    @Option(help: "VIEW:POSITION, e.g. axial:0.5, coronal:40%, sagittal:-12mm.") var slice = "axial:0.5"
    @Option(help: "Label image whose contours are drawn over the picture.") var overlay: String?
    @Option(help: "Label lookup table for the contour colours.") var lut: String?
    @Option(name: .shortAndLong, help: "Output PNG.") var output: String

    func validate() throws {
        guard output.lowercased().hasSuffix(".png") else { throw ValidationError("snapshot writes a PNG picture: give -o a name ending in .png, found '\(output)'") }
    }

    func run() throws {
        try common.apply()
        try OutputFolder.check(outputs: [output], inputs: [image] + [overlay, lut].compactMap { $0 })
        let picture = try ImageFile.read(image).image.floatImage()
        let plane = picture.geometry.dimension == 2 ? try SlicePlane(.plane, through: picture.geometry)
            : try ReportOptions.plane(slice, through: picture.geometry)
        var snapshot = Picture(grey: try plane.sample(picture), window: IntensityWindow(picture))
        if let overlay {
            let labels = try ImageFile.readLabels(overlay).converted(to: Float.self)
            let colors = try ReportSettings(lut: lut).table()?.colors ?? [:]
            snapshot.drawContours(of: try plane.sample(labels, interpolation: .label), colors: LabelColors(colors))
        }
        try RGBPNG.write(width: snapshot.width, height: snapshot.height, rgb: snapshot.rgb, to: output)
        print("\(plane.view.rawValue) plane, \(snapshot.width)×\(snapshot.height) pixels: \(output)")
    }
}
