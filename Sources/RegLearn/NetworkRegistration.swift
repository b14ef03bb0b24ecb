import RegCore
import RegKernels

/// A network's registration of an image pair in physical space: the moving image is first carried
/// onto the fixed grid (physical identity), both are scaled to [0, 1] and zero-padded to a multiple
/// of the network's size multiple; the predicted voxel field is cropped and turned into an LPS mm
/// displacement on the fixed grid, so it composes and is written like any other warp.
///
/// ```swift
/// let result = try NetworkRegistration(network: net).register(fixed: fixed, moving: moving)
/// try TransformFile.writeDisplacementField(result.forward, to: "out_warp.nii.gz")
/// ```
public struct NetworkRegistration: Sendable {
    public var network: VoxelMorphNetwork

    public init(network: VoxelMorphNetwork) { self.network = network }

    /// The forward field (fixed-space points to moving space) and, for a diffeomorphic network,
    /// its inverse (the integral of −v).
    public struct Result: Sendable {
        public var forward: VectorField
        public var inverse: VectorField?
    }

    public func register(fixed: Image<Float>, moving: Image<Float>) throws -> Result {
        let g = fixed.geometry, planar = network.architecture.dimension == 2
        // A 2-D model also takes a volume of one slice (a plane stored as 3-D, in any orientation).
        guard planar ? g.size.z == 1 : g.dimension == 3 else {
            throw LearnError.invalidConfiguration("the model is \(network.architecture.dimension)-D; the fixed image is \(g.dimension)-D, \(g.size.x)×\(g.size.y)×\(g.size.z)")
        }
        let onGrid = moving.geometry.sameGrid(as: g) ? moving : try Resampler.resample(moving, onto: g, interpolation: .linear)
        let padded = network.architecture.paddedSize(g.size)
        let f = NetworkImage(voxels: Array(fixed.voxels), size: g.size).padded(to: padded)
        let mv = NetworkImage(voxels: Array(onGrid.voxels), size: g.size).padded(to: padded)
        let tape = Tape()
        let out = network.forward(on: tape, fixed: tape.constant(f.tensor), moving: tape.constant(mv.tensor))
        var result = Result(forward: physical(tape.tensor(out.displacement), on: g))
        if let v = out.velocity {
            var back = network.displacement(ofVelocity: tape.scaled(v, by: -1), on: tape)
            // After an affine network the map is A ∘ exp(v); its inverse exp(−v) ∘ A⁻¹.
            if let stage = out.affine {
                guard let theta = Self.inverseAffine(tape.tensor(stage.parameters)) else { return result }   // singular: none
                let inverse = tape.affineDisplacement(tape.constant(theta), size: padded)
                back = tape.add(inverse, tape.warp(back, by: inverse))
            }
            result.inverse = physical(tape.tensor(back), on: g)
        }
        return result
    }

    /// The parameters of the inverse affine map: x̃ ↦ (I + Δ) x̃ + t inverts to
    /// x̃ ↦ (I + Δ)⁻¹ x̃ − (I + Δ)⁻¹ t, in the same normalised coordinates.
    static func inverseAffine(_ theta: Tensor) -> Tensor? {
        let d = theta.values.count == 6 ? 2 : 3
        var m = Matrix3.identity
        for i in 0..<d { for j in 0..<d { m[i, j] += Double(theta.values[i * d + j]) } }
        guard let inv = m.inverse else { return nil }
        let t = SIMD3<Double>((0..<3).map { $0 < d ? Double(theta.values[d * d + $0]) : 0 })
        let back = -(inv * t)
        var values = [Float]()
        for i in 0..<d { for j in 0..<d { values.append(Float(inv[i, j] - (i == j ? 1 : 0))) } }
        for i in 0..<d { values.append(Float(back[i])) }
        return Tensor(shape: theta.shape, values: values)
    }

    /// The cropped voxel displacement as LPS millimetres: u = D · (spacing ⊙ u_voxels), with no
    /// component along the third axis for a 2-D model.
    func physical(_ displacement: Tensor, on g: Geometry) -> VectorField {
        var field = VectorField(geometry: g)
        let s = displacement.shape, n = s.spatialCount
        let planar = network.architecture.dimension == 2
        for z in 0..<g.size.z {
            for y in 0..<g.size.y {
                for x in 0..<g.size.x {
                    let p = (z * s.height + y) * s.width + x
                    let v = SIMD3(Double(displacement.values[p]), Double(displacement.values[n + p]),
                                  planar ? 0 : Double(displacement.values[2 * n + p]))
                    let mm = g.direction * (g.spacing * v)
                    field[x, y, z] = SIMD3(Float(mm.x), Float(mm.y), Float(mm.z))
                }
            }
        }
        return field
    }
}

extension NetworkImage {
    /// Zero-padded (labels too) at the high end of each axis to `size`.
    func padded(to size: SIMD3<Int>) -> NetworkImage {
        let old = self.size
        guard old != size else { return self }
        var t = Tensor(shape: tensor.shape.with(spatial: size))
        var l = labels.map { _ in [Int32](repeating: 0, count: size.x * size.y * size.z) }
        for z in 0..<old.z {
            for y in 0..<old.y {
                let src = (z * old.y + y) * old.x, dst = (z * size.y + y) * size.x
                t.values.replaceSubrange(dst..<(dst + old.x), with: tensor.values[src..<(src + old.x)])
                if let labels { l!.replaceSubrange(dst..<(dst + old.x), with: labels[src..<(src + old.x)]) }
            }
        }
        return NetworkImage(tensor: t, labels: l)
    }
}
