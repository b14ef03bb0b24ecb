import Foundation
import RegCore
import RegKernels

/// Majority and locally weighted voting, a slab of z at a time.
enum Voting {
    /// One vote per atlas for its label at the voxel.
    static func majority(_ stack: AtlasStack, slab: Range<Int>, mask: Image<UInt8>, into out: inout SlabVotes) {
        let g = stack.geometry, plane = g.size.x * g.size.y
        var tally = VoteTally(labelCount: stack.labelValues.count)
        for v in slab.lowerBound * plane..<slab.upperBound * plane where mask.voxels[v] != 0 {
            tally.reset()
            for atlas in stack.labels { tally.add(atlas[v], 1) }
            out.record(v - out.firstVoxel, votes: tally)
        }
    }

    /// Locally weighted voting (Artaechevarria et al. 2009): atlas i votes at voxel x with
    /// weight 1 / (G_σ ∗ (T − Aᵢ)²(x) + ε)^gain, ε a millionth of the target's variance in the
    /// mask (so a perfect local match does not divide by zero).
    struct LocalWeights {
        let target: VoxelBuffer<Float>
        let atlases: [VoxelBuffer<Float>]
        let mask: Image<UInt8>
        let sigma: Double
        let gain: Double
        let epsilon: Double

        init(target: VoxelBuffer<Float>, atlases: [VoxelBuffer<Float>], mask: Image<UInt8>, sigma: Double, gain: Double) {
            self.target = target
            self.atlases = atlases
            self.mask = mask
            self.sigma = sigma
            self.gain = gain
            var n = 0.0, sum = 0.0, sum2 = 0.0
            for (v, m) in mask.voxels.enumerated() where m != 0 {
                let t = Double(target[v])
                n += 1; sum += t; sum2 += t * t
            }
            let variance = n > 1 ? max(0, sum2 / n - (sum / n) * (sum / n)) : 0
            epsilon = max(1e-6 * variance, Double(Float.leastNormalMagnitude))
        }

        func vote(_ stack: AtlasStack, slab: Range<Int>, into out: inout SlabVotes) {
            let g = stack.geometry, plane = g.size.x * g.size.y
            guard mask.voxels[slab.lowerBound * plane..<slab.upperBound * plane].contains(where: { $0 != 0 }) else { return }
            // The squared differences over the slab and a margin of the kernel's reach, smoothed
            // as a small volume: the same values as smoothing the whole grid.
            let kernels = GaussianSmoothing.Kernels(sigma: .mm(sigma), geometry: g)
            let reach = kernels.z.isEmpty ? 0 : kernels.z.count - 1
            let z0 = max(0, slab.lowerBound - reach), z1 = min(g.size.z, slab.upperBound + reach)
            let local = try! Geometry(size: SIMD3(g.size.x, g.size.y, z1 - z0), spacing: g.spacing, direction: g.direction)
            let mse: [VoxelBuffer<Float>] = atlases.map { atlas in
                var d = Image<Float>(geometry: local)
                for i in 0..<local.voxelCount {
                    let diff = target[z0 * plane + i] - atlas[z0 * plane + i]
                    d.voxels[i] = diff * diff
                }
                return GaussianSmoothing.smooth(d, sigma: .mm(sigma)).voxels
            }
            var tally = VoteTally(labelCount: stack.labelValues.count)
            for v in slab.lowerBound * plane..<slab.upperBound * plane where mask.voxels[v] != 0 {
                tally.reset()
                for (k, atlas) in stack.labels.enumerated() {
                    let e = max(0, Double(mse[k][v - z0 * plane]))
                    tally.add(atlas[v], pow(e + epsilon, -gain))
                }
                out.record(v - out.firstVoxel, votes: tally)
            }
        }
    }
}
