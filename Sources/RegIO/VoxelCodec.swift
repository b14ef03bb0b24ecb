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
            var values = VoxelBuffer<T>(unsafeUninitializedCapacity: count) { buf, n in
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
        var bytes: [UInt8] = []
        bytes.reserveCapacity(image.geometry.voxelCount * image.components * image.voxelType.byteSize)
        encode(image, bigEndian: bigEndian, planar: planar) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// The bytes of `encode(_:bigEndian:planar:)` handed to `body` in order, a piece of at most
    /// `chunkValues` values at a time, so that no copy of the whole image is made.
    ///
    /// ```swift
    /// try VoxelCodec.encode(image, planar: true) { piece in try write(piece) }
    /// ```
    static func encode(_ image: AnyImage, bigEndian: Bool = false, planar: Bool, chunkValues: Int = 1 << 18,
                       _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let width = image.voxelType.byteSize, c = image.components
        let reorder = planar && c > 1, swap = bigEndian != isBigEndianHost
        try image.typed.withVoxelBytes { src in
            guard reorder || swap else {
                for start in stride(from: 0, to: src.count, by: chunkValues * width) {
                    try body(UnsafeRawBufferPointer(rebasing: src[start..<min(src.count, start + chunkValues * width)]))
                }
                return
            }
            let n = src.count / (width * c)
            let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkValues * width, alignment: 8)
            defer { piece.deallocate() }
            // Values moved as integers of their width: component k of voxels `first..<first + m`.
            func gather<W: FixedWidthInteger>(_: W.Type, component k: Int, first: Int, count m: Int) {
                let (from, to) = (src.baseAddress!, piece.baseAddress!)
                for i in 0..<m {
                    let value = reorder ? (first &+ i) &* c &+ k : first &+ i
                    to.storeBytes(of: from.loadUnaligned(fromByteOffset: value &* width, as: W.self), toByteOffset: i &* width, as: W.self)
                }
            }
            let (planes, perPlane) = reorder ? (c, n) : (1, n * c)
            for k in 0..<planes {
                for first in stride(from: 0, to: perPlane, by: chunkValues) {
                    let m = min(chunkValues, perPlane - first)
                    switch width {
                    case 1: gather(UInt8.self, component: k, first: first, count: m)
                    case 2: gather(UInt16.self, component: k, first: first, count: m)
                    case 4: gather(UInt32.self, component: k, first: first, count: m)
                    default: gather(UInt64.self, component: k, first: first, count: m)
                    }
                    let bytes = UnsafeMutableRawBufferPointer(rebasing: piece[0..<m * width])
                    if swap { swapBytes(bytes, width: width) }
                    try body(UnsafeRawBufferPointer(bytes))
                }
            }
        }
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
    static func interleave<T>(_ planar: VoxelBuffer<T>, components c: Int) -> VoxelBuffer<T> {
        let n = planar.count / c
        return VoxelBuffer<T>(unsafeUninitializedCapacity: planar.count) { out, count in
            for k in 0..<c { for i in 0..<n { (out.baseAddress! + i * c + k).initialize(to: planar[k * n + i]) } }
            count = planar.count
        }
    }

}
