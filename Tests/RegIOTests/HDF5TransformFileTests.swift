import Foundation
import Testing
import RegCore
import RegIO
import RegKernels
import RegTransforms
import RegTestSupport

/// ITK `.h5` transforms: files written by ANTs (antspyx, `write_composite_transform`) and
/// SimpleITK map points as those tools map them (`Fixtures/make_h5_fixtures.py`); ours open in
/// SimpleITK and ANTs and map the same (live, where Python has them).
@Suite struct HDF5TransformFileTests {
    static let folder = Fixtures.folder + "/h5/"
    struct MappedPoint: Decodable { let `in`: [Double]; let out: [Double] }

    static let reference: [String: [MappedPoint]] = {
        let data = FileManager.default.contents(atPath: Fixtures.folder + "/h5_reference.json") ?? Data()
        return (try? JSONDecoder().decode([String: [MappedPoint]].self, from: data)) ?? [:]
    }()

    static func vector(_ v: [Double]) -> SIMD3<Double> { SIMD3(v[0], v[1], v.count > 2 ? v[2] : 0) }

    /// ANTs' composites (affine, then a SyN field, applied field first) and SimpleITK's B-spline,
    /// 2-D field and composite map every reference point as their tools do (ANTs' points are
    /// single precision).
    @Test(arguments: [("ants_Composite.h5", 2), ("ants_InverseComposite.h5", 2), ("sitk_bspline3d.h5", 1),
                      ("sitk_field2d.h5", 1), ("sitk_composite.h5", 2)])
    func filesWrittenByANTsAndSimpleITKMapPointsAsTheyDo(name: String, count: Int) throws {
        let points = try #require(Self.reference[name])
        let transforms = try HDF5TransformFile.read(Self.folder + name)
        #expect(transforms.count == count)
        let chain = Fixtures.chain(transforms)
        let tolerance = name.hasPrefix("ants") ? 1e-4 : 1e-6
        var worst = 0.0, moved = 0.0
        for p in points {
            let mapped = chain.map(Self.vector(p.in))
            worst = max(worst, Approx.maxDifference(mapped, Self.vector(p.out)))
            moved = max(moved, Approx.maxDifference(Self.vector(p.in), Self.vector(p.out)))
        }
        #expect(moved > 0.5, "\(name): the fixture's points move by \(moved) mm at most")
        #expect(worst < tolerance, "\(name): largest difference \(worst) mm")
    }

    /// ANTs' composite applied to the moving image gives ANTs' warped image.
    @Test func antsCompositeWarpsAsANTsDoes() throws {
        let moving = try ImageFile.read(Fixtures.folder + "/warps/moving.nii.gz").image.floatImage()
        let fixed = try ImageFile.read(Fixtures.folder + "/warps/fixed.nii.gz").image.geometry
        let chain = Fixtures.chain(try HDF5TransformFile.read(Self.folder + "ants_Composite.h5"))
        let ours = try Resampler.resample(moving, onto: fixed, mapping: chain.mapping(onto: fixed))
        let theirs = try ImageFile.read(Self.folder + "ants_warped.nii.gz").image.floatImage()
        let range = Double(moving.voxels.max()! - moving.voxels.min()!)
        let worst = zip(ours.voxels, theirs.voxels).map { Double(abs($0 - $1)) }.max()!
        #expect(worst < 1e-3 * range, "largest difference \(worst) of \(range)")
    }

    /// Writing and reading back keeps every transform (the composite order included).
    @Test func roundTripKeepsTheChain() throws {
        let folder = TemporaryFolder()
        for name in ["ants_Composite.h5", "sitk_composite.h5", "sitk_field2d.h5"] {
            let transforms = try HDF5TransformFile.read(Self.folder + name)
            try HDF5TransformFile.write(transforms, to: folder.file("copy.h5"))
            let back = try HDF5TransformFile.read(folder.file("copy.h5"))
            let a = Fixtures.chain(transforms), b = Fixtures.chain(back)
            for p in try #require(Self.reference[name]) {
                #expect(Approx.maxDifference(a.map(Self.vector(p.in)), b.map(Self.vector(p.in))) < 1e-9, "\(name)")
            }
        }
    }

    /// `TransformFile.read` takes an `.h5` of linear transforms in ITK's order, and refuses one with a field.
    @Test func linearReaderTakesLinearH5Only() throws {
        let folder = TemporaryFolder()
        let a = LinearTransformRecord(map: AffineMap(matrix: .rotation(axis: 2, angle: 0.2), translation: SIMD3(1, 2, 3)), center: SIMD3(4, 5, 6))
        let b = LinearTransformRecord(map: AffineMap(translation: SIMD3(-7, 0, 2)))
        try HDF5TransformFile.write([.linear(a), .linear(b)], to: folder.file("two.h5"))
        let records = try TransformFile.read(folder.file("two.h5"))
        #expect(records.count == 2)
        let p = SIMD3<Double>(3, -1, 7)
        #expect(Approx.maxDifference(records[0].map.apply(records[1].map.apply(p)), b.map.apply(a.map.apply(p))) < 1e-12)
        #expect(throws: RegError.self) { try TransformFile.read(Self.folder + "sitk_field2d.h5") }
    }

    static let liveAvailable: Bool = (try? PythonOracle.run("import ants, SimpleITK", arguments: [])) != nil

    /// A composite we write (an affine, then a displacement field applied first, as `register`
    /// writes) maps points in SimpleITK and warps images in ANTs as it does here.
    @Test(.enabled(if: liveAvailable, "python3 with antspyx and SimpleITK not installed"))
    func ourCompositeOpensInSimpleITKAndANTs() throws {
        let tmp = TemporaryFolder()
        let fixed = try ImageFile.read(Fixtures.folder + "/warps/fixed.nii.gz").image.geometry
        let moving = try ImageFile.read(Fixtures.folder + "/warps/moving.nii.gz").image.floatImage()
        var u = VectorField(geometry: fixed)
        for z in 0..<fixed.size.z { for y in 0..<fixed.size.y { for x in 0..<fixed.size.x {
            let p = fixed.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
            u[x, y, z] = SIMD3<Float>(SIMD3(1.5 * sin(0.3 * p.y), -1.2 * cos(0.25 * p.x), 0.8 * sin(0.2 * p.z + 0.1 * p.x)))
        } } }
        let affine = LinearTransformRecord(map: AffineMap(matrix: Matrix3(rowMajor: [1.03, 0.02, -0.01, -0.02, 0.97, 0.03, 0.01, 0.0, 1.02]),
                                                          translation: SIMD3(1.2, -0.7, 0.4)), center: SIMD3(-3, 28, 15))
        try HDF5TransformFile.write([.displacement(u), .linear(affine)], to: tmp.file("composite.h5"))
        try ImageFile.write(moving, to: tmp.file("moving.nii.gz"))
        try ImageFile.write(Image<Float>(geometry: fixed), to: tmp.file("reference.nii.gz"))
        let chain = TransformChain([.displacement(DisplacementField(u)), .affine(affine.map)])
        var points: [SIMD3<Double>] = []
        for i in 0..<8 {
            let index = SIMD3<Double>(Double(2 + 2 * i), Double(3 + i), Double(2 + i))
            points.append(fixed.physicalPoint(ofIndex: index))
        }
        let lines: [String] = points.map { p in "\(p.x),\(p.y),\(p.z)" }
        try lines.joined(separator: "\n").write(toFile: tmp.file("points.csv"), atomically: true, encoding: .utf8)
        let mapped = try PythonOracle.run("""
        import sys, ants, SimpleITK as sitk
        d = sys.argv[1]
        t = sitk.ReadTransform(d + '/composite.h5')
        for line in open(d + '/points.csv'):
            print(*t.TransformPoint([float(v) for v in line.split(',')]))
        r = ants.image_read(d + '/reference.nii.gz'); m = ants.image_read(d + '/moving.nii.gz')
        ants.image_write(ants.apply_transforms(r, m, transformlist=[d + '/composite.h5'], interpolator='linear'), d + '/ants.nii.gz')
        """, arguments: [tmp.path])
        let rows = mapped.split(separator: "\n").map { $0.split(separator: " ").compactMap { Double($0) } }
        #expect(rows.count == points.count)
        for (p, row) in zip(points, rows) {
            #expect(Approx.maxDifference(chain.map(p), Self.vector(row)) < 1e-4, "SimpleITK maps \(p) to \(row)")
        }
        let ours = try Resampler.resample(moving, onto: fixed, mapping: chain.mapping(onto: fixed))
        let theirs = try ImageFile.read(tmp.file("ants.nii.gz")).image.floatImage()
        let range = Double(moving.voxels.max()! - moving.voxels.min()!)
        let worst = zip(ours.voxels, theirs.voxels).map { Double(abs($0 - $1)) }.max()!
        #expect(worst < 1e-3 * range, "ANTs: largest difference \(worst) of \(range)")
    }

    /// Files that are not ITK transforms, or hold a type we do not read, give errors naming the file and the field.
    @Test func badFilesGiveClearErrors() throws {
        let folder = TemporaryFolder()
        try Data("not hdf5".utf8).write(to: URL(fileURLWithPath: folder.file("text.h5")))
        #expect(throws: RegError.invalidHeader(path: folder.file("text.h5"), field: "format", reason: "not an HDF5 file")) {
            try HDF5TransformFile.read(folder.file("text.h5"))
        }
        #expect(throws: RegError.unreadableFile(path: folder.file("none.h5"), reason: "no such file")) {
            try HDF5TransformFile.read(folder.file("none.h5"))
        }
        // A file we write with a type name changed to one we do not read.
        let transforms = try HDF5TransformFile.read(Self.folder + "sitk_bspline3d.h5")
        try HDF5TransformFile.write(transforms, to: folder.file("b.h5"))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: folder.file("b.h5")))
        let from = Data("BSplineTransform_double_3_3".utf8), to = Data("KernelTransformX_double_3_3".utf8)
        let range = try #require(bytes.range(of: from))
        bytes.replaceSubrange(range, with: to)
        try bytes.write(to: URL(fileURLWithPath: folder.file("kernel.h5")))
        do {
            _ = try HDF5TransformFile.read(folder.file("kernel.h5"))
            Issue.record("an unsupported type was read")
        } catch {
            #expect("\(error)".contains("kernel.h5") && "\(error)".contains("KernelTransformX"), "\(error)")
        }
    }
}
