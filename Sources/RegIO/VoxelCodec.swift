import RegCore
/// Decoding and encoding of raw voxel bytes.
enum VoxelCodec {
    /// Builds a typed image from raw bytes.
    /// - Parameters:
    ///   - planar: components stored one volume after another (NIfTI) rather than interleaved.
    static func decode(_ bytes: UnsafeRawBufferPointer, type: VoxelType, geometry: Geometry, components: Int,
                       bigEndian: Bool, planar: Bool) -> AnyImage {
        func make<T: VoxelScalar>(_: T.Type) -> AnyImage {
            let count = geometry.voxelCount * components
            var values = [T](unsafeUninitializedCapacity: count) { buf, n in
                let dst = UnsafeMutableRawBufferPointer(buf)
                dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<count * MemoryLayout<T>.size]))
                if bigEndian != isBigEndianHost { swapBytes(dst, width: MemoryLayout<T>.size) }
                n = count
            }
            if planar && components > 1 { values = interleave(values, components: components) }
            return AnyImage(try! Image(geometry: geometry, components: components, voxels: values))
        }
        switch type {
        case .uint8: return make(UInt8.self)
        case .int8: return make(Int8.self)
        case .int16: return make(Int16.self)
        case .uint16: return make(UInt16.self)
        case .int32: return make(Int32.self)
        case .uint32: return make(UInt32.self)
        case .float32: return make(Float.self)
        case .float64: return make(Double.self)
        }
    }

    /// Raw little-endian (or big-endian) bytes of an image.
    static func encode(_ image: AnyImage, bigEndian: Bool = false, planar: Bool) -> [UInt8] {
        let width = image.voxelType.byteSize
        let c = image.components
        var bytes = image.typed.withVoxelBytes { src -> [UInt8] in
            guard planar && c > 1 else { return [UInt8](src) }
            let n = src.count / (width * c)
            return [UInt8](unsafeUninitializedCapacity: src.count) { out, count in
                for k in 0..<c {
                    for i in 0..<n {
                        let from = (i * c + k) * width, to = (k * n + i) * width
                        for b in 0..<width { out[to + b] = src[from + b] }
                    }
                }
                count = src.count
            }
        }
        if bigEndian != isBigEndianHost { bytes.withUnsafeMutableBytes { swapBytes($0, width: width) } }
        return bytes
    }

    static let isBigEndianHost = 1.bigEndian == 1

    static func swapBytes(_ buf: UnsafeMutableRawBufferPointer, width: Int) {
        guard width > 1 else { return }
        let n = buf.count / width
        for i in 0..<n {
            let base = i * width
            for k in 0..<width / 2 { buf.swapAt(base + k, base + width - 1 - k) }
        }
    }

    /// Planar (component-major) → interleaved.
    static func interleave<T>(_ planar: [T], components c: Int) -> [T] {
        let n = planar.count / c
        return [T](unsafeUninitializedCapacity: planar.count) { out, count in
            for k in 0..<c { for i in 0..<n { (out.baseAddress! + i * c + k).initialize(to: planar[k * n + i]) } }
            count = planar.count
        }
    }

}
