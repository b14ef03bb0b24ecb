import Foundation
import RegCore

/// The families of linear transforms a registration stage can optimise.
public enum LinearModel: String, Sendable, Codable, CaseIterable {
    case translation, rigid, similarity, affine

    /// How many parameters the model has in `dimension` (2 or 3).
    public func parameterCount(dimension: Int) -> Int {
        switch (self, dimension) {
        case (.translation, 2): return 2
        case (.translation, _): return 3
        case (.rigid, 2): return 3
        case (.rigid, _): return 6
        case (.similarity, 2): return 4
        case (.similarity, _): return 7
        case (.affine, 2): return 6
        case (.affine, _): return 12
        }
    }
}

/// A parametric linear transform about a fixed centre `c`, mapping fixed-space points to
/// moving-space points: `T(x) = A(θ)·(x − c) + c + t(θ)`, in physical LPS mm.
///
/// Parameters follow ITK's order where ITK has the type:
/// - translation: `t` (2 or 3 values);
/// - rigid: 2-D `(angle, tx, ty)`; 3-D Euler angles `(ax, ay, az, tx, ty, tz)` with
///   `A = Rz·Rx·Ry` (ITK's `Euler3DTransform`);
/// - similarity: 2-D `(scale, angle, tx, ty)`; 3-D `(ax, ay, az, tx, ty, tz, scale)`;
/// - affine: the `d×d` matrix row by row, then `t`.
///
/// ```swift
/// var rigid = LinearTransform(.rigid, dimension: 3, center: SIMD3(0, -18, 12))
/// rigid.parameters[2] = 0.1                      // 0.1 rad about z
/// let y = rigid.map(SIMD3(10, 0, 0))
/// ```
public struct LinearTransform: Equatable, Sendable, Codable {
    public var model: LinearModel
    public var dimension: Int
    public var center: SIMD3<Double>
    public var parameters: [Double]

    /// The identity of `model` about `center`.
    public init(_ model: LinearModel, dimension: Int, center: SIMD3<Double> = .zero) {
        precondition(dimension == 2 || dimension == 3, "dimension must be 2 or 3")
        self.model = model
        self.dimension = dimension
        self.center = center
        var p = [Double](repeating: 0, count: model.parameterCount(dimension: dimension))
        switch (model, dimension) {
        case (.similarity, 2): p[0] = 1
        case (.similarity, _): p[6] = 1
        case (.affine, 2): p[0] = 1; p[3] = 1
        case (.affine, _): p[0] = 1; p[4] = 1; p[8] = 1
        default: break
        }
        parameters = p
    }

    /// The model that best represents `map` about `center`: exact for `.affine` (and for any model
    /// whose family contains the map); otherwise the rotation nearest to the map's linear part,
    /// with its mean scale for `.similarity`.
    public init(_ model: LinearModel, dimension: Int, center: SIMD3<Double>, approximating map: AffineMap) {
        self.init(model, dimension: dimension, center: center)
        let t = map.translation(about: center)
        let a = map.matrix
        let d = dimension
        switch model {
        case .translation:
            for i in 0..<d { parameters[i] = t[i] }
        case .affine:
            for i in 0..<d { for j in 0..<d { parameters[i * d + j] = a[i, j] } }
            for i in 0..<d { parameters[d * d + i] = t[i] }
        case .rigid, .similarity:
            let r = a.nearestOrthogonal ?? .identity
            let scale = d == 2 ? (abs(a.determinant)).squareRoot() : cbrt(abs(a.determinant))
            if d == 2 {
                let angle = atan2(r[1, 0], r[0, 0])
                if model == .rigid { parameters = [angle, t.x, t.y] } else { parameters = [scale, angle, t.x, t.y] }
            } else {
                let e = Self.eulerAngles(of: r)
                parameters[0] = e.x; parameters[1] = e.y; parameters[2] = e.z
                parameters[3] = t.x; parameters[4] = t.y; parameters[5] = t.z
                if model == .similarity { parameters[6] = scale }
            }
        }
    }

    /// `A(θ)`, the linear part.
    public var matrix: Matrix3 {
        let p = parameters
        switch (model, dimension) {
        case (.translation, _): return .identity
        case (.rigid, 2): return .rotation(axis: 2, angle: p[0])
        case (.rigid, _): return Matrix3.rotation(ax: p[0], ay: p[1], az: p[2])
        case (.similarity, 2): return Matrix3.rotation(axis: 2, angle: p[1]) * p[0] + Self.zUnit(1 - p[0])
        case (.similarity, _): return Matrix3.rotation(ax: p[0], ay: p[1], az: p[2]) * p[6]
        case (.affine, 2): return Matrix3(rows: SIMD3(p[0], p[1], 0), SIMD3(p[2], p[3], 0), SIMD3(0, 0, 1))
        case (.affine, _): return Matrix3(rowMajor: Array(p[0..<9]))
        }
    }

    /// `t(θ)`, the translation about the centre.
    public var translation: SIMD3<Double> {
        let p = parameters, n = p.count
        return dimension == 2 ? SIMD3(p[n - 2], p[n - 1], 0) : SIMD3(p[translationIndex], p[translationIndex + 1], p[translationIndex + 2])
    }

    private var translationIndex: Int {
        switch model {
        case .translation: return 0
        case .rigid, .similarity: return 3
        case .affine: return 9
        }
    }

    /// The transform as a plain affine map.
    public var affineMap: AffineMap { AffineMap(matrix: matrix, translation: translation, center: center) }

    @inlinable public func map(_ x: SIMD3<Double>) -> SIMD3<Double> { affineMap.apply(x) }

    /// `(∂A/∂θₖ, ∂t/∂θₖ)` for each parameter; then `∂T(x)/∂θₖ = ∂A/∂θₖ·(x − c) + ∂t/∂θₖ`.
    public var parameterDerivatives: [(matrix: Matrix3, translation: SIMD3<Double>)] {
        let p = parameters, zero = Matrix3.diagonal(.zero)
        let unitT = (0..<dimension).map { i -> (matrix: Matrix3, translation: SIMD3<Double>) in
            var e = SIMD3<Double>.zero; e[i] = 1
            return (zero, e)
        }
        switch (model, dimension) {
        case (.translation, _):
            return unitT
        case (.rigid, 2):
            return [(Matrix3.rotationDerivative(axis: 2, angle: p[0]), .zero)] + unitT
        case (.rigid, _):
            return Self.eulerDerivatives(p[0], p[1], p[2]).map { ($0, .zero) } + unitT
        case (.similarity, 2):
            let r = Matrix3.rotation(axis: 2, angle: p[1]) - Self.zUnit(1)
            return [(r, .zero), (Matrix3.rotationDerivative(axis: 2, angle: p[1]) * p[0], .zero)] + unitT
        case (.similarity, _):
            return Self.eulerDerivatives(p[0], p[1], p[2]).map { ($0 * p[6], .zero) } + unitT
                + [(Matrix3.rotation(ax: p[0], ay: p[1], az: p[2]), .zero)]
        case (.affine, _):
            let d = dimension
            var out: [(matrix: Matrix3, translation: SIMD3<Double>)] = []
            for i in 0..<d { for j in 0..<d { out.append((Matrix3.unit(row: i, column: j), .zero)) } }
            return out + unitT
        }
    }

    /// The gradient of a cost with respect to the parameters, given its gradient with respect to
    /// the entries of `A` (for centred points `x − c`) and to `t`.
    public func parameterGradient(matrixGradient g: Matrix3, translationGradient h: SIMD3<Double>) -> [Double] {
        parameterDerivatives.map { g.dot($0.matrix) + (h * $0.translation).sum() }
    }

    /// The largest displacement (mm) that a unit change of each parameter causes at `points`:
    /// the parameter scales of ITK's `RegistrationParameterScalesFromPhysicalShift`, so that a
    /// step of 1 in scaled parameters moves no point by more than about 1 mm.
    public func physicalShiftScales(at points: [SIMD3<Double>]) -> [Double] {
        parameterDerivatives.map { d in
            let shift = points.map { (d.matrix * ($0 - center) + d.translation).length }.max() ?? 1
            return max(shift, 1e-6)
        }
    }

    // MARK: rotations

    static func eulerDerivatives(_ ax: Double, _ ay: Double, _ az: Double) -> [Matrix3] {
        let rx = Matrix3.rotation(axis: 0, angle: ax), ry = Matrix3.rotation(axis: 1, angle: ay), rz = Matrix3.rotation(axis: 2, angle: az)
        return [rz * Matrix3.rotationDerivative(axis: 0, angle: ax) * ry,
                rz * rx * Matrix3.rotationDerivative(axis: 1, angle: ay),
                Matrix3.rotationDerivative(axis: 2, angle: az) * rx * ry]
    }

    /// Euler angles `(ax, ay, az)` of a rotation `R = Rz·Rx·Ry`, as ITK's `Euler3DTransform`
    /// extracts them.
    static func eulerAngles(of r: Matrix3) -> SIMD3<Double> {
        let ax = asin(max(-1, min(1, r[2, 1])))
        if abs(cos(ax)) > 1e-9 {
            return SIMD3(ax, atan2(-r[2, 0], r[2, 2]), atan2(-r[0, 1], r[1, 1]))
        }
        // Gimbal lock: only az + ay (or az − ay) is defined; put it all in az.
        return SIMD3(ax, 0, atan2(r[1, 0], r[0, 0]))
    }

    /// The matrix with `v` at (2, 2) and zeros elsewhere (keeps 2-D matrices' z row the identity).
    static func zUnit(_ v: Double) -> Matrix3 { Matrix3.diagonal(SIMD3(0, 0, v)) }
}
