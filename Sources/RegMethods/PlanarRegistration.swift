import RegCore
import RegTransforms

/// One-slice volumes registered as 2-D images in the fixed image's plane (`PlaneFrame`): the
/// inputs relabelled into the frame, and the frame's results carried back to physical 3-D.
///
/// A 160×192×1 volume registered as a volume is degenerate (nothing to shrink or smooth along
/// its one voxel, no gradient out of the plane); registered in its plane it is a 2-D problem,
/// whatever physical plane it lies in. The moving image's plane may lie along the normal from
/// the fixed image's: the physical affine carries that offset.
struct PlanarRegistration {
    let frame: PlaneFrame
    /// How far (mm, along the normal) the moving image's plane lies from the fixed image's.
    let movingOffset: Double
    let fixed: Image<Float>
    let moving: Image<Float>
    let masks: RegistrationMasks
    let landmarks: LandmarkPairs?

    init(fixed: Image<Float>, moving: Image<Float>, masks: RegistrationMasks, landmarks: LandmarkPairs?) throws {
        guard let frame = PlaneFrame(of: fixed.geometry) else {
            let s = moving.geometry.size
            throw RegError.invalidArgument(name: "moving image", reason: "is a single plane (\(s.x)×\(s.y)×\(s.z)) while the fixed image "
                                           + "is a volume; slice-to-volume registration is not supported")
        }
        self.frame = frame
        movingOffset = frame.offset(of: moving.geometry)
        self.fixed = try Self.relabel(fixed, frame, name: "fixed image")
        self.moving = try Self.relabel(moving, frame, name: "moving image")
        self.masks = RegistrationMasks(fixed: try masks.fixed.map { try Self.relabel($0, frame, name: "fixed mask") },
                                       moving: try masks.moving.map { try Self.relabel($0, frame, name: "moving mask") })
        self.landmarks = landmarks.map { [movingOffset] pairs in
            LandmarkPairs(fixed: Landmarks(points: pairs.fixed.points.map { frame.framePoint($0) }, labels: pairs.fixed.labels),
                          moving: Landmarks(points: pairs.moving.points.map { frame.framePoint($0, planeOffset: movingOffset) },
                                            labels: pairs.moving.labels))
        }
    }

    /// The same voxels with their geometry in the frame.
    static func relabel<T>(_ image: Image<T>, _ frame: PlaneFrame, name: String) throws -> Image<T> {
        try Image(geometry: frame.planarGeometry(of: image.geometry, name: name), components: image.components, voxels: image.voxels)
    }

    /// The linear result as the physical map from the fixed plane to the moving plane. A 2-D
    /// similarity is not a 3-D one (the normal keeps its length), so it becomes an affine; with
    /// no linear stage, a translation carries the planes' offset.
    func physical(_ linear: LinearRegistrationResult?) -> LinearRegistrationResult? {
        guard let linear else {
            guard movingOffset != 0 else { return nil }
            var shift = LinearTransform(.translation, dimension: 3)
            shift.parameters = [movingOffset * frame.normal.x, movingOffset * frame.normal.y, movingOffset * frame.normal.z]
            return LinearRegistrationResult(transform: shift, levels: [], seconds: 0)
        }
        let model: LinearModel = linear.transform.model == .similarity ? .affine : linear.transform.model
        let transform = LinearTransform(model, dimension: 3, center: frame.physicalPoint(linear.transform.center),
                                        approximating: frame.physicalMap(linear.map, movingPlaneOffset: movingOffset))
        return LinearRegistrationResult(transform: transform, levels: linear.levels, seconds: linear.seconds)
    }

    /// The frame's displacement fields on the fixed image's own grid, their vectors physical.
    func physical(_ deformable: DeformableResult, on grid: Geometry) -> DeformableResult {
        var result = deformable
        result.forward = physical(deformable.forward, on: grid)
        result.inverse = physical(deformable.inverse, on: grid)
        return result
    }

    func physical(_ field: DisplacementField, on grid: Geometry) -> DisplacementField {
        let r = frame.rotation
        let source = field.field.vectors
        return DisplacementField(VectorField(geometry: grid) { out in
            for i in 0..<grid.voxelCount {
                let v = r * SIMD3<Double>(Double(source[3 * i]), Double(source[3 * i + 1]), Double(source[3 * i + 2]))
                out[3 * i] = Float(v.x)
                out[3 * i + 1] = Float(v.y)
                out[3 * i + 2] = Float(v.z)
            }
        })
    }
}
