import RegCore
import CTurboJPEG

/// JPEG read as 8-bit grey (colour files converted) through libjpeg-turbo's TurboJPEG API, for
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
        let geometry = try Geometry(size: SIMD3(Int(w), Int(h), 1), dimension: 2)
        var pixels = [UInt8](repeating: 0, count: Int(w) * Int(h))
        let status = bytes.withUnsafeMutableBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src.baseAddress, count, dst.baseAddress, w, 0, h, Int32(TJPF_GRAY.rawValue), 0)
            }
        }
        if status != 0 && tjGetErrorCode(handle) == TJERR_FATAL.rawValue {
            throw RegError.unreadableFile(path: path, reason: "corrupt JPEG data (\(String(cString: tjGetErrorStr2(handle))))")
        }
        return LoadedImage(image: .uint8(try Image(geometry: geometry, voxels: pixels)),
                           info: ImageFileInfo(path: path, format: .jpeg, storedType: "uint8"))
    }
}
