import RegCore
import RegTransforms

/// One-slice volumes registered as 2-D images in the fixed image's plane (`PlaneFrame`): the
/// inputs relabelled into the frame, and the frame's results carried back to physical 3-D.
///
/// A 160×192×1 volume registered as a volume is degenerate (nothing to shrink or smooth along
/// its one voxel, no gradient out of the plane); registered in its plane it is a 2-D problem,
/// whatever physical plane it lies in. The moving image's plane may lie along the normal from
/// the fixed image's, or be tilted by less than `PlaneFrame.largestTilt`: the physical affine
/// lands on it.
struct PlanarRegistration {
    let frame: PlaneFrame
    /// The original grids: the frame's results are carried back through them.
    let fixedGrid: Geometry
    let movingGrid: Geometry
    let fixed: Image<Float>
    let moving: Image<Float>
    let masks: RegistrationMasks
    let landmarks: LandmarkPairs?

    init(fixed: Image<Float>, moving: Image<Float>, masks: RegistrationMasks, landmarks: LandmarkPairs?) throws {
        guard let frame = PlaneFrame(of: fixed.geometry) else {
            let s = fixed.geometry.size
            throw RegError.invalidArgument(name: "fixed image", reason: "is not a single plane (\(s.x)×\(s.y)×\(s.z)) while the moving image "
                                           + "is one; slice-to-volume registration is not supported")
        }
        self.frame = frame
        (fixedGrid, movingGrid) = (fixed.geometry, moving.geometry)
        self.fixed = try Self.relabel(fixed, frame, name: "fixed image")
        self.moving = try Self.relabel(moving, frame, name: "moving image")
        var planar = RegistrationMasks(fixed: try masks.fixed.map { try Self.relabel($0, frame, name: "fixed mask") },
                                       moving: try masks.moving.map { try Self.relabel($0, frame, name: "moving mask") })
        for (path, mask) in masks.files { planar.files[path] = try Self.relabel(mask, frame, name: path) }
        self.masks = planar
        self.landmarks = try landmarks.map { pairs in
            LandmarkPairs(fixed: Landmarks(points: try frame.framePoints(pairs.fixed.points, of: fixed.geometry, name: "fixed image"),
                                           labels: pairs.fixed.labels),
                          moving: Landmarks(points: try frame.framePoints(pairs.moving.points, of: moving.geometry, name: "moving image"),
                                            labels: pairs.moving.labels))
        }
    }

    /// The same voxels with their geometry in the frame.
    static func relabel<T>(_ image: Image<T>, _ frame: PlaneFrame, name: String) throws -> Image<T> {
        try Image(geometry: frame.planarGeometry(of: image.geometry, name: name), components: image.components, voxels: image.voxels)
    }

    /// The linear result as the physical map from the fixed image's voxels to the moving image's
    /// (onto its own plane, however it lies), in the stage's model where that holds it exactly
    /// (rigid and translation in parallel planes) and as an affine otherwise (a 2-D similarity
    /// keeps the normal's length; a tilted plane projects); with no linear stage, an affine
    /// carries the planes' offset when they differ.
    func physical(_ linear: LinearRegistrationResult?) throws -> LinearRegistrationResult? {
        let map = try frame.physicalMap(linear?.map ?? .identity, fixed: fixedGrid, moving: movingGrid)
        guard let linear else {
            let moves = map.matrix.maxAbsDifference(.identity) > 1e-9 || (map.translation * map.translation).sum() > 1e-12
            return moves ? LinearRegistrationResult(transform: LinearTransform(.affine, dimension: 3, center: .zero, approximating: map),
                                                    levels: [], seconds: 0) : nil
        }
        let center = frame.physicalPoint(linear.transform.center)
        var transform = LinearTransform(linear.transform.model, dimension: 3, center: center, approximating: map)
        let exact = transform.affineMap
        if exact.matrix.maxAbsDifference(map.matrix) > 1e-9 || ((exact.translation - map.translation) * (exact.translation - map.translation)).sum() > 1e-12 {
            transform = LinearTransform(.affine, dimension: 3, center: center, approximating: map)
        }
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
