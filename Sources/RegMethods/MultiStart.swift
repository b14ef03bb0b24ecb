import Foundation
import RegCore
import RegMetrics
import RegOptimize
import RegTransforms

/// The first level's multi-start (issue 37, item 3): a moving image turned far from the fixed one
/// (110° defeats a moments start) is found by also starting from turns of the moments alignment
/// about the fixed centre of mass, optimising the most promising ones at the coarsest level, and
/// keeping a turn only when it ends clearly better than the start it replaces. It runs when the
/// principal axes suggest a turn of over 30° (`best`).
///
/// ```swift
/// var reg = LinearRegistration(stages: RegistrationPlan.preset("affine")!.linear)
/// reg.multiStart = true        // `start` says which turn won
/// let result = try reg.run(fixed: fixed, moving: turned)
/// print(result.start ?? "moments")
/// ```
struct MultiStart {
    /// Turns whose raw cost ranks them among this many best are optimised.
    static let optimisedCount = 3
    /// A turn replaces the start when its optimised cost is lower by more than this fraction of
    /// the start's (a turn into the same optimum ends within a fraction of that).
    static let margin = 0.01

    /// A candidate turn `rotation` (applied before the start's own rotation) and what it is.
    struct Turn {
        var rotation: Matrix3
        var name: String
        /// A principal-axes turn (the others are the fixed grid of turns).
        var principal = false
    }

    /// 30°, in radians: principal-axes turns beyond it suggest a badly turned start.
    static let suggestingAngle = Double.pi / 6

    /// The angle of a rotation, radians.
    static func angle(_ r: Matrix3) -> Double { acos(min(1, max(-1, (r.trace - 1) / 2))) }

    /// The principal-axes turns (every sign choice), then the 24 rotations of the cube in 3-D or
    /// 12 turns of 30° in 2-D, as turns relative to `start`'s rotation, without the identity.
    static func turns(start: Matrix3, fixed: Matrix3, moving: Matrix3, dimension: Int) -> [Turn] {
        var turns = Moments.principalRotations(fixed: fixed, moving: moving, dimension: dimension).enumerated().map { k, r in
            Turn(rotation: start.transposed * r, name: "principal axes \(k + 1)", principal: true)
        }
        if dimension == 3 {
            turns += cubeRotations.enumerated().map { Turn(rotation: $1, name: "quarter turn \($0 + 1) of 24") }
        } else {
            turns += (0..<12).map { Turn(rotation: .rotation(axis: 2, angle: Double($0) * .pi / 6), name: "\($0 * 30)° turn") }
        }
        return turns.filter { ($0.rotation - .identity).rowMajor.map(abs).max()! > 1e-6 }
    }

    /// The 24 proper rotations that map the coordinate axes onto signed coordinate axes.
    static let cubeRotations: [Matrix3] = {
        let axes = [SIMD3<Double>(1, 0, 0), SIMD3(0, 1, 0), SIMD3(0, 0, 1)]
        var out: [Matrix3] = []
        for (a, b, c) in [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)] {
            for bits in 0..<8 {
                let s = SIMD3<Double>(bits & 1 == 0 ? 1 : -1, bits & 2 == 0 ? 1 : -1, bits & 4 == 0 ? 1 : -1)
                let m = Matrix3(rows: s.x * axes[a], s.y * axes[b], s.z * axes[c])
                if m.determinant > 0 { out.append(m) }
            }
        }
        return out
    }()

    /// `start` turned by `turn` about its centre (the fixed centre of mass): fixed points still
    /// go to the same moving point at the centre.
    static func turned(_ start: LinearTransform, by turn: Matrix3) -> LinearTransform {
        let c = start.center, base = start.affineMap
        let map = AffineMap(matrix: base.matrix * turn, translation: base.apply(c) - base.matrix * (turn * c))
        return LinearTransform(start.model, dimension: start.dimension, center: c, approximating: map)
    }

    /// The start to optimise the first level from, and the name of the turn that replaced
    /// `start` (nil when `start` stays). Only when a principal-axes turn (every sign choice) of over
    /// 30° is the nearest one or costs less than `start` are the turns tried; cohorts of one shape
    /// in other sizes and ordinary pairs keep their start untouched. A turn replaces it only when,
    /// optimised at this level, it ends in another place (a corner of `grid` moved by more than two
    /// of its voxels) with a cost lower by more than `margin`: a turn into the start's own optimum
    /// changes nothing. A rigid start and its turns are compared after a similarity fit at this
    /// level, so that a difference in size or extent (a head with its neck against one without)
    /// does not favour a wrong turn.
    static func best(from start: LinearTransform, fixed: Matrix3, moving: Matrix3, metric: inout ImageMetric, optimizer: Optimizer,
                     grid: Geometry) throws -> (LinearTransform, String?) {
        let turns = Self.turns(start: start.affineMap.matrix, fixed: fixed, moving: moving, dimension: start.dimension)
        var ranked: [(cost: Double, transform: LinearTransform, name: String)] = []
        func rank(_ turn: Turn) -> Double {
            let candidate = turned(start, by: turn.rotation)
            guard let cost = try? metric.evaluate(candidate, gradient: false).value, cost.isFinite else { return .infinity }
            ranked.append((cost, candidate, turn.name))
            return cost
        }
        let startCost = (try? metric.evaluate(start, gradient: false).value) ?? .infinity
        let nearest = start.affineMap.matrix.transposed * Moments.principalRotation(fixed: fixed, moving: moving, dimension: start.dimension)
        var suggested = angle(nearest) > suggestingAngle
        for turn in turns where turn.principal {
            if rank(turn) < startCost, angle(turn.rotation) > suggestingAngle { suggested = true }
        }
        guard suggested else { return (start, nil) }
        for turn in turns where !turn.principal { _ = rank(turn) }
        ranked.sort { $0.cost < $1.cost }
        let judged: (LinearTransform) -> LinearTransform = { t in
            t.model == .rigid ? LinearTransform(.similarity, dimension: t.dimension, center: t.center, approximating: t.affineMap) : t
        }
        let scales = judged(start).physicalShiftScales(at: grid.cornerPoints)
        func optimised(_ t: LinearTransform) throws -> (cost: Double, map: AffineMap) {
            var probe = judged(t)
            let result = try optimizer.minimize(from: probe.parameters, scales: scales) { theta in
                probe.parameters = theta
                let r = try metric.evaluate(probe)
                return (r.value, r.gradient)
            }
            probe.parameters = result.parameters
            return (result.value, probe.affineMap)
        }
        let reference = try optimised(start)
        let corners = grid.cornerPoints, apart = 2 * grid.spacing.max()
        var best: (cost: Double, transform: LinearTransform, name: String)?
        for candidate in ranked.prefix(optimisedCount) {
            let end = try optimised(candidate.transform)
            let moved = corners.map { (end.map.apply($0) - reference.map.apply($0)).length }.max() ?? 0
            if moved > apart, end.cost < reference.cost - margin * abs(reference.cost), end.cost < best?.cost ?? .infinity {
                best = (end.cost, candidate.transform, candidate.name)
            }
        }
        return best.map { ($0.transform, $0.name) } ?? (start, nil)
    }
}
