import Foundation
import Testing
import RegCore
import RegIO
import RegTransforms
import RegTestSupport

/// elastix chains read as transformix applies them: every fixed voxel maps where transformix's
/// deformation field (`-def all`) says (fixtures by `Fixtures/make_elastix_fixtures.py`, elastix 5
/// from Debian, on oblique anisotropic grids with non-zero origins).
@Suite struct ElastixParameterFileTests {
    static let folder = Fixtures.folder + "/elastix/"

    /// Euler then B-spline (2-D); Euler, affine, then B-spline (3-D). The earlier files are named by
    /// paths that no longer exist, so the reader finds them beside the last one.
    @Test(arguments: [("chain2d", 1), ("chain3d", 2)])
    func chainMapsEveryVoxelAsTransformixDoes(name: String, last: Int) throws {
        let transforms = try ElastixParameterFile.read(Self.folder + "\(name)_TransformParameters.\(last).txt")
        #expect(transforms.count == last + 1)
        guard case .bspline = transforms.last else { Issue.record("the last transform is not the B-spline"); return }
        let chain = Fixtures.chain(transforms)
        let field = try TransformFile.readDisplacementField(Self.folder + "\(name)_deformation.nii.gz")
        let fixed = try ImageFile.read(Self.folder + "\(name)_fixed.nii.gz").image.geometry
        #expect(field.geometry.sameGrid(as: fixed))
        var worst = 0.0, largest = 0.0
        let size = fixed.size
        for z in 0..<size.z {
            for y in 0..<size.y {
                for x in 0..<size.x {
                    let p = fixed.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
                    let expected = p + SIMD3<Double>(field[x, y, z])
                    worst = max(worst, Approx.maxDifference(chain.map(p), expected))
                    largest = max(largest, Approx.maxDifference(expected, p))
                }
            }
        }
        #expect(largest > 1, "the fixture's transform moves points by \(largest) mm at most")
        #expect(worst < 1e-4, "\(name): largest difference from transformix \(worst) mm")
    }

    /// Without the B-spline, the 3-D chain's first two files are plain linear maps.
    @Test func linearFilesReadAsMaps() throws {
        let transforms = try ElastixParameterFile.read(Self.folder + "chain3d_TransformParameters.1.txt")
        #expect(transforms.count == 2)
        for t in transforms {
            guard case .linear(let record) = t else { Issue.record("expected a linear transform"); continue }
            #expect(record.dimension == 3)
        }
    }

    struct MappedPoint: Decodable { let `in`: [Double]; let out: [Double] }

    /// elastix's SimilarityTransform (written by itk-elastix 5.4: Debian's elastix lacks it) maps
    /// points as transformix does (its output has six decimals).
    @Test(arguments: ["similarity3d_TransformParameters.0.txt", "similarity2d_TransformParameters.0.txt"])
    func similarityMapsPointsAsTransformixDoes(name: String) throws {
        let data = try #require(FileManager.default.contents(atPath: Self.folder + "similarity_transformix_points.json"))
        let points = try #require(try JSONDecoder().decode([String: [MappedPoint]].self, from: data)[name])
        guard case .linear(let record) = try #require(try ElastixParameterFile.read(Self.folder + name).first) else {
            Issue.record("not linear"); return
        }
        func vector(_ v: [Double]) -> SIMD3<Double> { SIMD3(v[0], v[1], v.count > 2 ? v[2] : 0) }
        for p in points {
            #expect(Approx.maxDifference(record.map.apply(vector(p.in)), vector(p.out)) < 2e-6, "\(name): \(p.in)")
        }
    }

    /// Hand-written files with the parameters ITK defines: a 3-D similarity (versor, translation,
    /// scale about a centre), a 2-D similarity (scale, angle, translation) and Euler's ZYX order.
    @Test func similarityAndEulerOrderFollowITK() throws {
        let folder = TemporaryFolder()
        func file(_ entries: String, dimension: Int = 3) throws -> LinearTransformRecord {
            let path = folder.file("p.txt")
            try "\(entries)\n(FixedImageDimension \(dimension))\n(HowToCombineTransforms \"Compose\")\n(InitialTransformParametersFileName \"NoInitialTransform\")\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            guard case .linear(let record) = try ElastixParameterFile.read(path)[0] else { throw RegError.invalidArgument(name: "test", reason: "not linear") }
            return record
        }
        // Versor (0, 0, sin(θ/2)): a rotation by θ about z, then scale 2, about the centre (1, 2, 3).
        let theta = 0.3
        let similarity = try file("(Transform \"SimilarityTransform\")\n(TransformParameters 0 0 \(sin(theta / 2)) 4 5 6 2)\n(CenterOfRotationPoint 1 2 3)")
        let c = SIMD3<Double>(1, 2, 3), p = SIMD3<Double>(3, -1, 7)
        let expected = Matrix3.rotation(axis: 2, angle: theta) * (p - c) * 2 + c + SIMD3(4, 5, 6)
        #expect(Approx.maxDifference(similarity.map.apply(p), expected) < 1e-12)
        let planar = try file("(Transform \"SimilarityTransform\")\n(TransformParameters 1.5 \(theta) 4 5)\n(CenterOfRotationPoint 1 2)", dimension: 2)
        let p2 = SIMD3<Double>(3, -1, 0), c2 = SIMD3<Double>(1, 2, 0)
        let expected2 = Matrix3.rotation(axis: 2, angle: theta) * (p2 - c2) * 1.5 + c2 + SIMD3(4, 5, 0)
        #expect(Approx.maxDifference(planar.map.apply(p2), expected2) < 1e-12)
        let zyx = try file("(Transform \"EulerTransform\")\n(TransformParameters 0.1 0.2 0.3 0 0 0)\n(CenterOfRotationPoint 0 0 0)\n(ComputeZYX \"true\")")
        let rz = Matrix3.rotation(axis: 2, angle: 0.3), ry = Matrix3.rotation(axis: 1, angle: 0.2), rx = Matrix3.rotation(axis: 0, angle: 0.1)
        #expect(zyx.map.matrix.maxAbsDifference(rz * ry * rx) < 1e-12)
        let zxy = try file("(Transform \"EulerTransform\")\n(TransformParameters 0.1 0.2 0.3 0 0 0)\n(CenterOfRotationPoint 0 0 0)")
        #expect(zxy.map.matrix.maxAbsDifference(rz * rx * ry) < 1e-12)
    }

    /// Broken files name the file and the field.
    @Test func badFilesGiveClearErrors() throws {
        let folder = TemporaryFolder()
        let bspline = try String(contentsOfFile: Self.folder + "chain2d_TransformParameters.1.txt", encoding: .utf8)
            .replacingOccurrences(of: "/nonexistent/chain2d_TransformParameters.0.txt", with: "NoInitialTransform")
        func message(_ text: String) -> String {
            let path = folder.file("bad.txt")
            try? text.write(toFile: path, atomically: true, encoding: .utf8)
            do { _ = try ElastixParameterFile.read(path); return "no error" } catch { return "\(error)" }
        }
        let short = bspline.replacingOccurrences(of: "(TransformParameters ", with: "(TransformParameters 1 ")
        #expect(message(short).contains("TransformParameters"))
        #expect(message(short).contains("bad.txt"))
        #expect(message(bspline.replacingOccurrences(of: "\"BSplineTransform\"", with: "\"SplineKernelTransform\"")).contains("SplineKernelTransform"))
        #expect(message(bspline.replacingOccurrences(of: "\"Compose\"", with: "\"Add\"")).contains("HowToCombineTransforms"))
        #expect(message(bspline.replacingOccurrences(of: "(GridSize", with: "(GridSize 2 ")).contains("GridSize"))
        #expect(message("(Metric \"AdvancedMeanSquares\")\n").contains("not an elastix transform parameter file"))
        let loop = bspline.replacingOccurrences(of: "NoInitialTransform", with: folder.file("bad.txt"))
        #expect(message(loop).contains("loops back"))
        let missing = bspline.replacingOccurrences(of: "NoInitialTransform", with: "/nowhere/TransformParameters.7.txt")
        #expect(message(missing).contains("TransformParameters.7.txt"))
    }
}
