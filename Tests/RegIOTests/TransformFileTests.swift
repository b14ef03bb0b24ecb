import Foundation
import Testing
import RegCore
import RegIO
import RegKernels
import RegTestSupport

@Suite struct TransformFileTests {
    struct MappedPoint: Decodable { let `in`: [Double]; let out: [Double] }

    static let reference: [String: [MappedPoint]] = {
        let data = FileManager.default.contents(atPath: Fixtures.folder + "/transforms_reference.json") ?? Data()
        return (try? JSONDecoder().decode([String: [MappedPoint]].self, from: data)) ?? [:]
    }()

    static func vector(_ v: [Double]) -> SIMD3<Double> { SIMD3(v[0], v[1], v.count > 2 ? v[2] : 0) }

    /// Files written by SimpleITK and ANTs map points as those tools map them.
    @Test(arguments: ["euler3d.tfm", "similarity3d.txt", "versorrigid3d.tfm", "affine3d.mat", "affine3d.txt",
                      "euler2d.txt", "similarity2d.tfm", "ants_affine.mat"])
    func readsFilesWrittenByITKAndANTs(name: String) throws {
        let points = try #require(Self.reference[name])
        let records = try TransformFile.read(Fixtures.folder + "/transforms/" + name)
        #expect(records.count == 1)
        // antspyx maps points in single precision.
        let tolerance = name.hasPrefix("ants") ? 1e-5 : 1e-9
        for p in points {
            let mapped = records[0].map.apply(Self.vector(p.in))
            #expect(Approx.maxDifference(mapped, Self.vector(p.out)) < tolerance, "\(name): \(p.in) ↦ \(mapped), expected \(p.out)")
        }
    }

    static let oblique = AffineMap(matrix: Phantoms.rotation(7, -11, 23) * Matrix3.diagonal(SIMD3(1.1, 0.93, 1.04)),
                                   translation: SIMD3(4.25, -17.5, 9.125))

    @Test(arguments: ["a.txt", "a.tfm", "a.mat"])
    func roundTripIsExact3D(file: String) throws {
        let folder = TemporaryFolder()
        let record = LinearTransformRecord(map: Self.oblique, center: SIMD3(12.5, -30.25, 7), dimension: 3)
        try TransformFile.write([record], to: folder.file(file))
        let back = try TransformFile.read(folder.file(file))
        #expect(back.count == 1)
        #expect(back[0].map.matrix.maxAbsDifference(record.map.matrix) < 1e-14)
        #expect(Approx.maxDifference(back[0].map.translation, record.map.translation) < 1e-12)
        #expect(Approx.maxDifference(back[0].center, record.center) == 0 && back[0].dimension == 3)
    }

    @Test(arguments: ["b.txt", "b.mat"])
    func roundTripIsExact2D(file: String) throws {
        let folder = TemporaryFolder()
        let map = AffineMap(matrix: Matrix3(rows: SIMD3(0.98, -0.17, 0), SIMD3(0.18, 1.02, 0), SIMD3(0, 0, 1)), translation: SIMD3(13, 17.5, 0))
        try TransformFile.write([LinearTransformRecord(map: map, center: SIMD3(110, 128, 0), dimension: 2)], to: folder.file(file))
        let back = try TransformFile.read(folder.file(file))[0]
        #expect(back.dimension == 2)
        #expect(back.map.matrix.maxAbsDifference(map.matrix) < 1e-14 && Approx.maxDifference(back.map.translation, map.translation) < 1e-12)
    }

    @Test func compositeTextKeepsTheANTsOrder() throws {
        let folder = TemporaryFolder()
        let first = LinearTransformRecord(map: Self.oblique), second = LinearTransformRecord(map: AffineMap(translation: SIMD3(1, 2, 3)))
        try TransformFile.write([first, second], to: folder.file("c.txt"))
        let back = try TransformFile.read(folder.file("c.txt"))
        #expect(back.count == 2)
        #expect(Approx.maxDifference(back[1].map.translation, SIMD3(1, 2, 3)) < 1e-12)
        #expect(back[0].map.matrix.maxAbsDifference(Self.oblique.matrix) < 1e-14)
    }

    @Test func badTransformFilesAreRejectedWithTheField() throws {
        let folder = TemporaryFolder()
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: folder.file("x.txt")))
        #expect(throws: RegError.invalidHeader(path: folder.file("x.txt"), field: "magic",
                                               reason: "not an ITK transform file (no '#Insight Transform File' line)")) {
            try TransformFile.read(folder.file("x.txt"))
        }
        try Data("#Insight Transform File V1.0\nTransform: AffineTransform_double_3_3\nParameters: 1 0 0\nFixedParameters: 0 0 0\n".utf8)
            .write(to: URL(fileURLWithPath: folder.file("short.tfm")))
        #expect(throws: RegError.invalidHeader(path: folder.file("short.tfm"), field: "Parameters",
                                               reason: "AffineTransform_double_3_3 has 12 parameters, found 3")) {
            try TransformFile.read(folder.file("short.tfm"))
        }
        let good = try Data(contentsOf: URL(fileURLWithPath: Fixtures.folder + "/transforms/affine3d.mat"))
        try good.prefix(60).write(to: URL(fileURLWithPath: folder.file("cut.mat")))
        #expect(throws: RegError.self) { try TransformFile.read(folder.file("cut.mat")) }
        #expect(throws: RegError.unsupportedFormat(path: "t.xfm", supported: TransformFile.supportedExtensions)) {
            try TransformFile.write([LinearTransformRecord(map: .identity)], to: "t.xfm")
        }
    }
}

@Suite struct LandmarkFileTests {
    static let points = Landmarks(points: [SIMD3(10.5, -20.25, 33), SIMD3(-47, 61.5, -12.75), SIMD3(0.125, 3, 4)],
                                  labels: ["AC", "PC", "tip"])

    @Test(arguments: ["p.csv", "p.fcsv", "p.mrk.json"])
    func roundTripKeepsLPSPointsAndLabels(file: String) throws {
        let folder = TemporaryFolder()
        try LandmarkFile.write(Self.points, to: folder.file(file))
        let back = try LandmarkFile.read(folder.file(file))
        #expect(back.labels == Self.points.labels)
        for (a, b) in zip(back.points, Self.points.points) { #expect(Approx.maxDifference(a, b) < 1e-9) }
    }

    @Test func slicerFilesAreRASAndCSVWithoutHeaderIsLPS() throws {
        let folder = TemporaryFolder()
        try Data("# Markups fiducial file version = 4.11\n# CoordinateSystem = RAS\n# columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID\nvtkMRMLMarkupsFiducialNode_0,-12,34.5,7,0,0,0,1,1,1,0,F-1,,\n".utf8)
            .write(to: URL(fileURLWithPath: folder.file("s.fcsv")))
        #expect(try LandmarkFile.read(folder.file("s.fcsv")).points == [SIMD3(12, -34.5, 7)])
        try Data("1,2,3\n4,5,6\n".utf8).write(to: URL(fileURLWithPath: folder.file("plain.csv")))
        #expect(try LandmarkFile.read(folder.file("plain.csv")).points == [SIMD3(1, 2, 3), SIMD3(4, 5, 6)])
        try Data("x,y,z\n1,2,oops\n".utf8).write(to: URL(fileURLWithPath: folder.file("bad.csv")))
        #expect(throws: RegError.invalidHeader(path: folder.file("bad.csv"), field: "line 2", reason: "expected finite x,y,z numbers, found '1,2,oops'")) {
            try LandmarkFile.read(folder.file("bad.csv"))
        }
    }
}

extension LandmarkFileTests {
    /// A Slicer 5 markups file in RAS, as Slicer writes it: a point list with a point not yet
    /// placed (skipped), and a line markup (not landmarks).
    @Test func slicerMarkupsJSONIsReadInLPS() throws {
        let folder = TemporaryFolder()
        let text = """
        {"@schema": "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json#",
         "markups": [
          {"type": "Line", "coordinateSystem": "LPS", "controlPoints": [{"id": "1", "label": "L-1", "position": [1, 2, 3], "positionStatus": "defined"}]},
          {"type": "Fiducial", "coordinateSystem": "RAS", "coordinateUnits": "mm", "locked": false, "labelFormat": "%N-%d",
           "controlPoints": [
            {"id": "1", "label": "AC", "description": "", "associatedNodeID": "", "position": [-12.0, 34.5, 7.25],
             "orientation": [-1.0, -0.0, -0.0, -0.0, -1.0, -0.0, 0.0, 0.0, 1.0], "selected": true, "locked": false, "visibility": true, "positionStatus": "defined"},
            {"id": "2", "label": "PC", "position": [0.0, 0.0, 0.0], "positionStatus": "undefined"},
            {"id": "3", "label": "tip", "position": [1e-3, -2, 3], "positionStatus": "defined"}],
           "measurements": [], "display": {"visibility": true, "opacity": 1.0}}]}
        """
        try Data(text.utf8).write(to: URL(fileURLWithPath: folder.file("F.mrk.json")))
        let read = try LandmarkFile.read(folder.file("F.mrk.json"))
        #expect(read.points == [SIMD3(12, -34.5, 7.25), SIMD3(-1e-3, 2, 3)])
        #expect(read.labels == ["AC", "tip"])
        try Data(#"{"markups": [{"type": "Line", "controlPoints": []}]}"#.utf8).write(to: URL(fileURLWithPath: folder.file("line.mrk.json")))
        #expect(throws: RegError.invalidHeader(path: folder.file("line.mrk.json"), field: "markups", reason: "no defined point of a Fiducial markup (found only: Line)")) {
            try LandmarkFile.read(folder.file("line.mrk.json"))
        }
        try Data(#"{"markups": [{"type": "Fiducial", "controlPoints": [{"position": [1, "a", 3]}]}]}"#.utf8).write(to: URL(fileURLWithPath: folder.file("bad.mrk.json")))
        #expect(throws: RegError.invalidHeader(path: folder.file("bad.mrk.json"), field: "markups[0].controlPoints[0].position", reason: "expected three finite numbers")) {
            try LandmarkFile.read(folder.file("bad.mrk.json"))
        }
    }

    @Test func elastixPointSetsAreRead() throws {
        let folder = TemporaryFolder()
        try Data("point\n2\n-36.35 -36.974 -1204.5\n1.5\t2 3\n".utf8).write(to: URL(fileURLWithPath: folder.file("pts.txt")))
        #expect(try LandmarkFile.read(folder.file("pts.txt")).points == [SIMD3(-36.35, -36.974, -1204.5), SIMD3(1.5, 2, 3)])
        try Data("index\n1\n3 4 5\n".utf8).write(to: URL(fileURLWithPath: folder.file("index.txt")))
        #expect(throws: RegError.self) { try LandmarkFile.read(folder.file("index.txt")) }
        try Data("point\n3\n1 2 3\n4 5 6\n".utf8).write(to: URL(fileURLWithPath: folder.file("short.txt")))
        #expect(throws: RegError.invalidHeader(path: folder.file("short.txt"), field: "points", reason: "the header says 3 points, the file holds 2")) {
            try LandmarkFile.read(folder.file("short.txt"))
        }
    }

    /// A token that is not a number — a word, or a digit of another script (Arabic-Indic ٦) —
    /// is an error naming the line, not skipped (which read "4 5 ٦" as the 2-D point (4, 5)).
    @Test func elastixPointsWithATokenThatIsNotANumberAreRefused() throws {
        let folder = TemporaryFolder()
        for (name, line) in [("arabic.txt", "4 5 \u{666}"), ("word.txt", "4 x 5 6")] {
            try Data("point\n2\n1 2 3\n\(line)\n".utf8).write(to: URL(fileURLWithPath: folder.file(name)))
            #expect(throws: RegError.invalidHeader(path: folder.file(name), field: "line 4", reason: "expected 2 or 3 numbers, found '\(line)'")) {
                try LandmarkFile.read(folder.file(name))
            }
        }
    }
}

/// SimpleITK and ANTs apply our transform files as we do (live, when Python has them).
@Suite struct TransformInteropTests {
    static let antsAvailable: Bool = (try? PythonOracle.run("import ants, SimpleITK", arguments: [])) != nil

    @Test(.enabled(if: antsAvailable, "python3 with antspyx and SimpleITK not installed"))
    func simpleITKAndANTsWarpLikeSwiftReg() throws {
        let folder = TemporaryFolder()
        let movingGrid = Phantoms.obliqueGeometry(size: SIMD3(30, 26, 20))
        let moving = Phantoms.image(on: movingGrid) { p in 100 * sin(0.09 * p.x) * cos(0.06 * p.y) + 40 * sin(0.05 * p.z) + 150 }
        let c = movingGrid.physicalPoint(ofIndex: SIMD3(15, 13, 10))
        let map = AffineMap(matrix: Phantoms.rotation(4, -6, 9) * Matrix3.diagonal(SIMD3(1.05, 0.96, 1.02)), translation: SIMD3(2.5, -1.75, 1), center: c)
        let reference = try Geometry(size: SIMD3(28, 24, 18), spacing: SIMD3(1.1, 1.2, 1.7), origin: movingGrid.origin + SIMD3(1, -2, 1.5),
                                     direction: Phantoms.rotation(-10, 6, 12))
        try ImageFile.write(moving, to: folder.file("moving.nii.gz"))
        try ImageFile.write(Image<Float>(geometry: reference), to: folder.file("reference.nii.gz"))
        let record = LinearTransformRecord(map: map, center: c, dimension: 3)
        try TransformFile.write([record], to: folder.file("t.txt"))
        try TransformFile.write([record], to: folder.file("t.mat"))
        let ours = try Resampler.resample(moving, onto: reference, mapping: PointMapping(map),
                                          interpolation: .linear)
        let script = """
        import sys, SimpleITK as sitk, ants
        d = sys.argv[1]
        m = sitk.ReadImage(d + '/moving.nii.gz'); r = sitk.ReadImage(d + '/reference.nii.gz')
        for name in ['t.txt', 't.mat']:
            out = sitk.Resample(m, r, sitk.ReadTransform(d + '/' + name), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
            sitk.WriteImage(out, d + '/sitk_' + name + '.nii.gz')
            a = ants.apply_transforms(fixed=ants.image_read(d + '/reference.nii.gz'), moving=ants.image_read(d + '/moving.nii.gz'),
                                      transformlist=[d + '/' + name], interpolator='linear')
            ants.image_write(a, d + '/ants_' + name + '.nii.gz')
        """
        _ = try PythonOracle.run(script, arguments: [folder.path])
        let range = Double(moving.voxels.max()! - moving.voxels.min()!)
        for tool in ["sitk", "ants"] { for name in ["t.txt", "t.mat"] {
            let theirs = try ImageFile.read(folder.file("\(tool)_\(name).nii.gz")).image.floatImage()
            #expect(theirs.geometry.size == reference.size)
            // Compare where both sampled inside the moving image (edges differ in convention).
            var worst = 0.0, compared = 0
            for (a, b) in zip(ours.voxels, theirs.voxels) where a != 0 && b != 0 {
                worst = max(worst, Double(abs(a - b))); compared += 1
            }
            #expect(compared > reference.voxelCount / 3, "\(tool) \(name): only \(compared) voxels overlap")
            #expect(worst < 1e-3 * range, "\(tool) \(name): max difference \(worst) of range \(range)")
        } }
    }
}
