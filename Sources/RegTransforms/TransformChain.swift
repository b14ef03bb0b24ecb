import RegCore

/// Transforms listed as ANTs lists them: the **last is applied first** to a fixed-space point.
///
/// `swiftreg apply -t A -t B` samples the moving image at `A(B(x))` for each output point `x`.
///
/// ```swift
/// let chain = TransformChain([affine2, affine1])   // affine1 first, then affine2
/// let y = chain.map(SIMD3(0, 0, 0))
/// print(chain)                                     // lists the order of application
/// ```
public struct TransformChain: Equatable, Sendable, CustomStringConvertible {
    public enum Element: Equatable, Sendable {
        case affine(AffineMap)
    }

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
        elements.reversed().reduce(x) { point, element in
            switch element {
            case .affine(let a): return a.apply(point)
            }
        }
    }

    /// The whole chain as one affine map (every element is linear).
    public var composedAffine: AffineMap {
        elements.reversed().reduce(AffineMap.identity) { sofar, element in
            switch element {
            case .affine(let a): return sofar.then(a)
            }
        }
    }

    public var description: String {
        guard !elements.isEmpty else { return "identity" }
        let order = zip(names, elements).reversed().enumerated().map { i, pair in
            "  \(i + 1). \(pair.0) (\(Self.kind(pair.1)))"
        }
        return "points are mapped by, in order:\n" + order.joined(separator: "\n")
    }

    static func kind(_ e: Element) -> String {
        switch e {
        case .affine: return "affine"
        }
    }
}
