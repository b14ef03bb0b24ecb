import RegCore
import CTurboJPEG

/// JPEG read as 8-bit grey (colour and CMYK files converted) through libjpeg-turbo's TurboJPEG API, for
/// 2-D slices. JPEG holds no geometry: spacing 1, origin 0.
enum JPEGFile {
    static func read(_ path: String) throws -> LoadedImage {
        var bytes = try FileBytes.read(path)
        guard let handle = tjInitDecompress() else { throw RegError.unreadableFile(path: path, reason: "libjpeg-turbo initialisation failed") }
        defer { tjDestroy(handle) }
        var w: Int32 = 0, h: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let count = UInt(bytes.count)
        let header = bytes.withUnsafeMutableBufferPointer {
            tjDecompressHeader3(handle, $0.baseAddress, count, &w, &h, &subsampling, &colorspace)
        }
        guard header == 0, w > 0, h > 0 else {
            throw RegError.unreadableFile(path: path, reason: "not a valid JPEG (\(String(cString: tjGetErrorStr2(handle))))")
        }
        // Every 8×8 block costs at least one bit of the DC scan, so a JPEG holds at most 512
        // pixels per byte: a header declaring more is refused before the pixels are allocated.
        guard Int(w) * Int(h) <= 512 * max(bytes.count, 1) else {
            throw RegError.invalidHeader(path: path, field: "SOF", reason: "\(w)×\(h) pixels cannot be held in \(bytes.count) bytes")
        }
        let geometry = try Geometry(size: SIMD3(Int(w), Int(h), 1), dimension: 2)
        // libjpeg converts grey, RGB and YCbCr to grey itself; CMYK and YCCK only decode to CMYK.
        let printed = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let channels = printed ? 4 : 1, format = printed ? TJPF_CMYK : TJPF_GRAY
        var pixels = [UInt8](repeating: 0, count: Int(w) * Int(h) * channels)
        let status = bytes.withUnsafeMutableBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src.baseAddress, count, dst.baseAddress, w, 0, h, Int32(format.rawValue), 0)
            }
        }
        if status != 0 && tjGetErrorCode(handle) == TJERR_FATAL.rawValue {
            throw RegError.unreadableFile(path: path, reason: "corrupt JPEG data (\(String(cString: tjGetErrorStr2(handle))))")
        }
        if printed { pixels = grey(fromInvertedCMYK: pixels) }
        return LoadedImage(image: .uint8(try Image(geometry: geometry, voxels: pixels)),
                           info: ImageFileInfo(path: path, format: .jpeg, storedType: "uint8"))
    }

    /// Grey from CMYK as Adobe applications store it in JPEG (inverted: 255 is no ink), with
    /// Pillow's integer arithmetic, so the values are Pillow's: each of R, G, B is
    /// `K − (255 − C)·K/255` rounded as Pillow's `MULDIV255`, then ITU-R 601 luma.
    static func grey(fromInvertedCMYK cmyk: [UInt8]) -> [UInt8] {
        func mulDiv255(_ a: Int, _ b: Int) -> Int {
            let t = a * b + 128
            return (t + (t >> 8)) >> 8
        }
        return (0..<cmyk.count / 4).map { i in
            let k = Int(cmyk[4 * i + 3])
            let r = k - mulDiv255(255 - Int(cmyk[4 * i]), k), g = k - mulDiv255(255 - Int(cmyk[4 * i + 1]), k)
            let b = k - mulDiv255(255 - Int(cmyk[4 * i + 2]), k)
            return UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
        }
    }
}
