import RegCore
import RegKernels

/// A cubic B-spline free-form deformation (Rueckert et al. 1999): displacement coefficients
/// (LPS mm) on a control-point lattice with a physical spacing, `T(x) = x + Σ_c B(x, c)·c`.
///
/// The lattice shares the direction cosines of the domain it covers and carries one extra
/// control point beyond each face, so the whole domain (voxel edges included) has the full
/// 4 × 4 × 4 support. A 2-D domain gets a single lattice plane. `refined()` halves the spacing
/// exactly (the refined lattice represents the same field), as a registration does between levels.
///
/// ```swift
/// var grid = try BSplineGrid(covering: fixed.geometry, spacing: SIMD3(10, 10, 10))
/// grid.coefficients[3, 4, 5] = SIMD3(2, 0, 0)
/// let u = try grid.field(on: fixed.geometry)          // a dense VectorField, mm
/// let y = grid.map(SIMD3(0, 10, -5))                  // one fixed-space point
/// let finer = grid.refined()                          // 5 mm spacing, same field
/// ```
public struct BSplineGrid: Sendable, Equatable {
    /// The control points: size, spacing (the control-point spacing), origin and direction.
    public let lattice: Geometry
    /// One displacement (LPS mm) per control point.
    public var coefficients: VectorField

    /// A zero deformation whose lattice covers `domain` with about `spacing` mm between control points.
    public init(covering domain: Geometry, spacing: SIMD3<Double>) throws {
        var size = SIMD3<Int>(1, 1, 1), origin = domain.origin
        var latticeSpacing = domain.spacing
        for a in 0..<domain.dimension {
            guard spacing[a] > 0, spacing[a].isFinite else {
                throw RegError.invalidArgument(name: "grid spacing", reason: "must be positive, found \(spacing[a]) mm")
            }
            // Intervals to span the voxel edges, plus one control point beyond each end.
            let extent = Double(domain.size[a]) * domain.spacing[a]
            let intervals = max(1, Int((extent / spacing[a]).rounded(.up)))
            size[a] = intervals + 3
            latticeSpacing[a] = spacing[a]
            let edge = -0.5 * domain.spacing[a] - spacing[a] - 0.5 * (Double(intervals) * spacing[a] - extent)
            origin += domain.direction.column(a) * edge
        }
        let lattice = try Geometry(size: size, spacing: latticeSpacing, origin: origin, direction: domain.direction,
                                   dimension: domain.dimension)
        self.init(lattice: lattice, coefficients: VectorField(geometry: lattice))
    }

    /// A deformation with given coefficients on `lattice`.
    public init(lattice: Geometry, coefficients: VectorField) {
        precondition(coefficients.geometry == lattice, "coefficients must lie on the lattice")
        self.lattice = lattice
        self.coefficients = coefficients
    }

    /// The axes of a grid with the lattice's direction cosines, for the separable kernels.
    /// - Throws: `RegError.geometryMismatch` when the grid is rotated against the lattice.
    public func axes(of grid: Geometry) throws -> BSplineLatticeKernels.Axes {
        guard grid.direction.maxAbsDifference(lattice.direction) < 1e-6, grid.dimension == lattice.dimension else {
            throw RegError.geometryMismatch("a B-spline lattice is evaluated on grids with its own direction cosines")
        }
        let offset = lattice.direction.transposed * (grid.origin - lattice.origin)
        func axis(_ a: Int) -> BSplineAxis {
            BSplineAxis(count: grid.size[a], start: offset[a] / lattice.spacing[a],
                        step: grid.spacing[a] / lattice.spacing[a], latticeCount: lattice.size[a])
        }
        return (axis(0), axis(1), axis(2))
    }

    /// The dense displacement field on `grid` (same direction cosines as the lattice).
    public func field(on grid: Geometry) throws -> VectorField {
        var out = VectorField(geometry: grid)
        BSplineLatticeKernels.evaluate(coefficients.vectors, lattice: lattice.size, axes: try axes(of: grid), into: &out.vectors)
        return out
    }

    /// The gradient with respect to the coefficients of a cost whose gradient with respect to
    /// the dense displacement on `gradient`'s grid is `gradient` (the adjoint of `field(on:)`).
    public func coefficientGradient(of gradient: VectorField) throws -> VectorField {
        var out = VectorField(geometry: lattice)
        BSplineLatticeKernels.adjoint(gradient.vectors, lattice: lattice.size, axes: try axes(of: gradient.geometry), into: &out.vectors)
        return out
    }

    /// `x + u(x)` at one physical point (clamped to the lattice's span beyond it).
    public func map(_ x: SIMD3<Double>) -> SIMD3<Double> { x + displacement(at: x) }

    /// `x + u(x)` where the point's whole 4-point support lies inside the lattice (continuous
    /// index from 1 to size − 2 on each axis), `x` itself elsewhere: ITK's and elastix's rule for
    /// a B-spline transform read from a file.
    public func mapWithinSupport(_ x: SIMD3<Double>) -> SIMD3<Double> {
        let t = lattice.continuousIndex(ofPhysicalPoint: x)
        for a in 0..<lattice.dimension where !(t[a] >= 1 && t[a] <= Double(lattice.size[a] - 2)) { return x }
        return x + displacement(at: x)
    }

    /// `u(x)` at one physical point (in a 2-D lattice's plane: the offset along its normal is ignored).
    public func displacement(at x: SIMD3<Double>) -> SIMD3<Double> {
        var u = SIMD3<Double>.zero
        forEachSupport(at: x) { p, w in u += w * SIMD3<Double>(coefficients[p.x, p.y, p.z]) }
        return u
    }

    /// Adds `vector` times the weight of each control point supporting `x` to `gradient` (a field
    /// on the lattice): the adjoint of `displacement(at:)`, so a cost's gradient with respect to
    /// `u(x)` becomes its gradient with respect to the coefficients.
    ///
    /// ```swift
    /// var g = VectorField(geometry: grid.lattice)
    /// grid.addAdjoint(of: 2 * (grid.map(x) - target), at: x, to: &g)   // ∇ of |x + u(x) − target|²
    /// ```
    public func addAdjoint(of vector: SIMD3<Double>, at x: SIMD3<Double>, to gradient: inout VectorField) {
        precondition(gradient.geometry.sameGrid(as: lattice), "a gradient on the lattice")
        forEachSupport(at: x) { p, w in
            gradient[p.x, p.y, p.z] += SIMD3<Float>(w * vector)
        }
    }

    /// Each control point whose B-spline is non-zero at `x` (clamped to the lattice's span beyond
    /// it), with its weight.
    func forEachSupport(at x: SIMD3<Double>, _ body: (SIMD3<Int>, Double) -> Void) {
        var t = lattice.continuousIndex(ofPhysicalPoint: x)
        if lattice.dimension == 2 { t.z = 0 }
        func axis(_ a: Int) -> BSplineAxis { BSplineAxis(count: 1, start: t[a], step: 0, latticeCount: lattice.size[a]) }
        let (ax, ay, az) = (axis(0), axis(1), axis(2))
        for k in 0..<az.support {
            for j in 0..<ay.support {
                for i in 0..<ax.support {
                    body(SIMD3(Int(ax.first[0]) + i, Int(ay.first[0]) + j, Int(az.first[0]) + k),
                         Double(ax.weights[i] * ay.weights[j] * az.weights[k]))
                }
            }
        }
    }

    /// The same deformation on a lattice with half the spacing (exact cubic B-spline subdivision:
    /// knots take `(c₋ + 6c + c₊)/8`, midpoints `(c + c₊)/2`).
    public func refined() -> BSplineGrid {
        var size = lattice.size, spacing = lattice.spacing, origin = lattice.origin
        var values = coefficients.vectors
        for a in 0..<lattice.dimension {
            var newSize = size
            newSize[a] = 2 * size[a] - 3
            values = Self.subdivide(values, size: size, axis: a, into: newSize)
            size = newSize
            origin += lattice.direction.column(a) * (0.5 * spacing[a])
            spacing[a] *= 0.5
        }
        let fine = try! Geometry(size: size, spacing: spacing, origin: origin, direction: lattice.direction, dimension: lattice.dimension)
        var c = VectorField(geometry: fine)
        c.vectors = values
        return BSplineGrid(lattice: fine, coefficients: c)
    }

    /// Subdivides the 3-component values along `axis`: new point `j` sits at old coordinate `(j + 1)/2`.
    static func subdivide(_ values: VoxelBuffer<Float>, size: SIMD3<Int>, axis: Int, into newSize: SIMD3<Int>) -> VoxelBuffer<Float> {
        var out = VoxelBuffer<Float>(repeating: 0, count: 3 * newSize.x * newSize.y * newSize.z)
        var strides = SIMD3(1, size.x, size.x * size.y)
        let newStrides = SIMD3(1, newSize.x, newSize.x * newSize.y)
        strides = strides &* 3
        for z in 0..<newSize.z {
            for y in 0..<newSize.y {
                for x in 0..<newSize.x {
                    var p = SIMD3(x, y, z)
                    let j = p[axis]
                    let target = 3 * (p &* newStrides).wrappedSum()
                    func old(_ i: Int) -> Int { p[axis] = i; return (p &* strides).wrappedSum() }
                    for c in 0..<3 {
                        if j % 2 == 0 {
                            let i = j / 2
                            out[target + c] = 0.5 * (values[old(i) + c] + values[old(i + 1) + c])
                        } else {
                            let i = (j + 1) / 2
                            out[target + c] = (values[old(i - 1) + c] + 6 * values[old(i) + c] + values[old(i + 1) + c]) / 8
                        }
                    }
                }
            }
        }
        return out
    }
}
