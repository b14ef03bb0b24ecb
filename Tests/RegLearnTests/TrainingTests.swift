import Foundation
import Testing
import RegCore
import RegKernels
import RegTestSupport
import RegTransforms
@testable import RegLearn

/// Discs of radius 7 on a 32×32 grid, centred at a random offset of up to ±3 voxels.
func discImages(count: Int, seed: UInt64) -> [NetworkImage] { blobImages(count: count, seed: seed, side: 32, depth: 1) }

/// Discs (depth 1) or balls on a grid of `side` voxels across, of radius 7/32 of the side,
/// centred at a random offset of up to ±3/32 of the side, brighter towards +x; labelled 1 inside.
func blobImages(count: Int, seed: UInt64, side: Int, depth: Int) -> [NetworkImage] {
    var rng = SplitMix64(seed: seed)
    let scale = Double(side) / 32
    return (0..<count).map { _ in
        let c = (0..<3).map { axis in axis == 2 && depth == 1 ? 0 : Double(side / 2) + 6 * scale * (rng.nextUnit() - 0.5) }
        var v = [Float](repeating: 0, count: side * side * depth), l = [Int32](repeating: 0, count: v.count)
        for z in 0..<depth {
            for y in 0..<side {
                for x in 0..<side {
                    let d = SIMD3(Double(x) - c[0], Double(y) - c[1], Double(z) - c[2])
                    let r = (d * d).sum().squareRoot()
                    let i = (z * side + y) * side + x
                    v[i] = Float(max(0, min(1, 7.5 * scale - r)) * (0.6 + 0.4 * Double(x) / Double(side)))
                    l[i] = r < 7 * scale ? 1 : 0
                }
            }
        }
        return NetworkImage(voxels: v, size: SIMD3(side, side, depth), labels: l)
    }
}

/// A small U-Net, so the tests stay fast.
let tinyArchitecture = NetworkArchitecture(dimension: 2, encoder: [8, 8], decoder: [8, 8, 8])

@Suite(.serialized) struct TrainingTests {
    func trainer(seed: UInt64 = 3) throws -> Trainer {
        let net = try VoxelMorphNetwork(architecture: tinyArchitecture, seed: seed)
        let sampler = try PairSampler(images: discImages(count: 8, seed: 1), planar: false)
        return Trainer(network: net, optimizer: Adam(learningRate: 3e-3, shapes: net.weights.map(\.shape)), sampler: sampler,
                       objective: TrainingObjective(similarity: .meanSquares, smoothness: 0.01), seed: seed)
    }

    @Test func trainingIsBitwiseIdenticalForOneAndTwoThreadsAndWhenResumed() throws {
        func train(threads: Int, steps: Int, from start: Trainer? = nil) throws -> Trainer {
            try Parallelism.withThreadCount(threads) {
                var t = try start ?? trainer()
                try t.run(until: steps, validateEvery: 1000) { _, _ in }
                return t
            }
        }
        let one = try train(threads: 1, steps: 6), two = try train(threads: 2, steps: 6)
        #expect(one.network.weights == two.network.weights)
        // Stop after 3 steps, save, load and go on: the same weights as without the stop.
        let half = try train(threads: 2, steps: 3)
        let bytes = ModelCheckpoint(network: half.network, optimizer: half.optimizer, randomState: half.random.state).encoded()
        let saved = try ModelCheckpoint(decoding: bytes, path: "checkpoint")
        var resumed = try trainer()
        (resumed.network, resumed.optimizer, resumed.random.state) = (saved.network, try #require(saved.optimizer), try #require(saved.randomState))
        #expect(try train(threads: 1, steps: 6, from: resumed).network.weights == one.network.weights)
    }

    /// VM-1 and VM-2 in a plane: their weight counts, summed by hand layer by layer (3×3 kernels
    /// plus biases; the decoder's inputs include the skips), and a forward pass giving a 2-channel field.
    @Test func voxelMorphArchitecturesHaveTheirLayerWidths() throws {
        // VM-1: encoder 2→16→32→32→32; decoder 32→32, 64→32 (×3), 48→32, 32→16, 16→16; flow 16→2.
        // VM-2: every width doubled; the decoder's first three skip steps read 128 channels, the last 96.
        let layers: [(Int, [(Int, Int)])] = [
            (109_170, [(2, 16), (16, 32), (32, 32), (32, 32), (32, 32), (64, 32), (64, 32), (64, 32), (48, 32), (32, 16), (16, 16), (16, 2)]),
            (434_914, [(2, 32), (32, 64), (64, 64), (64, 64), (64, 64), (128, 64), (128, 64), (128, 64), (96, 64), (64, 32), (32, 32), (32, 2)]),
        ]
        for (arch, (expected, widths)) in zip([NetworkArchitecture.vm1(dimension: 2), .vm2(dimension: 2)], layers) {
            #expect(widths.reduce(0) { $0 + $1.0 * $1.1 * 9 + $1.1 } == expected)
            let net = try VoxelMorphNetwork(architecture: arch, seed: 1)
            #expect(net.weightCount == expected)
            let tape = Tape()
            let image = discImages(count: 1, seed: 5)[0].tensor
            let out = net.forward(on: tape, fixed: tape.constant(image), moving: tape.constant(image))
            #expect(tape.shape(out.displacement) == image.shape.with(channels: 2))
        }
    }

    /// Trained on the images (unsupervised), or on their labels alone (the semi-supervised Dice
    /// term with no image term), the network aligns held-out discs.
    @Test(arguments: [false, true]) func aTrainedNetworkAlignsHeldOutDiscs(fromLabelsOnly: Bool) throws {
        var t = try trainer()
        if fromLabelsOnly {
            t.objective = TrainingObjective(similarity: .none, smoothness: 0.01, dice: 1)
            t.classes = [1]
        }
        try t.run(until: 300, validateEvery: 1000, progress: { _, losses in
            #expect((losses.dice > 0) == fromLabelsOnly, "the Dice term is \(losses.dice)")
        }) { _, _ in }
        // Held-out pairs: Dice of the label discs before and after the predicted warp.
        let test = discImages(count: 6, seed: 77)
        var before = 0.0, after = 0.0
        for k in 0..<3 {
            let (f, m) = (test[2 * k], test[2 * k + 1])
            let tape = Tape()
            let out = t.network.forward(on: tape, fixed: tape.constant(f.tensor), moving: tape.constant(m.tensor))
            let u = tape.tensor(out.displacement).values
            var warped = [Int32](repeating: 0, count: 1024)
            for y in 0..<32 {
                for x in 0..<32 {
                    let p = y * 32 + x
                    let qx = Int((Float(x) + u[p]).rounded()), qy = Int((Float(y) + u[1024 + p]).rounded())
                    if qx >= 0, qx < 32, qy >= 0, qy < 32 { warped[p] = m.labels![qy * 32 + qx] }
                }
            }
            func dice(_ a: [Int32], _ b: [Int32]) -> Double {
                let both = zip(a, b).filter { $0 == 1 && $1 == 1 }.count
                return 2 * Double(both) / Double(a.filter { $0 == 1 }.count + b.filter { $0 == 1 }.count)
            }
            before += dice(f.labels!, m.labels!) / 3
            after += dice(f.labels!, warped) / 3
        }
        #expect(after > before + 0.08, "Dice before \(before), after \(after)")
        #expect(after > 0.9, "Dice after \(after)")
    }

    @Test func checkpointRoundTripAndSafetensorsHeader() throws {
        let t = try trainer()
        let bytes = ModelCheckpoint(network: t.network, optimizer: t.optimizer, training: "{\"steps\": 1}").encoded()
        let back = try ModelCheckpoint(decoding: bytes, path: "m.safetensors")
        #expect(back.network.weights == t.network.weights && back.network.architecture == tinyArchitecture)
        #expect(back.training == "{\"steps\": 1}")
        // The layout other tools read: u64 header length, JSON with dtype, shape and offsets.
        let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any])
        let first = try #require(header["conv00.weight"] as? [String: Any])
        #expect(first["dtype"] as? String == "F32" && first["shape"] as? [Int] == [8, 2, 3, 3])
        let last = try #require(header["conv05.bias"] as? [String: Any])
        #expect(last["shape"] as? [Int] == [2])
        // Damage is reported with the file's name and what is wrong.
        var damaged = bytes
        damaged[0] = 0xFF
        #expect(throws: LearnError.self) { try ModelCheckpoint(decoding: damaged, path: "m.safetensors") }
        do { _ = try ModelCheckpoint(decoding: Array(bytes.prefix(100)), path: "cut.safetensors") } catch {
            #expect("\(error)".contains("cut.safetensors"))
        }
    }

    @Test func predictedVoxelShiftsBecomePhysicalMillimetresOnAnObliqueGrid() throws {
        // A network whose last layer outputs a constant (1.5, −0.5) voxels: weights 0, biases set.
        var net = try VoxelMorphNetwork(architecture: tinyArchitecture, seed: 1)
        let last = net.weights.count - 2
        net.weights[last] = Tensor(shape: net.weights[last].shape)
        net.weights[last + 1].values = [1.5, -0.5]
        // 23 × 19 is not a multiple of 4: the images are padded and the field cropped.
        let g = Phantoms.oblique2DGeometry()
        let fixed = Phantoms.image(on: g) { p in sin(p.x / 7) + cos(p.y / 5) }
        let result = try NetworkRegistration(network: net).register(fixed: fixed, moving: fixed)
        let expected = g.direction * (g.spacing * SIMD3(1.5, -0.5, 0))
        for (x, y) in [(0, 0), (22, 18), (11, 7)] {
            let u = result.forward[x, y, 0]
            #expect(Approx.maxDifference(SIMD3<Double>(Double(u.x), Double(u.y), Double(u.z)), expected) < 1e-5)
        }
        #expect(result.inverse == nil)
    }

    /// The tiny U-Net after an affine network of three stride-2 convolutions.
    var affineArchitecture: NetworkArchitecture {
        var arch = tinyArchitecture
        arch.affine = [8, 8, 8]
        return arch
    }

    /// Trained on discs (balls) whose moving image is shifted by up to ±5 (±3) voxels, the affine
    /// stage alone recovers a held-out shift to within a voxel.
    @Test(arguments: [2, 3]) func anAffineNetworkLearnsToUndoShifts(dimension: Int) throws {
        var arch = affineArchitecture
        arch.dimension = dimension
        let (side, depth) = dimension == 2 ? (32, 1) : (16, 16)
        let net = try VoxelMorphNetwork(architecture: arch, seed: 3)
        let sampler = try PairSampler(images: blobImages(count: 8, seed: 1, side: side, depth: depth), planar: false)
        var t = Trainer(network: net, optimizer: Adam(learningRate: 3e-3, shapes: net.weights.map(\.shape)), sampler: sampler,
                        objective: TrainingObjective(similarity: .meanSquares, smoothness: 0.01, affine: 1), seed: 3)
        t.misalignment = AffineMisalignment(rotation: 0, scale: 0, translation: dimension == 2 ? 5 : 3)
        try t.run(until: dimension == 2 ? 400 : 300, validateEvery: 1000) { _, _ in }
        let image = blobImages(count: 1, seed: 78, side: side, depth: depth)[0]
        let n = image.tensor.values.count
        let shifts = dimension == 2 ? [SIMD3(3, -2, 0), SIMD3(-4, 1, 0), SIMD3(0, 4, 0)] : [SIMD3(2, -1, 1), SIMD3(-2, 1, -2), SIMD3(0, 2, 0)]
        var worst = 0.0
        for shift in shifts {
            // The moving image samples the fixed one 'shift' voxels away, so the map to recover is x ↦ x + shift.
            var moved = [Float](repeating: 0, count: n)
            for z in 0..<depth {
                for y in 0..<side {
                    for x in 0..<side {
                        let s = SIMD3(x, y, z) &- shift
                        guard s.x >= 0, s.x < side, s.y >= 0, s.y < side, s.z >= 0, s.z < depth else { continue }
                        moved[(z * side + y) * side + x] = image.tensor.values[(s.z * side + s.y) * side + s.x]
                    }
                }
            }
            let tape = Tape()
            let out = t.network.forward(on: tape, fixed: tape.constant(image.tensor),
                                        moving: tape.constant(NetworkImage(voxels: moved, size: image.size).tensor))
            let stage = tape.affineDisplacement(try #require(out.affine).parameters, size: image.size)
            let u = tape.tensor(stage).values
            for axis in 0..<dimension {
                let mean = Double(u[(axis * n)..<((axis + 1) * n)].reduce(0, +)) / Double(n)
                worst = max(worst, abs(mean - Double(shift[axis])))
            }
        }
        #expect(worst < 1, "largest error of the recovered shift: \(worst) voxels")
    }

    /// With an affine network before a diffeomorphic U-Net the written inverse undoes the forward
    /// map: A ∘ exp(v) composed with exp(−v) ∘ A⁻¹ is the identity inside the grid.
    @Test func theInverseOfAnAffineAndDiffeomorphicNetworkUndoesIt() throws {
        var arch = affineArchitecture
        arch.diffeomorphic = true
        var net = try VoxelMorphNetwork(architecture: arch, seed: 2)
        let last = 2 * (arch.uNetLayerCount - 1)
        net.weights[last].values = net.weights[last].values.indices.map { Float(($0 * 37) % 11 - 5) * 0.01 }
        net.weights[net.weights.count - 1].values = [0.05, -0.08, 0.06, 0.02, 0.1, -0.05]   // Δ, then t
        let g = Phantoms.oblique2DGeometry()
        let fixed = Phantoms.image(on: g) { p in sin(p.x / 7) + cos(p.y / 5) }
        let result = try NetworkRegistration(network: net).register(fixed: fixed, moving: fixed)
        let inverse = try #require(result.inverse)
        let roundTrip = FieldKernels.compose(inverse, after: result.forward)
        var worst: Float = 0, largest: Float = 0
        for y in 6..<(g.size.y - 6) {
            for x in 6..<(g.size.x - 6) {
                worst = max(worst, (roundTrip[x, y, 0] * roundTrip[x, y, 0]).sum().squareRoot())
                largest = max(largest, (result.forward[x, y, 0] * result.forward[x, y, 0]).sum().squareRoot())
            }
        }
        #expect(largest > 1, "the forward map moves points by up to \(largest) mm")
        #expect(worst < 0.05 * largest, "round trip off by up to \(worst) mm")
    }

    @Test func anAffineNetworkRoundTripsThroughItsModelFile() throws {
        let net = try VoxelMorphNetwork(architecture: affineArchitecture, seed: 4)
        let bytes = ModelCheckpoint(network: net).encoded()
        let back = try ModelCheckpoint(decoding: bytes, path: "affine.safetensors")
        #expect(back.network.architecture == affineArchitecture && back.network.weights == net.weights)
        let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any])
        #expect((header["affine.conv00.weight"] as? [String: Any])?["shape"] as? [Int] == [8, 2, 3, 3])
        #expect((header["affine.linear.weight"] as? [String: Any])?["shape"] as? [Int] == [6, 48])   // 8 features × 6 moments
        // Without an affine network the architecture's JSON has no affine key, as before it existed.
        let plain = String(decoding: try JSONEncoder().encode(tinyArchitecture), as: UTF8.self)
        #expect(!plain.contains("affine"))
    }

    @Test func labelMapPairsAreDeformedPaintedAndLabelled() throws {
        let discs = discImages(count: 2, seed: 4)
        var rng = SplitMix64(seed: 2)
        // Without deformation the labels come through unchanged, one channel per class.
        let still = try LabelMapSynthesis(classes: [1], velocityScale: 0).pair(fixed: discs[0], moving: discs[1], using: &rng)
        let inside = discs[0].labels!.map { $0 == 1 ? Float(1) : 0 }
        #expect(still.fixedLabels?.values == inside)
        // Painted: label 1 and the background take different intensities, in [0, 1].
        let f = still.fixed.values
        let meanIn = zip(f, inside).filter { $1 == 1 }.map(\.0).reduce(0, +) / inside.reduce(0, +)
        let meanOut = zip(f, inside).filter { $1 == 0 }.map(\.0).reduce(0, +) / Float(inside.count - Int(inside.reduce(0, +)))
        #expect(f.min()! >= 0 && f.max()! <= 1 && abs(meanIn - meanOut) > 0.05)
        // With deformation the labels move, and image and labels move together.
        let moved = try LabelMapSynthesis(classes: [1], velocityScale: 2, controlSpacing: 8).pair(fixed: discs[0], moving: discs[1], using: &rng)
        let labels = moved.fixedLabels!.values
        #expect(labels != inside)
        let movedIn = zip(moved.fixed.values, labels).filter { $1 == 1 }.map(\.0).reduce(0, +) / labels.reduce(0, +)
        let movedOut = zip(moved.fixed.values, labels).filter { $1 == 0 }.map(\.0).reduce(0, +) / Float(labels.count - Int(labels.reduce(0, +)))
        #expect(abs(movedIn - movedOut) > 0.05)
    }

    @Test func knownWarpPairsAreConsistentAndTheFieldTermTrains() throws {
        // The field term reaches the network: on one known-warp pair the error falls tenfold.
        var rng = SplitMix64(seed: 9)
        let pair = try KnownWarpSynthesis(velocityScale: 1, controlSpacing: 8).pair(from: discImages(count: 1, seed: 3)[0], using: &rng)
        var net = try VoxelMorphNetwork(architecture: tinyArchitecture, seed: 3)
        var adam = Adam(learningRate: 3e-3, shapes: net.weights.map(\.shape))
        let objective = TrainingObjective(similarity: .none, smoothness: 0, field: 1)
        let first = net.train(on: pair, objective: objective, optimizer: &adam).field
        for _ in 0..<150 { _ = net.train(on: pair, objective: objective, optimizer: &adam) }
        let last = net.evaluate(on: pair, objective: objective).field
        #expect(last < 0.1 * first, "field error \(first) → \(last)")
        // The pairs are what they claim: the moving image sampled at p + u(p) is the fixed image.
        let tape = Tape()
        let back = tape.tensor(tape.warp(tape.constant(pair.moving), by: tape.constant(try #require(pair.trueDisplacement))))
        let error = zip(back.values, pair.fixed.values).map { abs($0 - $1) }.reduce(0, +) / Float(back.values.count)
        #expect(error < 0.01, "mean |moving∘(id+u) − fixed| = \(error)")
    }
}
