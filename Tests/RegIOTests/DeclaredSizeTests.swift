import Foundation
import Testing
import RegCore
import RegIO
import RegTestSupport

/// A header that declares far more voxels than its file holds is refused before anything of that
/// size is allocated (issue 31, items 1 and 3): compressed MetaImage, gzip NRRD, PNG.
@Suite struct DeclaredSizeTests {
    let folder = TemporaryFolder()

    /// A small compressed file of `name`'s format, with the text `old` of its header replaced.
    func patchedHeader(_ name: String, replacing old: String, with new: String) throws -> String {
        let image = try Image<UInt8>(geometry: Geometry(size: SIMD3(4, 4, 4)), voxels: (0..<64).map { UInt8($0) })
        let path = folder.file(name)
        try ImageFile.write(AnyImage(image), to: path, options: ImageWriteOptions(compress: true))
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let text = Array(old.utf8), replacement = Array(new.utf8)
        let at = try #require((0...(bytes.count - text.count)).first { Array(bytes[$0..<$0 + text.count]) == text }, "no '\(old)' in \(name)")
        bytes.replaceSubrange(at..<at + text.count, with: replacement)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Reads `path` expecting a `RegError` that names it; the read must not crash or allocate
    /// the declared size (a crash fails the whole run, so these inputs are tiny).
    func expectRefused(_ path: String) {
        #expect(performing: { _ = try ImageFile.read(path) }, throws: { error in
            "\(error)".contains(path)
        })
    }

    @Test func compressedMetaImageDeclaringATerabyte() throws {
        expectRefused(try patchedHeader("huge.mha", replacing: "DimSize = 4 4 4", with: "DimSize = 10000 10000 10000"))
        expectRefused(try patchedHeader("channels.mha", replacing: "DimSize = 4 4 4",
                                        with: "DimSize = 4 4 4\nElementNumberOfChannels = 2147483647"))
    }

    @Test func gzipNRRDDeclaringFourGigabytes() throws {
        expectRefused(try patchedHeader("huge.nrrd", replacing: "sizes: 4 4 4", with: "sizes: 2048 2048 1024"))
    }

    @Test func pngDeclaringSixtyFiveThousandSquared() throws {
        let image = try Image<UInt8>(geometry: Geometry(size: SIMD3(16, 16, 1), dimension: 2), voxels: Array(repeating: 9, count: 256))
        let path = folder.file("huge.png")
        try ImageFile.write(AnyImage(image), to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // IHDR: length (4), "IHDR" (4), width (4), height (4), …, CRC over type and data.
        let ihdr = try #require((8..<bytes.count - 4).first { bytes[$0..<$0 + 4] == [0x49, 0x48, 0x44, 0x52] })
        for offset in [ihdr + 4, ihdr + 8] { bytes.replaceSubrange(offset..<offset + 4, with: [0, 0, 0xff, 0xff]) }
        let crc = Self.crc32(Array(bytes[ihdr..<ihdr + 17]))
        bytes.replaceSubrange(ihdr + 17..<ihdr + 21, with: withUnsafeBytes(of: crc.bigEndian) { Array($0) })
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            _ = try ImageFile.read(path)
            Issue.record("a 65535² PNG of \(bytes.count) bytes was read")
        } catch let error as RegError {
            #expect("\(error)".contains(path) && "\(error)".contains("IHDR") && "\(error)".contains("65535"), "\(error)")
        }
    }

    /// A `.mat` whose first variable declares more columns (or a huge count) than its bytes hold
    /// names the variable and its size (issue 31, item 11: it said "voxel data truncated").
    @Test func matlabTransformDeclaringMoreValuesThanItHolds() throws {
        let path = folder.file("t.mat")
        try TransformFile.write([LinearTransformRecord(map: AffineMap(matrix: .rotation(axis: 2, angle: 0.2), translation: SIMD3(1, 2, 3)))], to: path)
        let valid = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        for (columns, words) in [(Int32(2), "12 × 2 values"), (Int32.max, "12 × 2147483647 values")] {
            var bytes = valid
            withUnsafeBytes(of: columns.littleEndian) { bytes.replaceSubrange(8..<12, with: $0) }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                _ = try TransformFile.read(path)
                Issue.record("read with \(columns) columns")
            } catch let error as RegError {
                #expect("\(error)".contains(path) && "\(error)".contains("AffineTransform_double_3_3") && "\(error)".contains(words), "\(error)")
            }
        }
    }

    /// PNG's CRC-32 (polynomial 0xEDB88320).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

/// A 4-D series is not a displacement field (issue 31, item 5): NIfTI's `dim[4]` counts time
/// points, `dim[5]` vector components.
@Suite struct SeriesTests {
    /// A 3-time-point series: a 3-component vector file with its vectors moved to `dim[4]`.
    static func writeSeries(to path: String) throws {
        let grid = Phantoms.obliqueGeometry(size: SIMD3(6, 5, 4))
        let field = Phantoms.randomImage(Float.self, on: grid, components: 3, seed: 4)
        try ImageFile.write(AnyImage(field), to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func put(_ value: Int16, at offset: Int) { withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + 2, with: $0) } }
        put(4, at: 40); put(3, at: 48); put(1, at: 50); put(0, at: 68)   // dim[0], dim[4], dim[5], intent
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func aTimeSeriesIsRefusedAsADisplacementField() throws {
        let folder = TemporaryFolder()
        let path = folder.file("series.nii")
        try Self.writeSeries(to: path)
        let loaded = try ImageFile.read(path)
        #expect(loaded.info.timePoints == 3 && loaded.image.components == 3)
        do {
            _ = try TransformFile.readDisplacementField(path)
            Issue.record("a 4-D series was read as a displacement field")
        } catch let error as RegError {
            #expect("\(error)".contains(path) && "\(error)".contains("dim[4]") && "\(error)".contains("3 time points"), "\(error)")
        }
        // The same vectors stored along dim[5] are a field.
        let field = folder.file("field.nii")
        try ImageFile.write(loaded.image, to: field)
        #expect(try TransformFile.readDisplacementField(field).geometry.size == SIMD3(6, 5, 4))
    }
}

/// Detached data files are read no further than the header needs: devices and pipes are refused,
/// and a file pattern or list names no more files than the image has slices (issue 31, item 2).
@Suite struct DataFileTests {
    /// A header file and the words its error must hold.
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String, header: [String], words: String
        var testDescription: String { name }
    }

    static let mhd = ["ObjectType = Image", "ElementType = MET_UCHAR"], nrrd = ["NRRD0004", "type: uint8", "encoding: raw"]
    static let cases = [
        Case(name: "zero.mhd", header: mhd + ["NDims = 2", "DimSize = 16 16", "ElementDataFile = /dev/zero"], words: "not a regular file"),
        Case(name: "list.mhd", header: mhd + ["NDims = 2", "DimSize = 16 16", "ElementDataFile = LIST", "/dev/urandom"], words: "not a regular file"),
        Case(name: "pattern.mhd", header: mhd + ["NDims = 3", "DimSize = 4 4 2", "ElementDataFile = slice%03d.raw 1 100000000 1"],
             words: "100000000 files for 2 slices"),
        Case(name: "zero.nhdr", header: nrrd + ["dimension: 2", "sizes: 16 16", "data file: /dev/zero"], words: "not a regular file"),
        Case(name: "pattern.nhdr", header: nrrd + ["dimension: 3", "sizes: 4 4 2", "data file: s%03d.raw 1 100000000 1"],
             words: "100000000 files for 2 slices"),
    ]

    @Test(arguments: cases)
    func refusedBeforeReading(_ c: Case) throws {
        let (name, header, words) = (c.name, c.header.joined(separator: "\n") + "\n", c.words)
        let folder = TemporaryFolder()
        let path = folder.file(name)
        try header.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try ImageFile.read(path)
            Issue.record("\(name) was read")
        } catch let error as RegError {
            #expect("\(error)".contains(path) && "\(error)".contains(words), "\(error)")
        }
    }
}
