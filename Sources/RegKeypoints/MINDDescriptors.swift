import Foundation
import RegCore
import RegKernels

/// MIND-SSC descriptors (Heinrich et al. 2013): at every voxel, for each pair of perpendicular
/// neighbours of the six-neighbourhood (12 pairs in 3-D, 4 in 2-D, `dilation` voxels from the
/// centre), the patch distance D = Σ over a box patch of (I(x + a) − I(x + b))², turned into
/// exp(−D / V) with V the mean of the pair distances at that voxel, and scaled so each voxel's
/// largest channel is 1. They describe local self-similarity, not intensity, so a T1 and a T2
/// of one anatomy get alike descriptors. Stored as bytes (0…255), `channelStride` per voxel.
///
/// ```swift
/// let fixedMIND = MINDDescriptors(image: fixed)
/// let movingMIND = MINDDescriptors(image: moving)
/// let d = fixedMIND.distance(at: 1234, to: movingMIND, at: 1250)   // sum of absolute differences
/// ```
public struct MINDDescriptors: Sendable {
    /// Bytes per voxel (the channels, padded).
    public static let channelStride = 12
    public let geometry: Geometry
    /// Channels actually used (12 in 3-D, 4 in 2-D; the rest of each voxel's stride is 0).
    public let channels: Int
    /// `channelStride` bytes per voxel, x fastest.
    public let values: [UInt8]

    /// - Parameters:
    ///   - dilation: how far the neighbours lie from the centre, voxels.
    ///   - patchRadius: the box patch over which squared differences are summed, voxels.
    public init(image: Image<Float>, dilation: Int = 2, patchRadius: Int = 1) {
        let g = image.geometry
        geometry = g
        let pairs = Self.neighbourPairs(dimension: g.dimension, dilation: dilation)
        channels = pairs.count
        let n = g.voxelCount
        var distances = [Float](repeating: 0, count: n * pairs.count)
        image.voxels.withUnsafeBufferPointer { ib in
            distances.withUnsafeMutableBufferPointer { db in
                let ip = UnsafeSendable(ib.baseAddress!), dp = UnsafeSendable(db.baseAddress!)
                for (c, pair) in pairs.enumerated() {
                    parallelFor(count: g.size.z) { zs in
                        for z in zs {
                            for y in 0..<g.size.y {
                                for x in 0..<g.size.x {
                                    let a = Self.clampedOffset(g.size, x + pair.0.x, y + pair.0.y, z + pair.0.z)
                                    let b = Self.clampedOffset(g.size, x + pair.1.x, y + pair.1.y, z + pair.1.z)
                                    let d = ip.value[a] - ip.value[b]
                                    dp.value[c * n + g.offset(x, y, z)] = d * d
                                }
                            }
                        }
                    }
                }
                BoxSums.sum(dp.value, channels: pairs.count, size: g.size, radius: patchRadius)
            }
        }
        // The mean over the image of the per-voxel mean distance bounds V from below, so flat
        // regions (V ≈ 0) do not blow noise up into descriptors.
        let channelCount = pairs.count
        let meanV = distances.withUnsafeBufferPointer { db in
            parallelReduce(count: n, chunkSize: 1 << 15, initial: 0.0, combine: +) { r in
                var s = 0.0
                for c in 0..<channelCount { for i in r { s += Double(db[c * n + i]) } }
                return s
            }
        } / Double(n * channelCount)
        let floorV = Float(max(meanV * 1e-3, Double(Float.leastNormalMagnitude)))
        let stride = Self.channelStride
        values = distances.withUnsafeBufferPointer { db in
            [UInt8](unsafeUninitializedCapacity: n * stride) { out, done in
                let dp = UnsafeSendable(db.baseAddress!), op = UnsafeSendable(out.baseAddress!)
                parallelFor(count: n, chunkSize: 1 << 14) { r in
                    var channel = [Float](repeating: 0, count: channelCount)
                    for i in r {
                        var v: Float = 0
                        for c in 0..<channelCount { channel[c] = dp.value[c * n + i]; v += channel[c] }
                        v = max(v / Float(channelCount), floorV)
                        var largest: Float = 0
                        for c in 0..<channelCount { channel[c] = exp(-channel[c] / v); largest = max(largest, channel[c]) }
                        let o = op.value + i * stride
                        for c in 0..<stride {
                            let q = c < channelCount ? (channel[c] / largest * 255).rounded() : 0
                            (o + c).initialize(to: UInt8(q))
                        }
                    }
                }
                done = n * stride
            }
        }
    }

    /// The sum of absolute differences between this image's descriptor at voxel offset `i` and
    /// `other`'s at `j`.
    @inlinable public func distance(at i: Int, to other: MINDDescriptors, at j: Int) -> Int {
        values.withUnsafeBufferPointer { a in
            other.values.withUnsafeBufferPointer { b in
                Self.distance(a.baseAddress! + i * Self.channelStride, b.baseAddress! + j * Self.channelStride)
            }
        }
    }

    /// Sum of absolute differences of two descriptors.
    @inlinable static func distance(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>) -> Int {
        var s: Int32 = 0
        for c in 0..<channelStride {
            let d = Int32(a[c]) &- Int32(b[c])
            s &+= d < 0 ? -d : d
        }
        return Int(s)
    }

    /// The pairs of perpendicular six-neighbourhood offsets (each unordered pair once).
    static func neighbourPairs(dimension: Int, dilation d: Int) -> [(SIMD3<Int>, SIMD3<Int>)] {
        var axes: [SIMD3<Int>] = [[d, 0, 0], [-d, 0, 0], [0, d, 0], [0, -d, 0]]
        if dimension == 3 { axes += [[0, 0, d], [0, 0, -d]] }
        var pairs: [(SIMD3<Int>, SIMD3<Int>)] = []
        for i in axes.indices {
            for j in axes.indices where j > i && (axes[i] &* axes[j]).wrappedSum() == 0 { pairs.append((axes[i], axes[j])) }
        }
        return pairs
    }

    @inline(__always) static func clampedOffset(_ size: SIMD3<Int>, _ x: Int, _ y: Int, _ z: Int) -> Int {
        let cx = min(max(x, 0), size.x - 1), cy = min(max(y, 0), size.y - 1), cz = min(max(z, 0), size.z - 1)
        return cx + size.x * (cy + size.y * cz)
    }
}
