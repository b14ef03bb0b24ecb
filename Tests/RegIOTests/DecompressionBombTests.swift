import Foundation
import Testing
import RegCore
@testable import RegIO
import RegTestSupport

/// Files found by the 12,000-mutant campaign (issue 31): decompression bombs, and outputs other
/// tools could not read back.
@Suite struct DecompressionBombTests {
    let folder = TemporaryFolder()

    /// 16 MiB of zeros, deflated to about 16 KiB.
    static let zeros = [UInt8](repeating: 0, count: 16 << 20)

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        return be(UInt32(data.count)) + body + be(crc32(body))
    }

    /// A 16×16 grey PNG whose image data inflates to 16 MiB: libpng inflated all of it, rows or not.
    @Test func aPNGWhoseDataInflatesBeyondItsRowsIsRefused() throws {
        let header: [UInt8] = [0, 0, 0, 16, 0, 0, 0, 16, 8, 0, 0, 0, 0]
        let png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Self.chunk("IHDR", header)
            + Self.chunk("IDAT", Gzip.deflate([Self.zeros], zlibFraming: true)) + Self.chunk("IEND", [])
        let path = folder.file("bomb.png")
        try Data(png).write(to: URL(fileURLWithPath: path))
        #expect(throws: RegError.invalidHeader(path: path, field: "IDAT", reason: "the image data inflates to more than the 272 bytes 16 × 16 pixels need")) {
            try ImageFile.read(path)
        }
    }

    /// A valid .nii.gz followed by a 16 MiB member that ends in junk: the reader inflates no more
    /// than the header declares (before, it inflated on and failed on the junk).
    @Test func aNIfTIGzipStreamIsInflatedNoFurtherThanItsHeaderDeclares() throws {
        let image = Phantoms.randomImage(Int16.self, on: Phantoms.obliqueGeometry(size: SIMD3(6, 5, 4)), seed: 2)
        let path = folder.file("small.nii.gz")
        try ImageFile.write(image, to: path)
        let bomb = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) + Gzip.deflate([Self.zeros]) + [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF]
        try Data(bomb).write(to: URL(fileURLWithPath: path))
        let loaded = try ImageFile.read(path)
        guard case .int16(let back) = loaded.image else { Issue.record("read as \(loaded.image.voxelType)"); return }
        #expect(back.voxels == image.voxels)
    }

    @Test func writersRefuseWhatTheirReadersWouldRefuse() throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(4, 3, 2))
        let sheared = try Geometry(size: g.size, spacing: g.spacing, origin: g.origin,
                                   direction: Matrix3(columns: SIMD3(1e300, 0, 0), SIMD3(0, 1, 0), SIMD3(0, 0, 1)))
        #expect(throws: RegError.self) { try ImageFile.write(Image<Float>(geometry: sheared), to: folder.file("sheared.nii")) }
        let tiny = try g.with(spacing: SIMD3(1e-320, 1, 1))
        #expect(throws: RegError.self) { try ImageFile.write(Image<Float>(geometry: tiny), to: folder.file("tiny.nii")) }
        #expect(throws: RegError.self) {
            try LandmarkFile.write(Landmarks(points: [SIMD3(1, 2, 3), SIMD3(.infinity, 0, 0)]), to: folder.file("points.csv"))
        }
        #expect(folder.contents.isEmpty, "left \(folder.contents)")
    }
}
