import Foundation

/// The plane of a planar image — a 2-D image, or a volume with one voxel along exactly one axis —
/// as a 2-D frame: frame point `q` lies at physical `origin + rotation · q`, the plane at `q.z = 0`.
///
/// A one-slice volume (a 160×192×1 NIfTI with `dim[0] = 3`, or a sagittal 1×192×144 slice) may
/// lie in any physical plane, while 2-D registration moves points within the physical xy-plane
/// only. Registration therefore relabels such images as 2-D images of this frame (the voxels stay
/// where they are in memory), registers them there, and carries the transforms back with
/// `physicalMap(_:movingPlaneOffset:)` and `rotation`.
///
/// ```swift
/// let g = try Geometry(size: [160, 1, 144], direction: Matrix3(columns: [1, 0, 0], [0, 0, -1], [0, -1, 0]))
/// let frame = PlaneFrame(of: g)!                       // normal: the slice axis
/// let planar = try frame.planarGeometry(of: g, name: "fixed image")   // 160×144, dimension 2
/// ```
public struct PlaneFrame: Sendable, Equatable {
    /// The physical point of frame point zero (the origin of the geometry the frame was made from).
    public let origin: SIMD3<Double>
    /// Columns: the first in-plane index axis, the second in-plane direction, the plane's normal.
    public let rotation: Matrix3

    /// The unit normal of the plane.
    public var normal: SIMD3<Double> { rotation.column(2) }

    /// How far (sine of the angle) another image's plane may tilt from this one and still be
    /// registered in it: 0.01, about 0.6°, which moves a point 100 mm away by 1 mm.
    public static let largestTilt = 0.01

    /// The frame of a planar geometry; nil for a volume.
    public init?(of geometry: Geometry) {
        guard let axes = Self.planarAxes(of: geometry) else { return nil }
        let cu = geometry.direction.column(axes.u), cv = geometry.direction.column(axes.v)
        let e1 = cu / cu.length
        let c = cross(cu, cv)
        let n = c / c.length
        rotation = Matrix3(columns: e1, cross(n, e1), n)
        origin = geometry.origin
    }

    /// The two in-plane index axes (in storage order) and the one-voxel axis of a planar
    /// geometry; nil for a volume (no axis, or more than one axis, of one voxel).
    public static func planarAxes(of geometry: Geometry) -> (u: Int, v: Int, normal: Int)? {
        if geometry.dimension == 2 { return (0, 1, 2) }
        let single = (0..<3).filter { geometry.size[$0] == 1 }
        guard single.count == 1 else { return nil }
        let rest = (0..<3).filter { $0 != single[0] }
        return (rest[0], rest[1], single[0])
    }

    /// True for a 3-D geometry with one voxel along exactly one axis.
    public static func isOneSliceVolume(_ geometry: Geometry) -> Bool {
        geometry.dimension == 3 && planarAxes(of: geometry) != nil
    }

    /// A planar geometry as a 2-D geometry of this frame: each in-plane voxel step projected onto
    /// the frame's plane (a plane lying along the normal, or tilted by less than `largestTilt`,
    /// is registered as if it were the frame's). The voxel order is unchanged: an image keeps its
    /// voxels and takes this geometry.
    /// - Throws: `RegError.invalidArgument` naming `name` for an image that is not a single
    ///   plane, or for a plane tilted more than `largestTilt` from the frame's.
    public func planarGeometry(of geometry: Geometry, name: String) throws -> Geometry {
        let s = geometry.size
        guard let axes = Self.planarAxes(of: geometry) else {
            throw RegError.invalidArgument(name: name, reason: "is not a single plane (\(s.x)×\(s.y)×\(s.z)) while the other image is one; "
                                           + "slice-to-volume registration is not supported")
        }
        let back = rotation.transposed
        // The physical step of one voxel along each in-plane axis, in frame coordinates.
        var du = back * (geometry.direction.column(axes.u) * geometry.spacing[axes.u])
        var dv = back * (geometry.direction.column(axes.v) * geometry.spacing[axes.v])
        let tilt = max(abs(du.z) / du.length, abs(dv.z) / dv.length)
        guard tilt <= Self.largestTilt else {
            let degrees = asin(min(1, tilt)) * 180 / Double.pi
            throw RegError.invalidArgument(name: name, reason: "its plane is tilted \(String(format: "%.1f", degrees))° "
                                           + "from the other image's plane; one-slice images are registered within one plane")
        }
        du.z = 0
        dv.z = 0
        var o = back * (geometry.origin - origin)
        o.z = 0
        let su = du.length, sv = dv.length
        return try Geometry(size: SIMD3(s[axes.u], s[axes.v], 1), spacing: SIMD3(su, sv, geometry.spacing[axes.normal]),
                            origin: o, direction: Matrix3(columns: du / su, dv / sv, SIMD3(0, 0, 1)), dimension: 2)
    }

    /// The map from frame points to physical points through `geometry`'s own grid: a frame point
    /// at in-plane index (a, b) of `planarGeometry(of: geometry)` goes to the physical point of
    /// that index in `geometry` (on its own, possibly shifted or slightly tilted, plane), and
    /// frame z to distance along the normal. For the frame's own geometry it is
    /// `origin + rotation · q`.
    public func embedding(of geometry: Geometry, name: String) throws -> AffineMap {
        let planar = try planarGeometry(of: geometry, name: name)
        let axes = Self.planarAxes(of: geometry)!
        func place(_ q: SIMD3<Double>) -> SIMD3<Double> {
            let index2 = planar.continuousIndex(ofPhysicalPoint: SIMD3(q.x, q.y, 0))
            var index = SIMD3<Double>(0, 0, 0)
            index[axes.u] = index2.x
            index[axes.v] = index2.y
            return geometry.physicalPoint(ofIndex: index) + q.z * normal
        }
        let zero = place(.zero)
        let m = Matrix3(columns: place(SIMD3(1, 0, 0)) - zero, place(SIMD3(0, 1, 0)) - zero, place(SIMD3(0, 0, 1)) - zero)
        return AffineMap(matrix: m, translation: zero)
    }

    /// The frame points of physical points near `geometry`'s plane (their distance from the
    /// plane dropped), through one inverse of its embedding.
    public func framePoints(_ points: [SIMD3<Double>], of geometry: Geometry, name: String) throws -> [SIMD3<Double>] {
        guard let back = try embedding(of: geometry, name: name).inverse else {
            throw RegError.invalidArgument(name: name, reason: "its grid cannot be inverted")
        }
        return points.map { p in
            var q = back.apply(p)
            q.z = 0
            return q
        }
    }

    /// A map between frame points (fixed plane to moving plane) as the physical map from the
    /// fixed image's voxels to the moving image's: `embedding(moving) ∘ map ∘ embedding(fixed)⁻¹`.
    /// Points land on the moving image's own plane, wherever along the normal and however
    /// slightly tilted it lies.
    public func physicalMap(_ map: AffineMap, fixed: Geometry, moving: Geometry) throws -> AffineMap {
        let into = try embedding(of: moving, name: "moving image")
        guard let outOf = try embedding(of: fixed, name: "fixed image").inverse else {
            throw RegError.invalidArgument(name: "fixed image", reason: "its grid cannot be inverted")
        }
        let h = { (p: SIMD3<Double>) in into.apply(map.apply(outOf.apply(p))) }
        let zero = h(.zero)
        return AffineMap(matrix: Matrix3(columns: h(SIMD3(1, 0, 0)) - zero, h(SIMD3(0, 1, 0)) - zero, h(SIMD3(0, 0, 1)) - zero),
                         translation: zero)
    }

    /// The physical point of a frame point on the frame's own plane: `origin + rotation · q`.
    public func physicalPoint(_ q: SIMD3<Double>) -> SIMD3<Double> { origin + rotation * q }

}
