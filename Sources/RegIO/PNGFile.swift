import RegCore
import CPNG

/// PNG through libpng's simplified API: 8- and 16-bit grey read and write; palette, RGB(A) and
/// 1-bit files are read as grey values. PNG holds no geometry: spacing 1, origin 0.
enum PNGFile {
    static func read(_ path: String) throws -> LoadedImage {
        var bytes = try FileBytes.read(path)
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let ok = bytes.withUnsafeMutableBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard ok != 0 else { throw RegError.unreadableFile(path: path, reason: "not a valid PNG (\(message(image)))") }
        let sixteen = image.format & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0
        image.format = sixteen ? UInt32(PNG_FORMAT_LINEAR_Y) : UInt32(PNG_FORMAT_GRAY)
        let (w, h) = (Int(image.width), Int(image.height))
        // Every row is a filter byte and at least w/8 bytes (1-bit pixels), deflated at most
        // 1032:1: a header that declares more than the file's data could hold is refused before
        // the pixels are allocated.
        let (rows, overflow) = h.multipliedReportingOverflow(by: 1 + (w + 7) / 8)
        guard !overflow, rows <= 1032 * bytes.count + 4096 else {
            throw RegError.invalidHeader(path: path, field: "IHDR", reason: "declares \(w) × \(h) pixels, more than its \(bytes.count) bytes can hold")
        }
        let geometry = try Geometry(size: SIMD3(w, h, 1), dimension: 2)
        let loaded: AnyImage
        if sixteen {
            var pixels = [UInt16](repeating: 0, count: w * h)
            let done = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
            guard done != 0 else { throw RegError.unreadableFile(path: path, reason: "corrupt PNG data (\(message(image)))") }
            loaded = .uint16(try Image(geometry: geometry, voxels: pixels))
        } else {
            var pixels = [UInt8](repeating: 0, count: w * h)
            let done = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
            guard done != 0 else { throw RegError.unreadableFile(path: path, reason: "corrupt PNG data (\(message(image)))") }
            loaded = .uint8(try Image(geometry: geometry, voxels: pixels))
        }
        bytes = []
        return LoadedImage(image: loaded, info: ImageFileInfo(path: path, format: .png, storedType: sixteen ? "uint16" : "uint8"))
    }

    static func message(_ image: png_image) -> String {
        withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    static func write(_ image: AnyImage, to path: String) throws {
        let g = image.geometry
        guard g.dimension == 2, image.components == 1 else {
            throw RegError.unwritableFile(path: path, reason: "PNG holds one 2-D grey slice; this image is \(g.dimension)-D with \(image.components) component(s)")
        }
        guard let range = image.valueRange else { throw RegError.unwritableFile(path: path, reason: "image has no finite values") }
        let values = image.converted(to: Double.self).voxels
        let integral = values.allSatisfy { $0 == $0.rounded() }
        guard integral, range.lowerBound >= 0, range.upperBound <= 65535 else {
            throw RegError.unwritableFile(path: path, reason: "PNG stores integers 0…65535; values span \(range.lowerBound)…\(range.upperBound) (rescale first)")
        }
        let eight = image.voxelType == .uint8 || (image.voxelType != .uint16 && range.upperBound <= 255)
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(g.size.x)
        png.height = UInt32(g.size.y)
        png.format = eight ? UInt32(PNG_FORMAT_GRAY) : UInt32(PNG_FORMAT_LINEAR_Y)
        var size = 0
        var encoded: [UInt8]
        if eight {
            let pixels = values.map { UInt8(clampingDouble: $0) }
            encoded = try encode(&png, pixels, &size, path: path)
        } else {
            let pixels = values.map { UInt16(clampingDouble: $0) }
            encoded = try encode(&png, pixels, &size, path: path)
        }
        encoded.removeSubrange(size...)
        try FileBytes.writeAtomically([encoded], to: path)
    }

    static func encode<T>(_ png: inout png_image, _ pixels: [T], _ size: inout Int, path: String) throws -> [UInt8] {
        var needed: png_alloc_size_t = 0
        _ = pixels.withUnsafeBytes { png_image_write_to_memory(&png, nil, &needed, 0, $0.baseAddress, 0, nil) }
        var out = [UInt8](repeating: 0, count: Int(needed) + 1024)
        var written = png_alloc_size_t(out.count)
        let ok = out.withUnsafeMutableBytes { o in
            pixels.withUnsafeBytes { png_image_write_to_memory(&png, o.baseAddress, &written, 0, $0.baseAddress, 0, nil) }
        }
        guard ok != 0 else { throw RegError.unwritableFile(path: path, reason: "libpng: \(message(png))") }
        size = Int(written)
        return out
    }
}

/// 8-bit RGB PNG encoding, for pictures (snapshots, report panels) rather than images with geometry.
///
/// ```swift
/// let bytes = try RGBPNG.encode(width: 2, height: 1, rgb: [255, 0, 0, 0, 0, 255])   // a red and a blue pixel
/// try RGBPNG.write(width: 2, height: 1, rgb: pixels, to: "snap.png")
/// ```
public enum RGBPNG {
    public static func encode(width: Int, height: Int, rgb: [UInt8], path: String = "PNG") throws -> [UInt8] {
        guard width > 0, height > 0, rgb.count == 3 * width * height else {
            throw RegError.unwritableFile(path: path, reason: "\(rgb.count) bytes for \(width)×\(height) RGB pixels")
        }
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(width)
        png.height = UInt32(height)
        png.format = UInt32(PNG_FORMAT_RGB)
        var size = 0
        var encoded = try PNGFile.encode(&png, rgb, &size, path: path)
        encoded.removeSubrange(size...)
        return encoded
    }

    /// Writes the PNG atomically (a temporary name, renamed when complete).
    public static func write(width: Int, height: Int, rgb: [UInt8], to path: String) throws {
        try FileBytes.writeAtomically([encode(width: width, height: height, rgb: rgb, path: path)], to: path)
    }
}
