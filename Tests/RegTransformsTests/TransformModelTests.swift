import Testing
import RegCore
import RegTestSupport
import RegTransforms

@Suite struct TransformModelTests {
    static let center = SIMD3<Double>(12.5, -30.25, 7)

    /// ∂T(x)/∂θ from `parameterDerivatives` against central differences of `map`, every model.
    @Test(arguments: [2, 3], LinearModel.allCases)
    func parameterDerivativesMatchFiniteDifferences(dimension: Int, model: LinearModel) {
        var t = LinearTransform(model, dimension: dimension, center: Self.center)
        let r = Phantoms.randomValues(count: t.parameters.count, seed: 5, range: -0.2...0.2)
        t.parameters = zip(t.parameters, r).map { $0 + $1 }
        let x = SIMD3<Double>(-20, 44, dimension == 3 ? 31 : 0)
        for (k, d) in t.parameterDerivatives.enumerated() {
            var plus = t, minus = t
            plus.parameters[k] += 1e-6; minus.parameters[k] -= 1e-6
            let fd = (plus.map(x) - minus.map(x)) / 2e-6
            let analytic = d.matrix * (x - Self.center) + d.translation
            #expect(Approx.maxDifference(fd, analytic) < 1e-6, "\(model) \(dimension)-D parameter \(k)")
        }
    }

    /// Every model represents its own maps exactly when re-fitted from them (ITK Euler angles included).
    @Test(arguments: [2, 3], LinearModel.allCases)
    func approximatingOwnMapIsExact(dimension: Int, model: LinearModel) {
        var t = LinearTransform(model, dimension: dimension, center: Self.center)
        let r = Phantoms.randomValues(count: t.parameters.count, seed: 9, range: -0.3...0.3)
        t.parameters = zip(t.parameters, r).map { $0 + $1 }
        let again = LinearTransform(model, dimension: dimension, center: SIMD3(-3, 4, 5), approximating: t.affineMap)
        #expect(again.affineMap.matrix.maxAbsDifference(t.affineMap.matrix) < 1e-12)
        #expect(Approx.maxDifference(again.affineMap.translation, t.affineMap.translation) < 1e-10)
    }

    @Test func eulerMatrixIsITKsZXY() {
        // SimpleITK: Euler3DTransform.SetRotation(0.1, 0.2, 0.3).GetMatrix()
        let itk = Matrix3(rowMajor: [0.9304320636570301, -0.29404383655185584, 0.2187107612916787,
                                     0.3085774668591277, 0.9505637859220634, -0.034762563776535,
                                     -0.19767681165408388, 0.09983341664682815, 0.975170327201816])
        let ours = Matrix3.rotation(ax: 0.1, ay: 0.2, az: 0.3)
        #expect(ours.maxAbsDifference(itk) < 1e-15)
    }

    @Test(arguments: [LinearModel.rigid, .similarity, .affine])
    func landmarkFitRecoversAKnownTransform(model: LinearModel) throws {
        var truth = LinearTransform(model, dimension: 3, center: Self.center)
        truth.parameters = zip(truth.parameters, Phantoms.randomValues(count: truth.parameters.count, seed: 3, range: -0.25...0.25)).map { $0 + $1 }
        let fixed = (0..<6).map { i in SIMD3<Double>(Phantoms.randomValues(count: 3, seed: UInt64(40 + i), range: -60...60)) }
        let moving = fixed.map(truth.map)
        let fit = try LandmarkFit.fit(model, dimension: 3, fixed: fixed, moving: moving)
        for p in fixed { #expect((fit.map(p) - truth.map(p)).length < 1e-8) }
    }

    @Test func landmarkFitRejectsTooFewPoints() {
        let pts: [SIMD3<Double>] = [SIMD3(0, 0, 0), SIMD3(1, 0, 0), SIMD3(0, 1, 0)]
        #expect(throws: RegError.invalidArgument(name: "landmarks", reason: "a 3-D affine fit needs at least 4 point pairs, found 3")) {
            try LandmarkFit.fit(.affine, dimension: 3, fixed: pts, moving: pts)
        }
        #expect(throws: RegError.invalidArgument(name: "landmarks", reason: "a 2-D affine fit needs at least 3 point pairs, found 2")) {
            try LandmarkFit.fit(.affine, dimension: 2, fixed: Array(pts.prefix(2)), moving: Array(pts.prefix(2)))
        }
    }

    @Test func reflectedPointsStillGiveAProperRotation() throws {
        let fixed: [SIMD3<Double>] = [SIMD3(0, 0, 0), SIMD3(10, 0, 0), SIMD3(0, 10, 0), SIMD3(0, 0, 10)]
        let mirrored = fixed.map { SIMD3(-$0.x, $0.y, $0.z) }
        let fit = try LandmarkFit.fit(.rigid, dimension: 3, fixed: fixed, moving: mirrored)
        #expect(abs(fit.matrix.determinant - 1) < 1e-9)
    }
}
