import RegCore
import RegKernels

/// Transforms in the order they are applied to a fixed-space point, which is the order of
/// ANTs' `-t` options: `-t warp -t affine` maps `x` to `affine(warp(x))`, so the moving image is
/// sampled there (the image itself moves the other way: affine first, then warp).
///
/// ```swift
/// let chain = TransformChain([.displacement(warp), .affine(affine)])   // warp first, then affine
/// let y = chain.map(SIMD3(0, 0, 0))
/// let mapping = try chain.mapping(onto: fixed.geometry)                // for Resampler
/// print(chain)                                                         // lists the order of application
/// ```
public struct TransformChain: Equatable, Sendable, CustomStringConvertible {
    public enum Element: Equatable, Sendable {
        case affine(AffineMap)
        case displacement(DisplacementField)
        /// A cubic B-spline, moving only points whose support lies inside its lattice (as ITK and elastix do).
        case bspline(BSplineGrid)
    }

    /// First applied first.
    public var elements: [Element]
    /// Where each element came from (a file name, or a stage), for printing.
    public var names: [String]

    public init(_ elements: [Element], names: [String]? = nil) {
        self.elements = elements
        self.names = names ?? elements.indices.map { "transform \($0 + 1)" }
    }

    public init(_ maps: [AffineMap], names: [String]? = nil) {
        self.init(maps.map { .affine($0) }, names: names)
    }

    /// Maps a fixed-space point to moving space.
    public func map(_ x: SIMD3<Double>) -> SIMD3<Double> {
        elements.reduce(x) { point, element in
            switch element {
            case .affine(let a): return a.apply(point)
            case .displacement(let d): return d.map(point)
            case .bspline(let g): return g.mapWithinSupport(point)
            }
        }
    }

    /// The whole chain as one affine map, or nil when it holds a displacement field.
    public var composedAffine: AffineMap? {
        var sofar = AffineMap.identity
        for element in elements {
            guard case .affine(let a) = element else { return nil }
            sofar = sofar.then(a)
        }
        return sofar
    }

    /// How the points of `target` find their source points: one affine map when the chain is
    /// linear; the field itself plus an affine map when it is a field on `target`'s grid followed
    /// by linear transforms (what `register` writes); otherwise a dense field on `target`
    /// holding `map(x) − x`.
    public func mapping(onto target: Geometry) -> PointMapping {
        if let a = composedAffine { return PointMapping(a) }
        if case .displacement(let d) = elements[0], d.geometry.sameGrid(as: target),
           let rest = TransformChain(Array(elements.dropFirst())).composedAffine {
            return PointMapping(matrix: rest.matrix, translation: rest.translation, displacement: d.field)
        }
        return PointMapping(displacement: VectorField(sampling: target) { map($0) })
    }

    public var description: String {
        guard !elements.isEmpty else { return "identity" }
        let order = zip(names, elements).enumerated().map { i, pair in
            "  \(i + 1). \(pair.0) (\(Self.kind(pair.1)))"
        }
        return "points are mapped by, in order:\n" + order.joined(separator: "\n")
    }

    static func kind(_ e: Element) -> String {
        switch e {
        case .affine: return "affine"
        case .displacement(let d): return "displacement field \(d.geometry.size.x)×\(d.geometry.size.y)×\(d.geometry.size.z)"
        case .bspline(let g): return "B-spline on \(g.lattice.size.x)×\(g.lattice.size.y)×\(g.lattice.size.z) control points"
        }
    }
}
