import Foundation
import Testing
import RegCore
import RegIO
import RegTestSupport

/// NIfTI written by SwiftReg carries the affine that nibabel and SimpleITK read.
@Suite struct NIfTIInteropTests {
    /// The RAS affine stored in a NIfTI-1 file's sform rows.
    static func sform(of path: String) throws -> [Double] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        return (0..<12).map { k in
            let o = 280 + 4 * k
            return Double(Float(bitPattern: UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24))
        }
    }

    /// The committed fixture: SimpleITK wrote an oblique image; nibabel read its affine.
    @Test func readsSimpleITKsObliqueImage() throws {
        let ref = Fixtures.oblique
        let loaded = try ImageFile.read(Fixtures.folder + "/oblique_sitk.nii.gz")
        #expect(Approx.sameGeometry(loaded.image.geometry, ref.geometry, tolerance: 1e-5))
        #expect(loaded.image.floatImage()[3, 2, 1] == 3 + 20 + 100)
    }

    @Test func writesTheAffineNibabelReads() throws {
        let folder = TemporaryFolder()
        let ref = Fixtures.oblique
        let image = Image<Float>(geometry: ref.geometry)
        try ImageFile.write(image, to: folder.file("o.nii"))
        let ours = try Self.sform(of: folder.file("o.nii"))
        for k in 0..<12 {
            #expect(abs(ours[k] - ref.nibabel_affine[k]) < 1e-5, "affine entry \(k)")
        }
    }

    /// Live check with nibabel and SimpleITK when Python has them.
    @Test(.enabled(if: PythonOracle.available, "python3 with nibabel and SimpleITK not installed"))
    func nibabelAndSimpleITKReadWhatWeWrite() throws {
        let folder = TemporaryFolder()
        let g = Phantoms.obliqueGeometry(size: SIMD3(6, 5, 4))
        var image = Image<Float>(geometry: g)
        image[1, 2, 3] = 7
        try ImageFile.write(image, to: folder.file("o.nii.gz"))
        try ImageFile.write(VectorField(geometry: g).image, to: folder.file("w.nii.gz"))
        let output = try PythonOracle.run("""
        import json, sys, numpy as np, nibabel as nib, SimpleITK as sitk
        n = nib.load(sys.argv[1]); s = sitk.ReadImage(sys.argv[1]); w = nib.load(sys.argv[2])
        print(json.dumps({"affine": n.affine.reshape(-1).tolist(), "origin": s.GetOrigin(), "direction": s.GetDirection(),
                          "spacing": s.GetSpacing(), "value": float(np.asarray(n.dataobj)[1, 2, 3]),
                          "warp_shape": list(w.shape), "warp_intent": int(w.header["intent_code"])}))
        """, arguments: [folder.file("o.nii.gz"), folder.file("w.nii.gz")])
        let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
        let affine = json["affine"] as! [Double]
        let ras = Matrix3.diagonal(SIMD3(-1, -1, 1)) * g.indexToPhysical
        let rasOrigin = Matrix3.diagonal(SIMD3(-1, -1, 1)) * g.origin
        for i in 0..<3 {
            for j in 0..<3 { #expect(abs(affine[4 * i + j] - ras[i, j]) < 1e-5) }
            #expect(abs(affine[4 * i + 3] - rasOrigin[i]) < 1e-4)
        }
        let origin = json["origin"] as! [Double], direction = json["direction"] as! [Double], spacing = json["spacing"] as! [Double]
        for i in 0..<3 {
            #expect(abs(origin[i] - g.origin[i]) < 1e-4)
            #expect(abs(spacing[i] - g.spacing[i]) < 1e-5)
            for j in 0..<3 { #expect(abs(direction[3 * i + j] - g.direction[i, j]) < 1e-5) }
        }
        #expect(json["value"] as! Double == 7)
        #expect(json["warp_shape"] as! [Int] == [6, 5, 4, 1, 3])
        #expect(json["warp_intent"] as! Int == 1007)
    }
}
