import Foundation
import RegCore

/// Which fixed-image voxels a metric is evaluated on (elastix's image samplers).
///
/// ```swift
/// let strategy = SamplingStrategy.random(fraction: 0.1, seed: 42)
/// ```
public enum SamplingStrategy: Equatable, Sendable, Codable {
    /// Every voxel.
    case full
    /// Every `step`-th voxel along each axis.
    case grid(step: Int)
    /// Each voxel kept with probability `fraction`, reproducibly for a given `seed`.
    case random(fraction: Double, seed: UInt64)
}

/// The fixed-image samples of one level: positions relative to the transform centre (mm) and
/// fixed intensities, inside the fixed mask.
///
/// ```swift
/// let samples = try FixedSamples(fixed, mask: nil, strategy: .random(fraction: 0.2, seed: 1), center: c)
/// ```
public struct FixedSamples: Sendable {
    /// Physical position minus `center`, per sample.
    public let positions: [SIMD3<Float>]
    public let values: [Float]
    public let center: SIMD3<Double>

    public var count: Int { values.count }

    public init(_ fixed: Image<Float>, mask: Image<UInt8>? = nil, strategy: SamplingStrategy, center: SIMD3<Double>) throws {
        if let mask, !mask.geometry.sameGrid(as: fixed.geometry) {
            throw RegError.geometryMismatch("the fixed mask's grid \(mask.geometry.size) is not the fixed image's grid \(fixed.geometry.size)")
        }
        let g = fixed.geometry, size = g.size
        let m = g.indexToPhysical, origin = g.origin
        let maskVoxels = mask?.voxels ?? [], masked = mask != nil
        var positions: [SIMD3<Float>] = [], values: [Float] = []
        func add(_ x: Int, _ y: Int, _ z: Int) {
            let i = x + size.x * (y + size.y * z)
            if masked, maskVoxels[i] == 0 { return }
            positions.append(SIMD3<Float>(origin + m * SIMD3(Double(x), Double(y), Double(z)) - center))
            values.append(fixed.voxels[i])
        }
        switch strategy {
        case .full:
            try Self.gridPoints(size, step: 1, add)
        case .grid(let step):
            try Self.gridPoints(size, step: step, add)
        case .random(let fraction, let seed):
            guard fraction > 0, fraction <= 1 else {
                throw RegError.invalidArgument(name: "sampling fraction", reason: "must be in (0, 1], found \(fraction)")
            }
            guard fraction < 1 else { try Self.gridPoints(size, step: 1, add); break }
            // Each voxel kept with probability `fraction`: geometric gaps between kept voxels.
            var rng = SplitMix64(seed: seed)
            let logKeep = log(1 - fraction)
            let gap = { Int(log(1 - rng.nextUnit()) / logKeep) }
            positions.reserveCapacity(Int(Double(g.voxelCount) * fraction * 1.1) + 16)
            var i = gap()
            let nx = size.x, nxy = size.x * size.y
            while i < g.voxelCount {
                add(i % nx, (i / nx) % size.y, i / nxy)
                i += 1 + gap()
            }
        }
        guard !values.isEmpty else {
            throw RegError.invalidArgument(name: "fixed mask", reason: mask == nil ? "no samples were drawn" : "the mask selects no voxel")
        }
        self.positions = positions
        self.values = values
        self.center = center
    }
}

extension FixedSamples {
    static func gridPoints(_ size: SIMD3<Int>, step: Int, _ add: (Int, Int, Int) -> Void) throws {
        guard step >= 1 else { throw RegError.invalidArgument(name: "sampling grid step", reason: "must be ≥ 1, found \(step)") }
        for z in stride(from: 0, to: size.z, by: size.z == 1 ? 1 : step) {
            for y in stride(from: 0, to: size.y, by: step) {
                for x in stride(from: 0, to: size.x, by: step) { add(x, y, z) }
            }
        }
    }
}
