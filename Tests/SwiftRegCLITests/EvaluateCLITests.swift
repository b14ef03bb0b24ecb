import Foundation
import RegCore
import RegIO
import RegTestSupport
import Testing

/// `evaluate`, `snapshot` and `report` end to end on small oblique phantoms.
@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct EvaluateCLITests {
    let folder = TemporaryFolder()

    /// Two label images on an oblique grid (the second shifted 2 voxels in x) and their files.
    func labelFiles() throws -> (String, String) {
        let g = Phantoms.obliqueGeometry(size: SIMD3(24, 20, 14))
        let c = g.physicalPoint(ofIndex: SIMD3<Double>(g.size) / 2)
        func labels(shift: Double) -> Image<Int16> {
            Phantoms.image(on: g) { p in
                let q = g.continuousIndex(ofPhysicalPoint: p) - SIMD3(shift, 0, 0)
                let r = (p - c).length
                return r < 4 ? 2 : (q.x > 5 && q.x < 18 && q.y > 4 && q.y < 16 && q.z > 3 && q.z < 11) ? 1 : 0
            }.converted(to: Int16.self)
        }
        try ImageFile.write(labels(shift: 0), to: folder.file("a.nii.gz"))
        try ImageFile.write(labels(shift: 2), to: folder.file("b.nii.gz"))
        return (folder.file("a.nii.gz"), folder.file("b.nii.gz"))
    }

    @Test func writesTableJSONAndCSV() throws {
        let (a, b) = try labelFiles()
        try Data("1,box\n2,ball\n".utf8).write(to: URL(fileURLWithPath: folder.file("lut.csv")))
        let r = try CLI.run(["evaluate", "--labels", a, b, "--lut", folder.file("lut.csv"), "--json", folder.file("e.json"),
                             "--csv", folder.file("e.csv")])
        #expect(r.status == 0 && r.stdout.contains("box") && r.stdout.contains("mean"), "\(r.stdout)\(r.stderr)")
        struct Output: Decodable {
            struct Labels: Decodable {
                struct Label: Decodable { let id: Int; let name: String?; let dice: Double; let hd95: Double? }
                let labels: [Label]
            }
            let labels: Labels
        }
        let json = try JSONDecoder().decode(Output.self, from: try Data(contentsOf: URL(fileURLWithPath: folder.file("e.json"))))
        let box = try #require(json.labels.labels.first { $0.id == 1 })
        // The box spans 12 voxels in x and moved 2: Dice 10/12, and its x-faces moved 2 voxels.
        #expect(abs(box.dice - 10.0 / 12) < 0.02 && box.name == "box")
        let csv = try String(contentsOfFile: folder.file("e.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("section,item,name,measure,value\n") && csv.contains("labels,1,box,dice,"))
    }

    @Test func badInputIsExplained() throws {
        let (a, _) = try labelFiles()
        let other = folder.file("other.nii.gz")
        try ImageFile.write(Image<Int16>(geometry: try Geometry(size: SIMD3(10, 10, 10)), filledWith: 1), to: other)
        let grids = try CLI.run(["evaluate", "--labels", a, other])
        #expect(grids.status == 1 && grids.stderr.contains("different grids") && grids.stderr.contains("-t"), "\(grids.stderr)")
        try Data("1,box\n".utf8).write(to: URL(fileURLWithPath: folder.file("short.csv")))
        let lut = try CLI.run(["evaluate", "--labels", a, a, "--lut", folder.file("short.csv")])
        #expect(lut.status == 1 && lut.stderr.contains("label 2 is not in the lookup table"), "\(lut.stderr)")
        try Data("1,2,3\n4,5,6\n".utf8).write(to: URL(fileURLWithPath: folder.file("two.csv")))
        try Data("1,2,3\n".utf8).write(to: URL(fileURLWithPath: folder.file("one.csv")))
        let points = try CLI.run(["evaluate", "--landmarks", folder.file("two.csv"), folder.file("one.csv")])
        #expect(points.status == 1 && points.stderr.contains("2 and 1"), "\(points.stderr)")
    }

    @Test func snapshotAndReportAreWritten() throws {
        let (a, b) = try labelFiles()
        let snap = try CLI.run(["snapshot", a, "--slice", "coronal:40%", "--overlay", b, "-o", folder.file("s.png")])
        #expect(snap.status == 0, "\(snap.stderr)")
        #expect(try ImageFile.read(folder.file("s.png")).image.geometry.dimension == 2)
        let report = try CLI.run(["report", "-f", a, "-m", b, "--fixed-labels", a, "--moving-labels", b, "--slice", "axial:12mm",
                                  "-o", folder.file("r.html")])
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOfFile: folder.file("r.html"), encoding: .utf8)
        #expect(html.contains("axial, z = 12.0 mm") && html.contains("Dice"))
        let bad = try CLI.run(["snapshot", a, "--slice", "top:0.5", "-o", folder.file("x.png")])
        #expect(bad.status == 2 && bad.stderr.contains("VIEW:POSITION"), "\(bad.stderr)")
    }
}
