import RegCore

/// The shape of a VoxelMorph-style registration network: a U-Net on the concatenated moving and
/// fixed images that outputs a displacement (or, diffeomorphic, a stationary velocity) field in voxels.
///
/// ```swift
/// let arch = NetworkArchitecture.vm1(dimension: 2)
/// let arch3 = NetworkArchitecture.vm1(dimension: 3, diffeomorphic: true)
/// ```
public struct NetworkArchitecture: Codable, Hashable, Sendable {
    /// 2 (images are single slices) or 3.
    public var dimension: Int
    /// Features of the encoder convolutions, one per level, each followed by 2× max pooling.
    public var encoder: [Int]
    /// Features of the decoder convolutions: one per encoder level (each followed by 2× upsampling
    /// and the skip connection), then the full-resolution convolutions.
    public var decoder: [Int]
    /// Predict a velocity and integrate it by scaling and squaring (the result is a diffeomorphism).
    public var diffeomorphic: Bool
    /// Scaling-and-squaring steps.
    public var integrationSteps: Int
    /// The velocity is integrated on a grid this many times coarser, then resized (VoxelMorph's `int_downsize`).
    public var integrationDownsize: Int
    /// The network is applied this many times, each time to the moving image warped by the
    /// composition so far (recursive cascades, weights shared).
    public var cascades: Int
    /// Features of an affine network's stride-2 convolutions, run first (empty: none). It sees the
    /// moving and fixed images, takes each feature's moments over the grid (its mean, and its
    /// first and second moments in normalised coordinates) and regresses from them the d(d + 1)
    /// parameters of an affine map (`Tape.affineDisplacement`),
    /// starting at the identity; the U-Net then refines the affinely warped image, and the two are
    /// trained together.
    public var affine: [Int]

    public init(dimension: Int, encoder: [Int], decoder: [Int], diffeomorphic: Bool = false, integrationSteps: Int = 7,
                integrationDownsize: Int = 2, cascades: Int = 1, affine: [Int] = []) {
        (self.dimension, self.encoder, self.decoder, self.diffeomorphic) = (dimension, encoder, decoder, diffeomorphic)
        (self.integrationSteps, self.integrationDownsize, self.cascades) = (integrationSteps, integrationDownsize, cascades)
        self.affine = affine
    }

    enum CodingKeys: String, CodingKey {
        case dimension, encoder, decoder, diffeomorphic, integrationSteps, integrationDownsize, cascades, affine
    }

    /// Models written before the affine network existed have no `affine` key.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(dimension: try c.decode(Int.self, forKey: .dimension), encoder: try c.decode([Int].self, forKey: .encoder),
                  decoder: try c.decode([Int].self, forKey: .decoder), diffeomorphic: try c.decode(Bool.self, forKey: .diffeomorphic),
                  integrationSteps: try c.decode(Int.self, forKey: .integrationSteps),
                  integrationDownsize: try c.decode(Int.self, forKey: .integrationDownsize),
                  cascades: try c.decode(Int.self, forKey: .cascades), affine: try c.decodeIfPresent([Int].self, forKey: .affine) ?? [])
    }

    /// `affine` is written only when there is an affine network, so other models keep their bytes.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dimension, forKey: .dimension)
        try c.encode(self.encoder, forKey: .encoder)
        try c.encode(decoder, forKey: .decoder)
        try c.encode(diffeomorphic, forKey: .diffeomorphic)
        try c.encode(integrationSteps, forKey: .integrationSteps)
        try c.encode(integrationDownsize, forKey: .integrationDownsize)
        try c.encode(cascades, forKey: .cascades)
        if !affine.isEmpty { try c.encode(affine, forKey: .affine) }
    }

    /// VoxelMorph's default U-Net: encoder 16-32-32-32, decoder 32-32-32-32-32-16-16.
    public static func vm1(dimension: Int, diffeomorphic: Bool = false) -> NetworkArchitecture {
        NetworkArchitecture(dimension: dimension, encoder: [16, 32, 32, 32], decoder: [32, 32, 32, 32, 32, 16, 16],
                            diffeomorphic: diffeomorphic)
    }

    /// The larger variant: every width doubled (32-64-64-64, 64-64-64-64-64-32-32).
    public static func vm2(dimension: Int, diffeomorphic: Bool = false) -> NetworkArchitecture {
        NetworkArchitecture(dimension: dimension, encoder: [32, 64, 64, 64], decoder: [64, 64, 64, 64, 64, 32, 32],
                            diffeomorphic: diffeomorphic)
    }

    /// Grid extents must be multiples of this (the image is padded to it at inference).
    public var sizeMultiple: Int { 1 << encoder.count }

    /// `size` rounded up to multiples of `sizeMultiple` along each axis the network sees.
    public func paddedSize(_ size: SIMD3<Int>) -> SIMD3<Int> {
        let m = sizeMultiple
        func up(_ n: Int) -> Int { (n + m - 1) / m * m }
        return SIMD3(up(size.x), up(size.y), dimension == 2 ? 1 : up(size.z))
    }

    /// Floating-point operations (2 per multiply–add) of the convolutions of one forward pass on a
    /// grid of `size` voxels; a training step costs about three times as much.
    public func convolutionFLOPs(size: SIMD3<Int>) -> Double {
        let taps = dimension == 3 ? 27.0 : 9.0, levels = encoder.count
        func voxels(atLevel l: Int) -> Double {
            let f = 1 << l
            return Double(size.x / f) * Double(size.y / f) * Double(dimension == 3 ? size.z / f : 1)
        }
        // Encoder convolution i runs at level i, decoder convolution j < levels at level levels − j,
        // the rest at full size; affine convolution i, computed at stride 1 and then subsampled, at level i.
        let level = Array(0..<levels) + (0..<decoder.count).map { $0 < levels ? levels - $0 : 0 } + [0] + Array(affine.indices)
        let convolutions = layers.filter { $0.kind != .linear }
        return zip(convolutions, level).reduce(0) { $0 + 2 * taps * Double($1.0.input * $1.0.output) * voxels(atLevel: $1.1) }
    }

    /// One layer with weights: its kind, channels and the name of its tensors in a model file.
    struct Layer {
        enum Kind { case convolution, stridedConvolution, linear }
        var kind: Kind, input: Int, output: Int, name: String

        /// The weight's shape: (out, in, k, 3, 3) for a convolution, (out, in, 1, 1, 1) for a linear layer.
        func weightShape(dimension: Int) -> TensorShape {
            kind == .linear ? TensorShape(batch: output, channels: input, height: 1, width: 1)
                : TensorShape(batch: output, channels: input, depth: dimension == 3 ? 3 : 1, height: 3, width: 3)
        }

        /// The weight's shape as PyTorch lays it out in a model file: (out, in) for a linear layer,
        /// (out, in, 3, 3) or (out, in, 3, 3, 3) for a convolution.
        func fileShape(dimension: Int) -> [Int] {
            kind == .linear ? [output, input] : [output, input] + [Int](repeating: 3, count: dimension)
        }
    }

    /// The layers in the order their weights are stored: the U-Net's convolutions in the order
    /// they run (named `conv00` …), then the affine network's (`affine.conv00` …, `affine.linear`).
    var layers: [Layer] {
        var list = [Layer]()
        func add(_ kind: Layer.Kind, _ input: Int, _ output: Int, _ name: String) { list.append(Layer(kind: kind, input: input, output: output, name: name)) }
        var channels = 2, skips = [Int]()
        for f in encoder {
            add(.convolution, channels, f, String(format: "conv%02d", list.count))
            channels = f
            skips.append(f)
        }
        for (level, f) in decoder.enumerated() {
            add(.convolution, channels, f, String(format: "conv%02d", list.count))
            channels = f
            if level < encoder.count { channels += skips.removeLast() }
        }
        add(.convolution, channels, dimension, String(format: "conv%02d", list.count))
        if !affine.isEmpty {
            channels = 2
            for (i, f) in affine.enumerated() {
                add(.stridedConvolution, channels, f, String(format: "affine.conv%02d", i))
                channels = f
            }
            let moments = dimension == 3 ? 10 : 6
            add(.linear, channels * moments, dimension * (dimension + 1), "affine.linear")
        }
        return list
    }

    /// The number of U-Net layers (they come first in `layers`).
    var uNetLayerCount: Int { encoder.count + decoder.count + 1 }

    func check() throws {
        guard dimension == 2 || dimension == 3 else { throw LearnError.invalidArchitecture("dimension must be 2 or 3, not \(dimension)") }
        guard !encoder.isEmpty, decoder.count >= encoder.count, (encoder + decoder).allSatisfy({ $0 > 0 }) else {
            throw LearnError.invalidArchitecture("needs encoder features and at least as many decoder features, all positive")
        }
        guard integrationSteps >= 0, integrationDownsize >= 1, cascades >= 1 else {
            throw LearnError.invalidArchitecture("integration steps ≥ 0, downsize ≥ 1 and cascades ≥ 1")
        }
        guard affine.allSatisfy({ $0 > 0 }) else { throw LearnError.invalidArchitecture("affine features must be positive") }
    }
}

/// A network's architecture and weights: layer i of `NetworkArchitecture.layers` has
/// `weights[2i]` (its weight) and `weights[2i + 1]` (its bias).
///
/// ```swift
/// var net = try VoxelMorphNetwork(architecture: .vm1(dimension: 2), seed: 1)
/// let tape = Tape()
/// let out = net.forward(on: tape, fixed: tape.constant(f), moving: tape.constant(m))
/// ```
public struct VoxelMorphNetwork: Sendable {
    public var architecture: NetworkArchitecture
    public var weights: [Tensor]

    /// Kaiming-normal initialisation for LeakyReLU(0.2); the U-Net's last layer starts at
    /// N(0, 1e-5), as VoxelMorph does, so the first fields are nearly zero, and the affine
    /// network's last layer at zero (the identity).
    public init(architecture: NetworkArchitecture, seed: UInt64) throws {
        try architecture.check()
        self.architecture = architecture
        var rng = SplitMix64(seed: seed)
        let layers = architecture.layers, last = architecture.uNetLayerCount - 1
        weights = []
        for (i, layer) in layers.enumerated() {
            let shape = layer.weightShape(dimension: architecture.dimension)
            let std = i == last ? 1e-5 : (2 / (1 + 0.04) / Float(shape.itemCount)).squareRoot()
            weights.append(layer.kind == .linear ? Tensor(shape: shape)
                : Tensor(shape: shape, values: (0..<shape.count).map { _ in std * Float(rng.nextGaussian()) }))
            weights.append(Tensor(shape: TensorShape(channels: layer.output, height: 1, width: 1)))
        }
    }

    public init(architecture: NetworkArchitecture, weights: [Tensor]) throws {
        try architecture.check()
        let expected = architecture.layers.flatMap { [$0.weightShape(dimension: architecture.dimension).count, $0.output] }
        guard weights.map(\.shape.count) == expected else {
            throw LearnError.invalidArchitecture("the weights do not fit the architecture (\(weights.count) tensors)")
        }
        (self.architecture, self.weights) = (architecture, weights)
    }

    /// What one pass gives: the displacement (voxels, N×dim×grid), the velocity when
    /// diffeomorphic, and the moving image warped by the displacement; with an affine network,
    /// its parameters and the moving image warped by the affine map alone.
    public struct Output {
        public var displacement: Variable
        public var velocity: Variable?
        public var warped: Variable
        public var affine: (parameters: Variable, warped: Variable)?
    }

    /// Records the network on `tape`. `fixed` and `moving` are N×1×grid with extents that are
    /// multiples of `architecture.sizeMultiple`. `parameters` are the weights on the tape
    /// (from `parameters(on:)`); constants are used when nil (inference).
    public func forward(on tape: Tape, fixed: Variable, moving: Variable, parameters: [Variable]? = nil) -> Output {
        let p = parameters ?? weights.map { tape.constant($0) }
        var total: Variable?
        var velocity: Variable?
        var warped = moving
        var affine: (parameters: Variable, warped: Variable)?
        if !architecture.affine.isEmpty {
            let theta = affineParameters(on: tape, fixed: fixed, moving: moving, parameters: p)
            total = tape.affineDisplacement(theta, size: tape.shape(fixed).spatial)
            warped = tape.warp(moving, by: total!)
            affine = (theta, warped)
        }
        for cascade in 0..<architecture.cascades {
            let step = flow(on: tape, fixed: fixed, moving: warped, parameters: p)
            velocity = step.velocity
            // Cascades (and the affine map before them) compose: u(x) = s(x) + u_prev(x + s(x)),
            // with the affine map evaluated exactly at x + s(x).
            if cascade == 0, let stage = affine {
                total = tape.add(step.displacement, tape.affineDisplacement(stage.parameters, size: tape.shape(fixed).spatial, at: step.displacement))
            } else {
                total = total.map { tape.add(step.displacement, tape.warp($0, by: step.displacement)) } ?? step.displacement
            }
            warped = tape.warp(moving, by: total!)
        }
        return Output(displacement: total!, velocity: architecture.cascades == 1 ? velocity : nil, warped: warped, affine: affine)
    }

    /// The affine network: stride-2 convolutions of the moving and fixed images, the moments of
    /// each feature over the grid (`Tape.globalMoments`), a linear layer to d(d + 1) values.
    func affineParameters(on tape: Tape, fixed: Variable, moving: Variable, parameters p: [Variable]) -> Variable {
        var x = tape.concatenate([moving, fixed])
        var layer = architecture.uNetLayerCount
        for _ in architecture.affine {
            x = tape.leakyReLU(tape.convolution(x, weight: p[2 * layer], bias: p[2 * layer + 1], stride: 2))
            layer += 1
        }
        return tape.linear(tape.globalMoments(x), weight: p[2 * layer], bias: p[2 * layer + 1])
    }

    /// The number of trainable values.
    public var weightCount: Int { weights.reduce(0) { $0 + $1.shape.count } }

    /// The weights as parameters of `tape`, for training.
    public func parameters(on tape: Tape) -> [Variable] { weights.map { tape.parameter($0) } }

    /// One U-Net pass: the displacement (and velocity) from a pair.
    func flow(on tape: Tape, fixed: Variable, moving: Variable, parameters p: [Variable]) -> (displacement: Variable, velocity: Variable?) {
        var layer = 0
        // A decoder level's output is upsampled and concatenated with this skip by the next convolution.
        var skip: Variable?
        // Each intermediate is released once read (a no-op when training): inference keeps only the skips.
        func conv(_ x: Variable, activate: Bool = true) -> Variable {
            let (weight, bias, slope) = (p[2 * layer], p[2 * layer + 1], activate ? Float(0.2) : nil)
            layer += 1
            defer {
                tape.release(x)
                skip.map(tape.release)
                skip = nil
            }
            guard let skip else { return tape.convolution(x, weight: weight, bias: bias, leakyReLUSlope: slope) }
            return tape.convolution(upsampling: x, concatenatedWith: skip, weight: weight, bias: bias, leakyReLUSlope: slope)
        }
        let volume = architecture.dimension == 3
        var x = tape.concatenate([moving, fixed])
        var skips = [Variable]()
        for _ in architecture.encoder {
            x = conv(x)
            skips.append(x)
            x = tape.maxPool(x, alongDepth: volume)
        }
        for level in architecture.decoder.indices {
            x = conv(x)
            if level < architecture.encoder.count { skip = skips.removeLast() }
        }
        let field = conv(x, activate: false)
        guard architecture.diffeomorphic else { return (field, nil) }
        return (displacement(ofVelocity: field, on: tape), field)
    }

    /// exp(v) as a displacement, integrated on the grid `integrationDownsize` times coarser;
    /// the inverse of the diffeomorphic network's map is the displacement of −v.
    public func displacement(ofVelocity velocity: Variable, on tape: Tape) -> Variable {
        let full = tape.shape(velocity).spatial, factor = architecture.integrationDownsize
        guard factor > 1 else { return tape.integrate(velocity, steps: architecture.integrationSteps) }
        let coarse = SIMD3(full.x / factor, full.y / factor, architecture.dimension == 2 ? 1 : full.z / factor)
        let v = tape.scaled(tape.resized(velocity, to: coarse), by: 1 / Float(factor))
        let u = tape.integrate(v, steps: architecture.integrationSteps)
        return tape.resized(tape.scaled(u, by: Float(factor)), to: full)
    }
}

/// Errors of the learning module, with the file or setting at fault.
public enum LearnError: Error, CustomStringConvertible {
    case invalidArchitecture(String)
    case invalidModelFile(path: String, reason: String)
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .invalidArchitecture(let why): return "invalid network architecture: \(why)"
        case .invalidModelFile(let path, let why): return "\(path): not a SwiftReg model: \(why)"
        case .invalidConfiguration(let why): return "invalid training configuration: \(why)"
        }
    }
}
