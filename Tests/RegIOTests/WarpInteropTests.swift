import Foundation
import RegCore
import RegIO
import RegKernels
import RegTestSupport
import RegTransforms
import Testing

/// Displacement fields as ANTs and ITK read and write them: committed fixtures made by
/// antspyx (`Fixtures/make_warp_fixtures.py`), always checked, and a live round trip when Python
/// has antspyx and SimpleITK.
@Suite struct WarpInteropTests {
    static let folder = Fixtures.folder + "/warps/"

    static func maxDifference(_ a: Image<Float>, _ b: Image<Float>) -> Double {
        zip(a.voxels, b.voxels).map { Double(abs($0 - $1)) }.max() ?? .infinity
    }

    @Test func antsWarpAndChainApplyAsInANTs() throws {
        let moving = try ImageFile.read(Self.folder + "moving.nii.gz").image.floatImage()
        let fixed = try ImageFile.read(Self.folder + "fixed.nii.gz").image.floatImage()
        let warp = DisplacementField(try TransformFile.readDisplacementField(Self.folder + "ants_warp.nii.gz"))
        #expect(warp.geometry.sameGrid(as: fixed.geometry))
        #expect(warp.field.maxAbsComponent > 0.5, "the fixture's warp moves voxels")
        let affine = try TransformFile.read(Self.folder + "affine.mat")[0].map
        let range = Double(moving.voxels.max()! - moving.voxels.min()!)
        for (chain, expected) in [(TransformChain([.displacement(warp)]), "ants_warped.nii.gz"),
                                  (TransformChain([.displacement(warp), .affine(affine)]), "ants_warped_chain.nii.gz")] {
            let ours = try Resampler.resample(moving, onto: fixed.geometry, mapping: chain.mapping(onto: fixed.geometry))
            let theirs = try ImageFile.read(Self.folder + expected).image.floatImage()
            #expect(Self.maxDifference(ours, theirs) < 1e-3 * range, "\(expected): \(Self.maxDifference(ours, theirs)) of \(range)")
            // The general path (a dense field built point by point) agrees with the fast one.
            let general = TransformChain([.affine(.identity)] + chain.elements).mapping(onto: fixed.geometry)
            let slow = try Resampler.resample(moving, onto: fixed.geometry, mapping: general)
            #expect(Self.maxDifference(slow, ours) < 1e-3 * range)
        }
    }

    @Test func chainOrderIsANTsOrder() {
        // antsApplyTransforms -t S -t T samples the moving image at T(S(x)) (checked with antspyx).
        let s = AffineMap(matrix: .diagonal(SIMD3(2, 1, 1))), t = AffineMap(translation: SIMD3(5, 0, 0))
        #expect(TransformChain([s, t]).map(SIMD3(3, 0, 0)) == SIMD3(11, 0, 0))
    }

    static let liveAvailable: Bool = (try? PythonOracle.run("import ants, SimpleITK", arguments: [])) != nil

    @Test(.enabled(if: liveAvailable, "python3 with antspyx and SimpleITK not installed"))
    func ourWarpAppliesTheSameInANTsAndSimpleITK() throws {
        let tmp = TemporaryFolder()
        let moving = try ImageFile.read(Self.folder + "moving.nii.gz").image.floatImage()
        let g = try ImageFile.read(Self.folder + "fixed.nii.gz").image.geometry
        var u = VectorField(geometry: g)
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x {
            let p = g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
            u[x, y, z] = SIMD3<Float>(SIMD3(1.5 * sin(0.3 * p.y), -1.2 * cos(0.25 * p.x), 0.8 * sin(0.2 * p.z + 0.1 * p.x)))
        } } }
        try TransformFile.writeDisplacementField(u, to: tmp.file("warp.nii.gz"))
        try ImageFile.write(moving, to: tmp.file("moving.nii.gz"))
        try ImageFile.write(Image<Float>(geometry: g), to: tmp.file("reference.nii.gz"))
        let ours = try Resampler.resample(moving, onto: g, mapping: PointMapping(displacement: u))
        _ = try PythonOracle.run("""
        import sys, ants, SimpleITK as sitk
        d = sys.argv[1]
        r = ants.image_read(d + '/reference.nii.gz'); m = ants.image_read(d + '/moving.nii.gz')
        ants.image_write(ants.apply_transforms(r, m, transformlist=[d + '/warp.nii.gz'], interpolator='linear'), d + '/ants.nii.gz')
        field = sitk.ReadImage(d + '/warp.nii.gz', sitk.sitkVectorFloat64)
        t = sitk.DisplacementFieldTransform(field)
        out = sitk.Resample(sitk.ReadImage(d + '/moving.nii.gz'), sitk.ReadImage(d + '/reference.nii.gz'), t, sitk.sitkLinear, 0.0, sitk.sitkFloat32)
        sitk.WriteImage(out, d + '/sitk.nii.gz')
        """, arguments: [tmp.path])
        let range = Double(moving.voxels.max()! - moving.voxels.min()!)
        for tool in ["ants", "sitk"] {
            let theirs = try ImageFile.read(tmp.file("\(tool).nii.gz")).image.floatImage()
            #expect(Self.maxDifference(ours, theirs) < 1e-3 * range, "\(tool): \(Self.maxDifference(ours, theirs)) of \(range)")
        }
    }
}
