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
        let e1 = cu / Self.length(cu)
        let c = cross(cu, cv)
        let n = c / Self.length(c)
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

    /// How far (mm, along the normal) the plane of `geometry` lies from this frame's plane.
    public func offset(of geometry: Geometry) -> Double { Self.dot(normal, geometry.origin - origin) }

    /// A planar geometry as a 2-D geometry of this frame, its plane moved along the normal onto
    /// the frame's. The voxel order is unchanged: an image keeps its voxels and takes this geometry.
    /// - Throws: `RegError.invalidArgument` naming `name` for a volume, or for a plane tilted
    ///   more than `largestTilt` from the frame's.
    public func planarGeometry(of geometry: Geometry, name: String) throws -> Geometry {
        let s = geometry.size
        guard let axes = Self.planarAxes(of: geometry) else {
            throw RegError.invalidArgument(name: name, reason: "is a volume (\(s.x)×\(s.y)×\(s.z)) while the other image is a single plane; "
                                           + "slice-to-volume registration is not supported")
        }
        let back = rotation.transposed
        var cu = back * geometry.direction.column(axes.u), cv = back * geometry.direction.column(axes.v)
        cu /= Self.length(cu)
        cv /= Self.length(cv)
        let tilt = max(abs(cu.z), abs(cv.z))
        guard tilt <= Self.largestTilt else {
            let degrees = asin(min(1, tilt)) * 180 / Double.pi
            throw RegError.invalidArgument(name: name, reason: "its plane is tilted \(String(format: "%.1f", degrees))° "
                                           + "from the other image's plane; one-slice images are registered within one plane")
        }
        cu.z = 0
        cv.z = 0
        var o = back * (geometry.origin - origin)
        o.z = 0
        return try Geometry(size: SIMD3(s[axes.u], s[axes.v], 1),
                            spacing: SIMD3(geometry.spacing[axes.u], geometry.spacing[axes.v], geometry.spacing[axes.normal]),
                            origin: o, direction: Matrix3(columns: cu / Self.length(cu), cv / Self.length(cv), SIMD3(0, 0, 1)),
                            dimension: 2)
    }

    /// The frame point of a physical point of the plane `planeOffset` mm along the normal
    /// (its distance from that plane dropped).
    public func framePoint(_ p: SIMD3<Double>, planeOffset: Double = 0) -> SIMD3<Double> {
        var q = rotation.transposed * (p - origin - planeOffset * normal)
        q.z = 0
        return q
    }

    /// The physical point of a frame point, on the plane `planeOffset` mm along the normal.
    public func physicalPoint(_ q: SIMD3<Double>, planeOffset: Double = 0) -> SIMD3<Double> {
        origin + planeOffset * normal + rotation * q
    }

    /// A map between frame points (fixed plane to moving plane) as the physical map from this
    /// frame's plane to the moving image's plane, `movingPlaneOffset` mm along the normal.
    public func physicalMap(_ map: AffineMap, movingPlaneOffset: Double) -> AffineMap {
        let linear = rotation * map.matrix * rotation.transposed
        return AffineMap(matrix: linear, translation: origin + movingPlaneOffset * normal + rotation * map.translation - linear * origin)
    }

    static func length(_ v: SIMD3<Double>) -> Double { dot(v, v).squareRoot() }
    static func dot(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double { (a * b).sum() }
}
