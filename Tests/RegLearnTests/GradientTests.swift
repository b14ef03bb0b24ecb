import Foundation
import Testing
import RegCore
@testable import RegLearn

/// Random tensors for the checks, from a seed.
func randomTensor(_ shape: TensorShape, seed: UInt64, range: ClosedRange<Float> = -1...1) -> Tensor {
    var rng = SplitMix64(seed: seed)
    return Tensor(shape: shape, values: (0..<shape.count).map { _ in
        range.lowerBound + (range.upperBound - range.lowerBound) * Float(rng.nextUnit())
    })
}

/// Compares the tape's gradient of `build` with central differences at `probes` entries of
/// each input; the loss is evaluated in Float, so the step is large and the tolerance relative.
func checkGradients(_ inputs: [Tensor], probes: Int = 12, step: Float = 1e-2, tolerance: Float = 2e-2,
                    _ build: (Tape, [Variable]) -> Variable) {
    let tape = Tape()
    let vars = inputs.map { tape.parameter($0) }
    tape.backward(from: build(tape, vars))
    func loss(_ values: [Tensor]) -> Float {
        let t = Tape()
        return t.scalar(build(t, values.map { t.parameter($0) }))
    }
    var rng = SplitMix64(seed: 99)
    for (k, input) in inputs.enumerated() {
        let analytic = tape.gradient(vars[k])?.values ?? [Float](repeating: 0, count: input.shape.count)
        let scale = max(analytic.map(abs).max() ?? 0, 1e-6)
        for _ in 0..<probes {
            let i = Int(rng.next() % UInt64(input.shape.count))
            var plus = inputs, minus = inputs
            plus[k].values[i] += step
            minus[k].values[i] -= step
            let numeric = (loss(plus) - loss(minus)) / (2 * step)
            #expect(abs(numeric - analytic[i]) <= tolerance * scale,
                    "input \(k) entry \(i): analytic \(analytic[i]) numeric \(numeric) (largest \(scale))")
        }
    }
}

/// A loss that weighs every output differently, so each entry of the gradient is exercised.
func probeLoss(_ tape: Tape, _ y: Variable, seed: UInt64 = 5) -> Variable {
    tape.meanSquaredError(y, tape.constant(randomTensor(tape.shape(y), seed: seed, range: -2...2)))
}

@Suite struct GradientTests {
    @Test func convolutionInPlaneAndInVolume() {
        for s in [TensorShape(batch: 2, channels: 3, height: 7, width: 9), TensorShape(channels: 2, depth: 5, height: 4, width: 6)] {
            let k = s.isPlanar ? 1 : 3
            let w = randomTensor(TensorShape(batch: 4, channels: s.channels, depth: k, height: 3, width: 3), seed: 2)
            checkGradients([randomTensor(s, seed: 1), w, randomTensor(TensorShape(channels: 4, height: 1, width: 1), seed: 3)]) {
                probeLoss($0, $0.convolution($1[0], weight: $1[1], bias: $1[2]))
            }
            checkGradients([randomTensor(s, seed: 1), w, randomTensor(TensorShape(channels: 4, height: 1, width: 1), seed: 3)]) {
                probeLoss($0, $0.convolution($1[0], weight: $1[1], bias: $1[2], stride: 2))
            }
        }
    }

    /// The fused activation gives the values and gradients of a convolution followed by
    /// `leakyReLU`, to the bit (2-D: direct GEMMs; 3-D: Winograd tiles).
    @Test func convolutionWithFusedActivationEqualsTheTwoLayers() {
        for s in [TensorShape(channels: 3, height: 7, width: 9), TensorShape(channels: 2, depth: 5, height: 4, width: 6)] {
            let w = randomTensor(TensorShape(batch: 4, channels: s.channels, depth: s.isPlanar ? 1 : 3, height: 3, width: 3), seed: 2)
            let inputs = [randomTensor(s, seed: 1), w, randomTensor(TensorShape(channels: 4, height: 1, width: 1), seed: 3)]
            func run(fused: Bool) -> (values: [Float], gradients: [[Float]]) {
                let tape = Tape()
                let v = inputs.map { tape.parameter($0) }
                let y = fused ? tape.convolution(v[0], weight: v[1], bias: v[2], leakyReLUSlope: 0.2)
                              : tape.leakyReLU(tape.convolution(v[0], weight: v[1], bias: v[2]), slope: 0.2)
                tape.backward(from: probeLoss(tape, y))
                return (tape.tensor(y).values, v.map { tape.gradient($0)!.values })
            }
            let (fused, separate) = (run(fused: true), run(fused: false))
            #expect(fused.values == separate.values)
            #expect(fused.values.contains { $0 < 0 } && fused.values.contains { $0 > 0 })
            #expect(fused.gradients == separate.gradients)
        }
    }

    @Test func activationPoolingUpsamplingConcatenation() {
        let s = TensorShape(channels: 2, depth: 4, height: 6, width: 8)
        // Values spread so no probe crosses a kink of LeakyReLU or a tie of max pooling.
        var x = randomTensor(s, seed: 4)
        for i in x.values.indices { x.values[i] += x.values[i] > 0 ? 0.1 : -0.1 }
        checkGradients([x], step: 1e-3) { probeLoss($0, $0.leakyReLU($1[0])) }
        checkGradients([x], step: 1e-3) { probeLoss($0, $0.maxPool($1[0])) }
        checkGradients([x]) { probeLoss($0, $0.upsampleNearest($1[0])) }
        checkGradients([x]) { probeLoss($0, $0.subsampled($1[0])) }
        let planar = TensorShape(channels: 3, height: 6, width: 8)
        checkGradients([randomTensor(planar, seed: 6), randomTensor(planar.with(channels: 1), seed: 7)]) {
            probeLoss($0, $0.scaled($0.concatenate([$1[0], $1[1]]), by: 1.5))
        }
        checkGradients([randomTensor(planar, seed: 6), randomTensor(planar, seed: 7)]) { probeLoss($0, $0.add($1[0], $1[1])) }
    }

    @Test func spatialTransformerIntegrationAndResizing() {
        for s in [TensorShape(channels: 2, height: 9, width: 11), TensorShape(channels: 1, depth: 6, height: 7, width: 8)] {
            let image = randomTensor(s, seed: 8)
            var field = randomTensor(s.with(channels: s.spatialDimension), seed: 9, range: -1.5...1.5)
            // Keep sampling points away from grid lines, where linear interpolation has kinks.
            for i in field.values.indices {
                let f = field.values[i] - field.values[i].rounded(.down)
                if f < 0.1 || f > 0.9 { field.values[i] += 0.3 }
            }
            checkGradients([image, field], step: 1e-3, tolerance: 3e-2) { probeLoss($0, $0.warp($1[0], by: $1[1])) }
            let velocity = randomTensor(s.with(channels: s.spatialDimension), seed: 10, range: -2...2)
            checkGradients([velocity], step: 1e-3, tolerance: 3e-2) { probeLoss($0, $0.integrate($1[0])) }
            let size = s.spatial &* SIMD3(2, 2, s.isPlanar ? 1 : 2)
            checkGradients([field]) { probeLoss($0, $0.resized($1[0], to: size)) }
        }
    }

    @Test func affineNetworkOperations() {
        for s in [TensorShape(batch: 2, channels: 3, height: 5, width: 6), TensorShape(channels: 2, depth: 3, height: 4, width: 5)] {
            checkGradients([randomTensor(s, seed: 21)]) { probeLoss($0, $0.globalMoments($1[0])) }
            let d = s.spatialDimension, p = d * (d + 1)
            let features = randomTensor(TensorShape(batch: s.batch, channels: 4, height: 1, width: 1), seed: 22)
            checkGradients([features, randomTensor(TensorShape(batch: p, channels: 4, height: 1, width: 1), seed: 23),
                            randomTensor(TensorShape(channels: p, height: 1, width: 1), seed: 24)]) {
                probeLoss($0, $0.linear($1[0], weight: $1[1], bias: $1[2]))
            }
            let theta = randomTensor(TensorShape(batch: s.batch, channels: p, height: 1, width: 1), seed: 25, range: -0.3...0.3)
            checkGradients([theta]) { probeLoss($0, $0.affineDisplacement($1[0], size: s.spatial)) }
            checkGradients([theta, randomTensor(s.with(channels: d), seed: 26, range: -2...2)]) {
                probeLoss($0, $0.affineDisplacement($1[0], size: s.spatial, at: $1[1]))
            }
        }
    }

    @Test func lossesAgainstFiniteDifferences() {
        for s in [TensorShape(channels: 1, height: 14, width: 12), TensorShape(channels: 1, depth: 6, height: 7, width: 8)] {
            let a = randomTensor(s, seed: 11, range: 0...1), b = randomTensor(s, seed: 12, range: 0...1)
            checkGradients([a, b], step: 1e-3, tolerance: 3e-2) { $0.localCorrelationLoss($1[0], $1[1], window: 5) }
            checkGradients([a, b]) { $0.meanSquaredError($1[0], $1[1]) }
            checkGradients([randomTensor(s.with(channels: s.spatialDimension), seed: 13)]) { $0.diffusionLoss($1[0]) }
            checkGradients([a, b]) { $0.softDiceLoss($1[0], $1[1]) }
            checkGradients([a, b], step: 1e-3, tolerance: 3e-2) { $0.mutualInformationLoss($1[0], $1[1], bins: 8) }
        }
    }
}

@Suite struct NetworkGradientTests {
    /// Central differences of the whole objective with respect to the weights `probe` indexes.
    func checkObjectiveGradients(_ net: VoxelMorphNetwork, probe: [Int], fixed: Tensor, moving: Tensor, objective: TrainingObjective) {
        checkGradients(probe.map { net.weights[$0] }, probes: 6, step: 3e-4, tolerance: 5e-2) { tape, vars in
            var p = net.weights.map { tape.constant($0) }
            for (k, i) in probe.enumerated() { p[i] = vars[k] }
            let f = tape.constant(fixed)
            let out = net.forward(on: tape, fixed: f, moving: tape.constant(moving), parameters: p)
            return objective.record(on: tape, output: out, fixed: f, pair: TrainingPair(fixed: fixed, moving: moving)).total
        }
    }

    /// An affine network before the U-Net: its first convolution and linear layer and the U-Net's
    /// last layer, with the affine stage's own similarity term. The images are smooth: a weight of
    /// the affine network moves every sample at once, and on noise the kinks of linear
    /// interpolation that so many samples cross within one step spoil the central differences.
    /// In a plane (6 affine parameters) and in a volume (12).
    @Test(arguments: [2, 3]) func affineObjectiveGradientMatchesFiniteDifferences(dimension: Int) throws {
        let arch = NetworkArchitecture(dimension: dimension, encoder: [4, 4], decoder: [4, 4, 4], affine: [4, 4])
        var net = try VoxelMorphNetwork(architecture: arch, seed: 6)
        let uNetLast = 2 * (arch.uNetLayerCount - 1), linear = net.weights.count - 2
        net.weights[uNetLast].values = net.weights[uNetLast].values.indices.map { Float(($0 * 37) % 11 - 5) * 0.02 }
        net.weights[linear].values = net.weights[linear].values.indices.map { Float(($0 * 29) % 7 - 3) * 0.05 }
        let s = TensorShape(channels: 1, depth: dimension == 2 ? 1 : 8, height: 12, width: 16)
        func smooth(_ phase: Float) -> Tensor {
            Tensor(shape: s, values: (0..<s.count).map { i in
                let (x, y, z) = (Float(i % 16), Float(i / 16 % 12), Float(i / 192))
                return 0.5 + 0.25 * sin(x / 2.5 + phase) * cos(y / 3 - phase) * cos(z / 4 + phase) + 0.02 * x
            })
        }
        let fixed = smooth(0), moving = smooth(0.7)
        let objective = TrainingObjective(similarity: .localCorrelation, window: 5, smoothness: 0.5, affine: 1)
        let probe = [2 * arch.uNetLayerCount, linear, uNetLast]
        checkObjectiveGradients(net, probe: probe, fixed: fixed, moving: moving, objective: objective)
    }

    /// The whole network — U-Net, integration, cascades, spatial transformer, NCC and diffusion —
    /// differentiated with respect to a few weights of its first and last layers. The step is
    /// small: with two cascades, larger steps cross kinks of the interpolation and of LeakyReLU.
    @Test(arguments: [(false, 1), (true, 1), (false, 2)])
    func objectiveGradientMatchesFiniteDifferences(diffeomorphic: Bool, cascades: Int) throws {
        var arch = NetworkArchitecture(dimension: 2, encoder: [4, 4], decoder: [4, 4, 4], diffeomorphic: diffeomorphic, cascades: cascades)
        arch.integrationSteps = 4
        var net = try VoxelMorphNetwork(architecture: arch, seed: 5)
        // A last layer large enough that the fields move the images by a voxel or so.
        let last = net.weights.count - 2
        net.weights[last].values = net.weights[last].values.indices.map { Float(($0 * 37) % 11 - 5) * 0.02 }
        let s = TensorShape(channels: 1, height: 12, width: 16)
        let fixed = randomTensor(s, seed: 1, range: 0...1), moving = randomTensor(s, seed: 2, range: 0...1)
        let objective = TrainingObjective(similarity: .localCorrelation, window: 5, smoothness: 0.5)
        let probe = [0, last]   // first and last convolution weights
        checkObjectiveGradients(net, probe: probe, fixed: fixed, moving: moving, objective: objective)
    }
}
