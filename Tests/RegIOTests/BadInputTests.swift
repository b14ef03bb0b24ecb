import Foundation
import Testing
import RegCore
import RegIO
import RegTestSupport

/// Broken files give a clear error naming the file and the field, never a crash.
@Suite struct BadInputTests {
    let folder = TemporaryFolder()

    /// A valid uncompressed NIfTI-1 file's bytes.
    func validNIfTI(version: Int = 1) throws -> [UInt8] {
        let image = Phantoms.randomImage(Float.self, on: Phantoms.obliqueGeometry(size: SIMD3(8, 7, 6)))
        let path = folder.file("valid\(version).nii")
        try ImageFile.write(AnyImage(image), to: path, options: ImageWriteOptions(niftiVersion: version))
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func save(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = folder.file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Reads `path`, expecting a RegError whose message names the file and contains `words`.
    func expectError(_ path: String, mentions words: [String]) {
        do {
            _ = try ImageFile.read(path)
            Issue.record("\(path) was read without error")
        } catch let error as RegError {
            let text = error.description
            #expect(text.contains(path), "error does not name the file: \(text)")
            for w in words { #expect(text.contains(w), "error does not mention '\(w)': \(text)") }
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    func patch(_ bytes: [UInt8], at offset: Int, _ new: [UInt8]) -> [UInt8] {
        var b = bytes
        b.replaceSubrange(offset..<offset + new.count, with: new)
        return b
    }

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func le(_ v: Float) -> [UInt8] { le(v.bitPattern) }

    /// An Adobe CMYK JPEG (8×6, made by Pillow) reads as grey, the values Pillow converts it to,
    /// instead of being called corrupt.
    @Test func cmykJPEGReadsAsGrey() throws {
        let base64 = "/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwACAQEBAQECAQEBAgICAgIEAwICAgIFBAQDBAYFBgYGBQYGBgcJCAYHCQcGBggLCAkKCgoKCgYICwwLCgwJCgoK/8AAFAgABgAIBEMRAE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwD1j/g4j/5jv/bT+tWP+Ijv4/f88NU/8CF/+KryP/g3c/5gX/bP+lftZX//2Q=="
        let path = try save([UInt8](try #require(Data(base64Encoded: base64))), "cmyk.jpg")
        // Image.open("cmyk.jpg").convert("L") in Pillow 12.
        let pillow: [UInt8] = [208, 203, 198, 193, 188, 183, 178, 172, 186, 181, 176, 171, 166, 161, 156, 151, 165, 160, 155, 149, 144, 139, 134, 129,
                               143, 138, 133, 128, 123, 118, 112, 107, 122, 117, 112, 106, 102, 96, 91, 86, 100, 95, 90, 85, 80, 75, 69, 64]
        let loaded = try ImageFile.read(path)
        guard case .uint8(let grey) = loaded.image else { Issue.record("read as \(loaded.image.voxelType)"); return }
        #expect(grey.geometry.size == SIMD3(8, 6, 1))
        #expect(grey.voxels == pillow)
    }

    @Test func truncatedGzip() throws {
        let folder2 = TemporaryFolder()
        let image = Phantoms.randomImage(Float.self, on: Phantoms.obliqueGeometry())
        try ImageFile.write(AnyImage(image), to: folder2.file("full.nii.gz"))
        let gz = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder2.file("full.nii.gz"))))
        expectError(try save(Array(gz.prefix(gz.count / 2)), "cut.nii.gz"), mentions: ["truncated"])
        expectError(try save(Array(gz.prefix(100)), "cut2.nii.gz"), mentions: [])
    }

    @Test func wrongMagic() throws {
        expectError(try save(patch(try validNIfTI(), at: 344, Array("xyz\0".utf8)), "magic.nii"), mentions: ["magic"])
        expectError(try save(Array(repeating: 7, count: 600), "noise.nii"), mentions: ["sizeof_hdr"])
    }

    @Test func headerLargerThanTheFile() throws {
        expectError(try save(Array(try validNIfTI().prefix(200)), "short.nii"), mentions: ["header", "200 bytes"])
        expectError(try save(patch(try validNIfTI(), at: 108, Self.le(Float(1_000_000))), "offset.nii"), mentions: ["vox_offset"])
        expectError(try save(Array(try validNIfTI().prefix(900)), "data.nii"), mentions: ["truncated"])
    }

    @Test func unsupportedDatatype() throws {
        expectError(try save(patch(try validNIfTI(), at: 70, Self.le(Int16(32))), "complex.nii"), mentions: ["datatype", "complex64"])
        expectError(try save(patch(try validNIfTI(), at: 70, Self.le(Int16(1024))), "int64.nii"), mentions: ["datatype", "int64"])
    }

    @Test(arguments: [Float(0), -1.5, .nan])
    func badSpacing(value: Float) throws {
        expectError(try save(patch(try validNIfTI(), at: 76 + 8, Self.le(value)), "spacing.nii"), mentions: ["pixdim[2]"])
    }

    @Test func dimensionProductOverflow() throws {
        // NIfTI-2 holds 64-bit sizes: 2^30 × 2^30 × 2^30 voxels.
        var bytes = try validNIfTI(version: 2)
        for i in 1...3 { bytes = patch(bytes, at: 16 + 8 * i, Self.le(Int64(1) << 30)) }
        expectError(try save(bytes, "huge.nii"), mentions: ["overflows"])
        expectError(try save(patch(try validNIfTI(), at: 42, Self.le(Int16(0))), "zero.nii"), mentions: ["dim[1]"])
    }

    @Test func metaImageWithoutItsRawFile() throws {
        let image = Phantoms.randomImage(Int16.self, on: Phantoms.obliqueGeometry())
        try ImageFile.write(AnyImage(image), to: folder.file("lonely.mhd"))
        try FileManager.default.removeItem(atPath: folder.file("lonely.raw"))
        expectError(folder.file("lonely.mhd"), mentions: ["ElementDataFile", "lonely.raw"])
        let text = "ObjectType = Image\nNDims = 3\nDimSize = 4 4 4\nElementSpacing = 1 0 1\nElementType = MET_FLOAT\nElementDataFile = LOCAL\n"
        expectError(try save(Array(text.utf8), "zero.mha"), mentions: ["spacing[1]"])
        let badType = text.replacingOccurrences(of: "MET_FLOAT", with: "MET_LONG_LONG")
        expectError(try save(Array(badType.utf8), "type.mha"), mentions: ["ElementType"])
    }

    @Test func nrrdWithUnknownEncoding() throws {
        let image = Phantoms.randomImage(UInt8.self, on: Phantoms.obliqueGeometry())
        try ImageFile.write(AnyImage(image), to: folder.file("ok.nrrd"))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder.file("ok.nrrd"))))
        let text = String(decoding: bytes, as: UTF8.self)
        let broken = text.replacingOccurrences(of: "encoding: raw", with: "encoding: bzip2")
        expectError(try save(Array(broken.utf8), "bz.nrrd"), mentions: ["encoding", "bzip2"])
        let noSizes = text.replacingOccurrences(of: "sizes:", with: "sighs:")
        expectError(try save(Array(noSizes.utf8), "nosizes.nrrd"), mentions: ["sizes"])
    }

    @Test func corruptPNGAndJPEG() throws {
        expectError(try save(Array("\u{89}PNG\r\n\u{1a}\n garbage".utf8), "bad.png"), mentions: ["PNG"])
        expectError(try save([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], "bad.jpg"), mentions: ["JPEG"])
    }

    @Test func missingFile() {
        expectError(folder.file("nothere.nii.gz"), mentions: ["no such file"])
    }

    /// A displacement that is not finite would warp to garbage (or trap in an index conversion):
    /// the field is refused on reading, naming the file and the first such voxel.
    @Test func nonFiniteDisplacement() throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(5, 4, 3))
        var field = Phantoms.randomImage(Float.self, on: g, components: 3, seed: 2)
        field.voxels[3 * g.offset(2, 1, 2) + 1] = .nan
        field.voxels[3 * g.offset(4, 3, 2)] = .infinity
        let path = folder.file("nan_warp.nii.gz")
        try TransformFile.writeDisplacementField(try VectorField(image: field), to: path)
        #expect(throws: RegError.invalidVoxel(path: path, voxel: SIMD3(2, 1, 2),
                                              reason: "displacement component 1 is nan; a displacement field must be finite everywhere")) {
            try TransformFile.readDisplacementField(path)
        }
    }
}
