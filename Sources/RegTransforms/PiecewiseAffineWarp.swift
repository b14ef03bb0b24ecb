import RegCore

/// A 2-D piecewise-affine warp from landmarks: the fixed points are triangulated (Delaunay, by
/// Bowyer–Watson) and each triangle is carried affinely onto the triangle of the matching moving
/// points (barycentric interpolation), so the map is continuous and exact at the landmarks.
/// Outside the triangulation's convex hull the least-squares affine of all pairs applies.
/// Works in the x–y plane of physical space; z passes through unchanged.
///
/// ```swift
/// let warp = try PiecewiseAffineWarp(fixed: f.points, moving: m.points)
/// let y = warp.map(SIMD3(12, -30, 0))
/// let field = warp.field(on: fixed.geometry)
/// ```
public struct PiecewiseAffineWarp: Sendable {
    /// Triangles as indices into the landmark lists, counter-clockwise in the fixed plane.
    public let triangles: [SIMD3<Int>]
    let fixed: [SIMD2<Double>]
    let moving: [SIMD2<Double>]
    /// Least-squares affine of all pairs, used outside the hull.
    let outside: AffineMap

    public init(fixed: [SIMD3<Double>], moving: [SIMD3<Double>]) throws {
        guard fixed.count == moving.count else {
            throw RegError.invalidArgument(name: "landmarks", reason: "\(fixed.count) fixed points but \(moving.count) moving points")
        }
        guard fixed.count >= 3 else {
            throw RegError.invalidArgument(name: "landmarks", reason: "a piecewise-affine warp needs at least 3 point pairs, found \(fixed.count)")
        }
        self.fixed = fixed.map { SIMD2($0.x, $0.y) }
        self.moving = moving.map { SIMD2($0.x, $0.y) }
        for i in self.fixed.indices {
            for j in 0..<i where self.fixed[i] == self.fixed[j] {
                throw RegError.invalidArgument(name: "landmarks", reason: "fixed points \(j + 1) and \(i + 1) coincide")
            }
        }
        triangles = Self.delaunay(self.fixed)
        guard !triangles.isEmpty else {
            throw RegError.invalidArgument(name: "landmarks", reason: "the fixed points are collinear; no triangle can be formed")
        }
        outside = try LandmarkFit.fit(.affine, dimension: 2, fixed: fixed, moving: moving).affineMap
    }

    /// The moving-space point of a fixed-space point.
    public func map(_ x: SIMD3<Double>) -> SIMD3<Double> {
        var hint = 0
        return map(x, hint: &hint)
    }

    /// `map`, starting the triangle search at `hint` (and leaving the triangle found there).
    func map(_ x: SIMD3<Double>, hint: inout Int) -> SIMD3<Double> {
        let p = SIMD2(x.x, x.y)
        for k in 0..<triangles.count {
            let t = (hint + k) % triangles.count
            if let b = barycentric(p, in: triangles[t]) {
                hint = t
                let tri = triangles[t]
                let q = b.x * moving[tri.x] + b.y * moving[tri.y] + b.z * moving[tri.z]
                return SIMD3(q.x, q.y, x.z)
            }
        }
        let y = outside.apply(x)
        return SIMD3(y.x, y.y, x.z)
    }

    /// The displacement `T(x) − x` at every voxel of `grid`.
    public func field(on grid: Geometry) -> VectorField {
        var hint = 0
        var field = VectorField(geometry: grid)
        for z in 0..<grid.size.z {
            for y in 0..<grid.size.y {
                for x in 0..<grid.size.x {
                    let p = grid.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
                    let u = map(p, hint: &hint) - p
                    field[x, y, z] = SIMD3<Float>(Float(u.x), Float(u.y), 0)
                }
            }
        }
        return field
    }

    /// Barycentric coordinates of `p` in a fixed triangle, or nil outside it (edges included).
    func barycentric(_ p: SIMD2<Double>, in t: SIMD3<Int>) -> SIMD3<Double>? {
        let a = fixed[t.x], b = fixed[t.y], c = fixed[t.z]
        let area = Self.cross(b - a, c - a)
        let u = Self.cross(b - p, c - p) / area, v = Self.cross(c - p, a - p) / area
        let w = 1 - u - v
        let eps = -1e-9
        return u >= eps && v >= eps && w >= eps ? SIMD3(u, v, w) : nil
    }

    static func cross(_ a: SIMD2<Double>, _ b: SIMD2<Double>) -> Double { a.x * b.y - a.y * b.x }

    /// Bowyer–Watson: insert points one by one into a super-triangle, replacing the triangles
    /// whose circumcircle holds the new point by a fan around it. Triangles are counter-clockwise.
    static func delaunay(_ points: [SIMD2<Double>]) -> [SIMD3<Int>] {
        let n = points.count
        let lo = points.reduce(points[0]) { SIMD2(min($0.x, $1.x), min($0.y, $1.y)) }
        let hi = points.reduce(points[0]) { SIMD2(max($0.x, $1.x), max($0.y, $1.y)) }
        let center = (lo + hi) / 2, extent = max(hi.x - lo.x, hi.y - lo.y, 1e-9)
        var all = points + [center + SIMD2(-20 * extent, -10 * extent), center + SIMD2(20 * extent, -10 * extent),
                            center + SIMD2(0, 20 * extent)]
        var triangles = [SIMD3(n, n + 1, n + 2)]
        for i in 0..<n {
            let p = all[i]
            var bad: [SIMD3<Int>] = [], keep: [SIMD3<Int>] = []
            for t in triangles {
                if inCircumcircle(p, t, all) { bad.append(t) } else { keep.append(t) }
            }
            // The boundary of the cavity: edges of bad triangles not shared by two of them.
            var edges: [SIMD2<Int>: Int] = [:]
            for t in bad {
                for e in [SIMD2(t.x, t.y), SIMD2(t.y, t.z), SIMD2(t.z, t.x)] {
                    edges[SIMD2(min(e.x, e.y), max(e.x, e.y)), default: 0] += 1
                }
            }
            for t in bad {
                for e in [SIMD2(t.x, t.y), SIMD2(t.y, t.z), SIMD2(t.z, t.x)] where edges[SIMD2(min(e.x, e.y), max(e.x, e.y))] == 1 {
                    keep.append(SIMD3(e.x, e.y, i))
                }
            }
            triangles = keep
        }
        all.removeLast(3)
        return triangles.filter { $0.x < n && $0.y < n && $0.z < n && abs(cross(all[$0.y] - all[$0.x], all[$0.z] - all[$0.x])) > 1e-12 }
    }

    /// Whether `p` lies strictly inside the circumcircle of the counter-clockwise triangle `t`.
    static func inCircumcircle(_ p: SIMD2<Double>, _ t: SIMD3<Int>, _ points: [SIMD2<Double>]) -> Bool {
        let a = points[t.x] - p, b = points[t.y] - p, c = points[t.z] - p
        let det = (a.x * a.x + a.y * a.y) * cross(b, c) - (b.x * b.x + b.y * b.y) * cross(a, c) + (c.x * c.x + c.y * c.y) * cross(a, b)
        return det > 0
    }
}
