import Foundation

/// A trained network in the safetensors layout, so PyTorch (`safetensors.torch.load_file`) reads
/// it too: an 8-byte little-endian header length, a JSON header naming each tensor's dtype
/// (`F32`), shape and byte range, then the raw little-endian floats.
///
/// Tensors: `conv00.weight` (out, in, 3, 3) in a plane or (out, in, 3, 3, 3) in a volume, and
/// `conv00.bias` (out), for each U-Net convolution in order; with an affine network also
/// `affine.conv00.weight` … (its stride-2 convolutions) and `affine.linear.weight` (out, in) with
/// their biases; with the optimiser state, `adam.m.NAME`
/// and `adam.v.NAME` too. `__metadata__` holds `format` = `swiftreg-model-1`, `architecture` (the
/// `NetworkArchitecture` as JSON), `adam_step`, `adam_learning_rate`, `random_state` and `training` (the configuration that produced it).
///
/// ```swift
/// let bytes = ModelCheckpoint(network: net, optimizer: adam, training: configJSON).encoded()
/// let back = try ModelCheckpoint(decoding: bytes, path: "model.safetensors")
/// ```
public struct ModelCheckpoint: Sendable {
    public var network: VoxelMorphNetwork
    public var optimizer: Adam?
    /// The training configuration, as text (JSON), recorded for reproducibility.
    public var training: String
    /// The training's random generator state, so a resumed run draws what the uninterrupted one would.
    public var randomState: UInt64?

    public init(network: VoxelMorphNetwork, optimizer: Adam? = nil, training: String = "", randomState: UInt64? = nil) {
        (self.network, self.optimizer, self.training, self.randomState) = (network, optimizer, training, randomState)
    }

    static let format = "swiftreg-model-1"

    func names() -> [String] { ModelCheckpoint.names(network.architecture) }

    /// `NAME.weight`, `NAME.bias` for each layer, in weight order.
    static func names(_ architecture: NetworkArchitecture) -> [String] {
        architecture.layers.flatMap { [$0.name + ".weight", $0.name + ".bias"] }
    }

    /// The file's bytes.
    public func encoded() -> [UInt8] {
        var entries: [(String, [Int], [Float])] = []
        let layers = network.architecture.layers
        for (k, (name, t)) in zip(names(), network.weights).enumerated() {
            let shape = k % 2 == 1 ? [t.shape.channels] : layers[k / 2].fileShape(dimension: network.architecture.dimension)
            entries.append((name, shape, t.values))
        }
        if let adam = optimizer {
            for (k, name) in names().enumerated() {
                entries.append(("adam.m." + name, [adam.firstMoments[k].count], adam.firstMoments[k]))
                entries.append(("adam.v." + name, [adam.secondMoments[k].count], adam.secondMoments[k]))
            }
        }
        var header: [String: Any] = [:]
        var offset = 0
        for (name, shape, values) in entries {
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [offset, offset + 4 * values.count]]
            offset += 4 * values.count
        }
        // Keys sorted, so the same model always gives the same bytes.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let architecture = String(decoding: try! encoder.encode(network.architecture), as: UTF8.self)
        header["__metadata__"] = ["format": ModelCheckpoint.format, "architecture": architecture,
                                  "adam_step": String(optimizer?.step ?? 0), "adam_learning_rate": String(optimizer?.learningRate ?? 0),
                                  "training": training, "random_state": randomState.map { String($0) } ?? ""]
        var json = Array(try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while json.count % 8 != 0 { json.append(0x20) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes += $0 }
        bytes += json
        for (_, _, values) in entries {
            values.withUnsafeBufferPointer { p in
                for v in p { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
            }
        }
        return bytes
    }

    /// Reads a checkpoint; `path` names the file in errors.
    public init(decoding bytes: [UInt8], path: String) throws {
        func fail(_ why: String) -> LearnError { .invalidModelFile(path: path, reason: why) }
        guard bytes.count >= 8 else { throw fail("shorter than the 8-byte header length") }
        let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard length > 0, 8 + length <= bytes.count else { throw fail("header length \(length) exceeds the file (\(bytes.count) bytes)") }
        guard let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        guard let meta = header["__metadata__"] as? [String: String], meta["format"] == ModelCheckpoint.format else {
            throw fail("__metadata__.format is not \(ModelCheckpoint.format)")
        }
        guard let archText = meta["architecture"],
              let architecture = try? JSONDecoder().decode(NetworkArchitecture.self, from: Data(archText.utf8)) else {
            throw fail("__metadata__.architecture is missing or not a network architecture")
        }
        let data = 8 + length
        func tensor(_ name: String) throws -> [Float]? {
            guard let entry = header[name] as? [String: Any] else { return nil }
            guard entry["dtype"] as? String == "F32", let range = entry["data_offsets"] as? [Int], range.count == 2,
                  range[0] >= 0, range[0] <= range[1], (range[1] - range[0]) % 4 == 0, data + range[1] <= bytes.count else {
                throw fail("tensor \(name): dtype must be F32 and data_offsets inside the file")
            }
            return stride(from: data + range[0], to: data + range[1], by: 4).map { i in
                Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
            }
        }
        var weights = [Tensor]()
        for layer in architecture.layers {
            let ws = layer.weightShape(dimension: architecture.dimension)
            let bs = TensorShape(channels: layer.output, height: 1, width: 1)
            for (name, shape) in [(layer.name + ".weight", ws), (layer.name + ".bias", bs)] {
                guard let values = try tensor(name) else { throw fail("tensor \(name) is missing") }
                guard values.count == shape.count else { throw fail("tensor \(name) has \(values.count) values, the architecture needs \(shape.count)") }
                weights.append(Tensor(shape: shape, values: values))
            }
        }
        network = try VoxelMorphNetwork(architecture: architecture, weights: weights)
        training = meta["training"] ?? ""
        randomState = UInt64(meta["random_state"] ?? "")
        optimizer = nil
        let step = Int(meta["adam_step"] ?? "0") ?? 0
        if step > 0 {
            var adam = Adam(learningRate: Float(meta["adam_learning_rate"] ?? "") ?? 1e-4, shapes: weights.map(\.shape))
            adam.step = step
            for (i, name) in ModelCheckpoint.names(architecture).enumerated() {
                guard let m = try tensor("adam.m." + name), let v = try tensor("adam.v." + name),
                      m.count == weights[i].shape.count, v.count == m.count else {
                    throw fail("optimiser state adam.m/v.\(name) is missing or the wrong size")
                }
                (adam.firstMoments[i], adam.secondMoments[i]) = (m, v)
            }
            optimizer = adam
        }
    }
}
