import RegCore
import RegKernels
import RegSynth
import RegTestSupport
import RegTransforms
import Testing

@Suite struct RandomWarpTests {
    @Test(arguments: [false, true])
    func warpHasTheRequestedSizeAnExactInverseAndNoFolds(flat: Bool) throws {
        let grid = flat ? Phantoms.oblique2DGeometry(size: SIMD2(48, 40)) : Phantoms.obliqueGeometry(size: SIMD3(30, 26, 22))
        let warp = try RandomWarp(on: grid, maxDisplacement: 6, controlSpacing: 15, seed: 4)
        let largest = warp.forward.field.meanAndMaxNorm.max
        #expect(abs(largest - 6) < 0.1, "largest displacement \(largest) mm")
        #expect(JacobianStatistics(determinant: warp.forward.jacobianDeterminant).folded == 0)
        // forward ∘ inverse = identity away from the edges (both are exact exponentials).
        let residual = FieldKernels.compose(warp.forward.field, after: warp.inverse.field)
        var sum = 0.0, n = 0
        let s = grid.size
        for z in 0..<s.z where flat || (z > 3 && z < s.z - 4) {
            for y in 4..<s.y - 4 { for x in 4..<s.x - 4 { sum += Double(SIMD3<Double>(residual[x, y, z]).magnitudes.max()); n += 1 } }
        }
        #expect(sum / Double(n) < 0.05)
        if flat { #expect(warp.forward.field.vectors.enumerated().allSatisfy { $0.offset % 3 != 2 || $0.element == 0 }) }
        let again = try RandomWarp(on: grid, maxDisplacement: 6, controlSpacing: 15, seed: 4)
        #expect(again.forward == warp.forward)
        #expect(try RandomWarp(on: grid, maxDisplacement: 6, controlSpacing: 15, seed: 5).forward != warp.forward)
    }

    @Test func nonPositiveSizeIsRejected() {
        #expect(throws: RegError.self) { try RandomWarp(on: Phantoms.obliqueGeometry(), maxDisplacement: 0, seed: 1) }
    }
}

@Suite struct ContrastSynthesisTests {
    /// Three nested boxes of labels 0, 5, 9 on an oblique grid.
    static func labels() -> Image<Int32> {
        let grid = Phantoms.obliqueGeometry(size: SIMD3(32, 28, 24))
        var out = Image<Int32>(geometry: grid)
        for z in 0..<24 { for y in 0..<28 { for x in 0..<32 {
            let inner = (10..<22).contains(x) && (9..<19).contains(y) && (8..<16).contains(z)
            let outer = (4..<28).contains(x) && (4..<24).contains(y) && (4..<20).contains(z)
            out[x, y, z] = inner ? 9 : (outer ? 5 : 0)
        } } }
        return out
    }

    @Test func imagesAreReproducibleNormalisedAndFollowTheLabels() throws {
        let labels = Self.labels()
        let synth = ContrastSynthesis(noiseRange: 0...0.02, blurRange: 0.5...0.5, biasStrength: 0.05)
        let a = try synth.image(from: labels, seed: 1), b = try synth.image(from: labels, seed: 1), c = try synth.image(from: labels, seed: 2)
        #expect(a == b)
        #expect(a != c)
        #expect(a.voxels.min()! == 0 && a.voxels.max()! == 1)
        // Within a label the intensity varies far less than between labels.
        func stats(_ image: Image<Float>, _ label: Int32) -> (mean: Double, sd: Double) {
            let v = labels.voxels.indices.filter { labels.voxels[$0] == label && Self.interior($0, labels.geometry) }.map { Double(image.voxels[$0]) }
            let mean = v.reduce(0, +) / Double(v.count)
            return (mean, (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot())
        }
        // Each label is nearly uniform, and the two draws paint the labels differently.
        for image in [a, c] { for label: Int32 in [5, 9] { #expect(stats(image, label).sd < 0.05) } }
        let shifts = [Int32(5), 9].map { abs(stats(a, $0).mean - stats(c, $0).mean) }
        #expect(shifts.max()! > 0.15, "label means moved by \(shifts)")
    }

    /// Voxels at least 2 voxels from a label boundary (the blur mixes labels there).
    static func interior(_ i: Int, _ g: Geometry) -> Bool {
        let x = i % g.size.x, y = (i / g.size.x) % g.size.y, z = i / (g.size.x * g.size.y)
        func away(_ v: Int, _ edges: [Int]) -> Bool { edges.allSatisfy { abs(v - $0) >= 2 && abs(v - ($0 - 1)) >= 2 } }
        return away(x, [4, 10, 22, 28]) && away(y, [4, 9, 19, 24]) && away(z, [4, 8, 16, 20])
    }
}
