import Foundation
import Testing
import RegCore
import RegIO
import RegTestSupport

/// Write then read back: voxels identical, geometry identical (to float32 precision for NIfTI-1).
@Suite struct RoundTripTests {
    /// (file name, options, geometry tolerance)
    static let formats: [(String, ImageWriteOptions, Double)] = [
        ("a.nii", .init(), 1e-5),
        ("a.nii.gz", .init(), 1e-5),
        ("a2.nii.gz", .init(niftiVersion: 2), 1e-12),
        ("s.nii.gz", .stored, 1e-5),
        ("a.mha", .init(), 0),
        ("a.mhd", .init(), 0),
        ("z.mha", .init(compress: true), 0),
        // NRRD stores direction × spacing: exact up to the last bit of a double.
        ("a.nrrd", .init(), 1e-14),
        ("a.nhdr", .init(), 1e-14),
        ("z.nrrd", .init(compress: true), 1e-14),
        ("z.nhdr", .init(compress: true), 1e-14),
    ]

    static let cases: [(String, VoxelType)] = formats.map(\.0).flatMap { f in VoxelType.allCases.map { (f, $0) } }

    static func options(_ name: String) -> (ImageWriteOptions, Double) {
        let f = formats.first { $0.0 == name }!
        return (f.1, f.2)
    }

    @Test(arguments: cases)
    func obliqueAnisotropic3D(file: String, type: VoxelType) throws {
        let folder = TemporaryFolder()
        let (options, tolerance) = Self.options(file)
        let range: ClosedRange<Double> = type == .int8 ? -100...100 : (type.isInteger ? 0...250 : -1e3...1e3)
        let image = AnyImage(Phantoms.randomImage(Double.self, on: Phantoms.obliqueGeometry(), range: range)).converted(to: type)
        let path = folder.file(file)
        try ImageFile.write(image, to: path, options: options)
        let back = try ImageFile.read(path)
        #expect(back.image.voxelType == type)
        #expect(back.image == image.with(geometry: back.image.geometry), "voxels differ")
        #expect(Approx.sameGeometry(back.image.geometry, image.geometry, tolerance: tolerance))
        #expect(back.info.faults.isEmpty)
    }

    @Test(arguments: formats.map(\.0))
    func oblique2DAndMultiComponent(file: String) throws {
        let folder = TemporaryFolder()
        let (options, tolerance) = Self.options(file)
        let flat = AnyImage(Phantoms.randomImage(Float.self, on: Phantoms.oblique2DGeometry(), seed: 3))
        try ImageFile.write(flat, to: folder.file(file), options: options)
        let flatBack = try ImageFile.read(folder.file(file)).image
        #expect(flatBack.geometry.dimension == 2)
        #expect(Approx.sameGeometry(flatBack.geometry, flat.geometry, tolerance: tolerance))
        #expect(flatBack == flat.with(geometry: flatBack.geometry))

        let vectors = AnyImage(Phantoms.randomImage(Float.self, on: Phantoms.obliqueGeometry(size: SIMD3(5, 4, 3)), components: 3, seed: 4))
        try ImageFile.write(vectors, to: folder.file("v" + file), options: options)
        let vectorsBack = try ImageFile.read(folder.file("v" + file)).image
        #expect(vectorsBack.components == 3)
        #expect(vectorsBack == vectors.with(geometry: vectorsBack.geometry))
        // The layout from the header alone is the full read's.
        for (name, back) in [(file, flatBack), ("v" + file, vectorsBack)] {
            let layout = try ImageFile.layout(of: folder.file(name))
            #expect(layout.geometry == back.geometry && layout.components == back.components, "\(name)")
        }
    }

    @Test func displacementFieldsAreVectorNIfTI() throws {
        let folder = TemporaryFolder()
        var u = VectorField(geometry: Phantoms.obliqueGeometry(size: SIMD3(6, 5, 4)))
        for i in 0..<u.vectors.count { u.vectors[i] = Float(i % 11) * 0.25 - 1 }
        try ImageFile.write(u.image, to: folder.file("warp.nii.gz"))
        let back = try ImageFile.read(folder.file("warp.nii.gz"))
        #expect(back.info.intentCode == 1007)
        #expect(try VectorField(image: back.image.floatImage()).vectors == u.vectors)

        var u2 = VectorField(geometry: Phantoms.oblique2DGeometry(size: SIMD2(6, 5)))
        for i in 0..<u2.geometry.voxelCount { u2.vectors[3 * i] = Float(i); u2.vectors[3 * i + 1] = -Float(i) }
        try ImageFile.write(u2.image, to: folder.file("warp2d.nii"))
        let back2 = try ImageFile.read(folder.file("warp2d.nii")).image
        #expect(back2.geometry.dimension == 2 && back2.components == 2)
        #expect(try VectorField(image: back2.floatImage()).vectors == u2.vectors)
        #expect(back2.geometry.sameGrid(as: u2.geometry, tolerance: 1e-5))
    }

    @Test(arguments: [VoxelType.uint8, .uint16])
    func png(type: VoxelType) throws {
        let folder = TemporaryFolder()
        let g = try Geometry(size: SIMD3(37, 23, 1), dimension: 2)
        let image = AnyImage(Phantoms.randomImage(Double.self, on: g, range: 0...(type == .uint8 ? 255 : 65535))).converted(to: type)
        try ImageFile.write(image, to: folder.file("s.png"))
        let back = try ImageFile.read(folder.file("s.png")).image
        #expect(back.voxelType == type)
        #expect(back == image)
    }

    @Test func pngRefusesWhatItCannotHold() throws {
        let folder = TemporaryFolder()
        let volume = AnyImage(Phantoms.randomImage(UInt8.self, on: Phantoms.obliqueGeometry()))
        #expect(throws: RegError.self) { try ImageFile.write(volume, to: folder.file("v.png")) }
        let negative = AnyImage(try Image<Float>(geometry: Geometry(size: SIMD3(2, 2, 1)), voxels: [-1, 0, 1, 2]))
        #expect(throws: RegError.self) { try ImageFile.write(negative, to: folder.file("n.png")) }
        #expect(folder.contents.isEmpty, "no partial output: \(folder.contents)")
    }

    @Test func unknownExtensionListsTheSupportedOnes() {
        do {
            _ = try ImageFile.read("/tmp/brain.img")
            Issue.record("expected an error")
        } catch {
            let text = "\(error)"
            #expect(text.contains("/tmp/brain.img") && text.contains(".nii.gz") && text.contains(".nrrd") && text.contains(".mha"))
        }
    }
}

@Suite struct LargeGzipTests {
    /// Volumes over 8 MiB are written as several gzip members compressed in parallel: the file reads
    /// back exactly and its bytes do not depend on the thread count.
    @Test func parallelMembersReadBackAndAreThreadIndependent() throws {
        let folder = TemporaryFolder()
        let image = Phantoms.randomImage(Float.self, on: Phantoms.obliqueGeometry(size: SIMD3(160, 150, 100)), seed: 3)
        var bytes: [Data] = []
        for threads in [1, 2] {
            let path = folder.file("big\(threads).nii.gz")
            try Parallelism.withThreadCount(threads) { try ImageFile.write(image, to: path) }
            bytes.append(try Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(try ImageFile.read(path).image.floatImage().voxels == image.voxels)
        }
        #expect(bytes[0] == bytes[1])
        // A second gzip member starts somewhere after the first.
        let b = [UInt8](bytes[0])
        #expect((1..<b.count - 2).contains { b[$0] == 0x1f && b[$0 + 1] == 0x8b && b[$0 + 2] == 8 })
    }

    /// A stored (uncompressed) gzip stream of a field spanning many 64 KiB blocks and several
    /// flushes reads back exactly (zlib checks the member's CRC and length as it reads), and
    /// is the size of its data plus the framing.
    @Test func storedFieldStreamsReadBack() throws {
        let folder = TemporaryFolder()
        let field = Phantoms.randomImage(Float.self, on: Phantoms.obliqueGeometry(size: SIMD3(61, 53, 47)), components: 3, seed: 5)
        let path = folder.file("field.nii.gz")
        try ImageFile.write(AnyImage(field), to: path, options: .stored)
        let back = try ImageFile.read(path).image
        #expect(back.components == 3)
        #expect(back.floatImage().voxels == field.voxels)
        // Gzip header and trailer (18 bytes), and 5 per deflate block: the NIfTI header's block,
        // each component plane's blocks of at most 65535 bytes, the final empty block.
        let plane = 4 * field.geometry.voxelCount, blocks = 1 + 3 * ((plane + 65534) / 65535) + 1
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size == 18 + 352 + 3 * plane + 5 * blocks)
        #expect(folder.contents == ["field.nii.gz"])
    }
}
