import Foundation
import Testing
import RegAnalysis
import RegCore
import RegIO
import RegReport
import RegTestSupport
import RegTransforms

@Suite struct SlicePlaneTests {
    /// A blob at the patient's left, anterior, superior corner of an oblique, anisotropic image
    /// with a non-zero origin must appear where 3D Slicer draws it: right of centre (left is on
    /// the right), top in axial (anterior up), top in coronal and sagittal (superior up), left in
    /// sagittal (anterior on the left).
    @Test func anatomyLandsWhereViewersDrawIt() throws {
        let g = try Geometry(size: SIMD3(40, 36, 30), spacing: SIMD3(1.1, 0.9, 1.6), origin: SIMD3(-20, 14, 3),
                             direction: Phantoms.rotation(0.3, -0.2, 0.25))
        let centre = g.physicalPoint(ofIndex: SIMD3<Double>(g.size) / 2)
        let blob = centre + SIMD3(9, -8, 10)   // LPS: +x left, −y anterior, +z superior
        let image = Phantoms.image(on: g) { p in ((p - blob) * (p - blob)).sum() < 16 ? 1 : 0 }
        func centroid(_ view: SlicePlane.View, cut: Double) throws -> (x: Double, y: Double, w: Int, h: Int) {
            let plane = try SlicePlane(view, through: g, at: .millimetres(cut))
            let s = try plane.sample(image)
            var sx = 0.0, sy = 0.0, n = 0.0
            for y in 0..<plane.height { for x in 0..<plane.width where s.voxels[x + plane.width * y] > 0.5 {
                sx += Double(x); sy += Double(y); n += 1
            } }
            #expect(n > 0, "blob missing in the \(view) plane")
            return (sx / max(n, 1), sy / max(n, 1), plane.width, plane.height)
        }
        let axial = try centroid(.axial, cut: blob.z), coronal = try centroid(.coronal, cut: blob.y)
        let sagittal = try centroid(.sagittal, cut: blob.x)
        // The image centre on each picture, from the same plane geometry.
        func centreOnPicture(_ view: SlicePlane.View, cut: Double) throws -> SIMD3<Double> {
            try SlicePlane(view, through: g, at: .millimetres(cut)).geometry.continuousIndex(ofPhysicalPoint: centre)
        }
        let ca = try centreOnPicture(.axial, cut: blob.z), cc = try centreOnPicture(.coronal, cut: blob.y)
        let cs = try centreOnPicture(.sagittal, cut: blob.x)
        #expect(axial.x > ca.x + 5 && axial.y < ca.y - 5)          // left → right of picture, anterior → up
        #expect(coronal.x > cc.x + 5 && coronal.y < cc.y - 5)      // left → right, superior → up
        #expect(sagittal.x < cs.x - 5 && sagittal.y < cs.y - 5)    // anterior → left, superior → up
    }

    @Test func deformedGridIsStraightForZeroFieldAndBendsWithIt() throws {
        let g = try Geometry(size: SIMD3(30, 30, 1), spacing: SIMD3(1, 1, 1), dimension: 2)
        let plane = try SlicePlane(.plane, through: g)
        var zero = Picture(width: 30, height: 30, rgb: [UInt8](repeating: 0, count: 2700))
        let field = Image<Float>(geometry: g, components: 2)
        zero.drawDeformedGrid(displacement: field, plane: plane, spacing: 5)
        let lit = { (p: Picture, x: Int, y: Int) in p.rgb[3 * (x + 30 * y)] != 0 }
        #expect(lit(zero, 4, 12) && lit(zero, 9, 20) && !lit(zero, 6, 7))   // columns 4, 9, … and rows 4, 9, …
        var shifted = field
        for i in 0..<900 { shifted.voxels[2 * i] = 2 }   // u = +2 mm in x: lines move 2 pixels left
        var moved = Picture(width: 30, height: 30, rgb: [UInt8](repeating: 0, count: 2700))
        moved.drawDeformedGrid(displacement: shifted, plane: plane, spacing: 5)
        #expect(lit(moved, 2, 12) && !lit(moved, 4, 12))
    }
}

@Suite struct HTMLReportTests {
    static func smallReport() throws -> HTMLReport {
        let g = Phantoms.obliqueGeometry(size: SIMD3(24, 22, 16))
        let centre = g.physicalPoint(ofIndex: SIMD3<Double>(g.size) / 2)
        let fixed = Phantoms.image(on: g) { p in exp(-((p - centre) * (p - centre)).sum() / 60) }
        let moving = Phantoms.image(on: g) { p in exp(-((p - centre - 1.5) * (p - centre - 1.5)).sum() / 50) }
        let labels = fixed.voxels.map { $0 > 0.5 ? Float(2) : $0 > 0.1 ? 1 : 0 }
        let labelImage = try Image(geometry: g, voxels: labels)
        let warp = DisplacementField(VectorField(sampling: g) { p in p + SIMD3(0.8 * sin(p.y / 6), 0, 0.5) })
        let images = ReportImages(fixed: fixed, moving: moving, warped: moving, displacement: warp.field,
                                  jacobian: warp.jacobianDeterminant, fixedLabels: labelImage, warpedLabels: labelImage)
        var report = HTMLReport(title: "phantom <test>")
        report.facts = [("fixed", "phantom")]
        report.figures = try images.rows(planes: SlicePlane.middle(of: g))
        report.labels = try LabelEvaluation(reference: labelImage.converted(to: Int32.self), test: labelImage.converted(to: Int32.self))
        report.jacobian = JacobianStatistics(determinant: warp.jacobianDeterminant)
        report.curves = [.init(title: "level 1", values: [3, 2, 1.5, 1.2])]
        report.timings = [["stage", "seconds"], ["SyN", "1.0"]]
        return report
    }

    @Test func pageHoldsEveryPanelAndTable() throws {
        let html = try Self.smallReport().html
        #expect(html.components(separatedBy: "<img ").count - 1 == 3 * 9)   // 3 planes × 9 panels
        #expect(html.contains("phantom &lt;test&gt;"))                     // titles are escaped
        #expect(html.contains("<polyline") && html.contains("Dice") && html.contains("SDlogJ"))
        #expect(!html.contains("src=\"http"))                               // self-contained
    }

    /// The page renders in a real headless browser: a screenshot of the right size with the
    /// black picture backgrounds and the light page both present.
    @Test(.enabled(if: Chromium.path != nil, "chromium not installed (Debian package chromium)"))
    func rendersInHeadlessChromium() throws {
        let folder = TemporaryFolder()
        try TextFile.write(try Self.smallReport().html, to: folder.file("report.html"))
        _ = try PythonOracle.runProcess([Chromium.path!, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                         "--window-size=1200,1600", "--screenshot=" + folder.file("shot.png"),
                                         "file://" + folder.file("report.html")])
        let shot = try ImageFile.read(folder.file("shot.png")).image.floatImage()
        #expect(shot.geometry.size.x == 1200 && shot.geometry.size.y == 1600)
        let dark = shot.voxels.filter { $0 < 10 }.count, light = shot.voxels.filter { $0 > 240 }.count
        #expect(dark > 20_000, "no picture panels drawn (\(dark) dark pixels)")
        #expect(light > 200_000, "no page background (\(light) light pixels)")
    }
}

enum Chromium {
    static let path: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
}
