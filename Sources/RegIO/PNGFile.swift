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
        try checkImageData(bytes, width: w, height: h, path: path)
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

    /// Refuses image data that inflates to more than the header's rows need. libpng inflates
    /// the whole stream, rows or not, so a small file whose IDAT expands to gigabytes (a
    /// decompression bomb) would take seconds; inflating here stops one byte past the rows.
    static func checkImageData(_ bytes: [UInt8], width w: Int, height h: Int, path: String) throws {
        var idat: [UInt8] = [], interlaced = false, bitsPerPixel = 8
        var at = 8
        while at + 12 <= bytes.count {
            let length = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            let type = String(decoding: bytes[at + 4..<at + 8], as: UTF8.self)
            // A chunk cut short by the file's end still counts with what it holds: libpng reads it.
            let data = at + 8, end = min(data + length, bytes.count)
            if type == "IHDR", length >= 13, end - data >= 13 {
                let channels = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][Int(bytes[data + 9])] ?? 4
                bitsPerPixel = channels * max(1, Int(bytes[data + 8]))
                interlaced = bytes[data + 12] != 0
            }
            if type == "IDAT" { idat += bytes[data..<end] }
            if type == "IEND" || data + length + 4 > bytes.count { break }
            at = end + 4
        }
        // Each (pass) row: a filter byte and its pixels' bytes; Adam7's seven passes when interlaced.
        let passes = interlaced ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
                                : [(0, 0, 1, 1)]
        let needed = passes.reduce(0) { total, pass in
            let columns = (w - pass.0 + pass.2 - 1) / pass.2, rows = (h - pass.1 + pass.3 - 1) / pass.3
            return columns > 0 && rows > 0 ? total + rows * (1 + (columns * bitsPerPixel + 7) / 8) : total
        }
        guard !idat.isEmpty else { return }   // libpng names what is missing
        let inflated = (try? Gzip.inflate(idat, path: path, limit: needed + 1).count) ?? 0
        guard inflated <= needed else {
            throw RegError.invalidHeader(path: path, field: "IDAT", reason: "the image data inflates to more than the \(needed) bytes \(w) × \(h) pixels need")
        }
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
