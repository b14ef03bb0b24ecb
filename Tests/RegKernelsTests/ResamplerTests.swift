import Foundation
import Testing
import RegCore
@testable import RegKernels
import RegTestSupport

@Suite struct ResamplerTests {
    @Sendable static func smooth(_ p: SIMD3<Double>) -> Double {
        let a: Double = sin(0.11 * p.x) * cos(0.07 * p.y)
        let b: Double = 0.5 * sin(0.05 * p.z + 0.3)
        return a + b + 0.002 * p.x * p.y
    }

    @Test(arguments: [Interpolation.nearest, .linear, .bspline])
    func identityMappingLeavesTheImageUnchanged(interpolation: Interpolation) throws {
        for geometry in [Phantoms.obliqueGeometry(), Phantoms.oblique2DGeometry()] {
            let image = Phantoms.randomImage(Float.self, on: geometry, seed: 5)
            let out = try Resampler.resample(image, onto: geometry, interpolation: interpolation)
            let worst = zip(out.voxels, image.voxels).map { abs($0 - $1) }.max()!
            #expect(worst <= (interpolation == .bspline ? 2e-3 : 1e-4), "largest change \(worst)")
        }
    }

    /// Sampling at x + t of a smooth function matches f(x + t), away from the edges.
    @Test(arguments: [Interpolation.linear, .bspline])
    func subVoxelShiftMatchesTheAnalyticValue(interpolation: Interpolation) throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(40, 36, 24))
        let image = Phantoms.image(on: g, Self.smooth)
        let t = SIMD3<Double>(0.37, -0.61, 0.83)   // mm, well below one voxel
        let out = try Resampler.resample(image, onto: g, mapping: PointMapping(translation: t), interpolation: interpolation)
        var worst = 0.0
        for z in 3..<21 { for y in 3..<33 { for x in 3..<37 {
            let p = g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
            worst = max(worst, abs(Double(out[x, y, z]) - Self.smooth(p + t)))
        } } }
        #expect(worst < (interpolation == .linear ? 1e-2 : 1e-3), "largest error \(worst)")
    }

    /// A rotation about a physical centre moves features to where the rotation says.
    @Test func affineMappingSamplesTheRotatedPoint() throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(30, 28, 20))
        let image = Phantoms.image(on: g, Self.smooth)
        let r = Phantoms.rotation(3, -2, 5)
        let centre = g.physicalPoint(ofIndex: SIMD3(15, 14, 10))
        let mapping = PointMapping(matrix: r, translation: centre - r * centre)
        let out = try Resampler.resample(image, onto: g, mapping: mapping, interpolation: .bspline)
        for (x, y, z) in [(15, 14, 10), (12, 16, 9), (18, 11, 12)] {
            let p = g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
            #expect(abs(Double(out[x, y, z]) - Self.smooth(r * (p - centre) + centre)) < 2e-3)
        }
    }

    @Test func labelInterpolationNeverInventsLabels() throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(24, 22, 16))
        let palette: [Int32] = [0, 3, 7, 42]
        var labels = Image<Int32>(geometry: g)
        for z in 0..<16 { for y in 0..<22 { for x in 0..<24 {
            labels[x, y, z] = palette[((x / 3) + (y / 4) * 2 + (z / 5)) % 4]
        } } }
        let target = try Geometry(size: SIMD3(31, 29, 23), spacing: SIMD3(0.7, 0.8, 1.1), origin: g.origin + SIMD3(0.3, -0.2, 0.5),
                                  direction: Phantoms.rotation(5, 12, -7))
        let r = Phantoms.rotation(4, 3, -6)
        for mode in [Interpolation.label, .nearest] {
            let out = try Resampler.resample(labels, onto: target, mapping: PointMapping(matrix: r, translation: SIMD3(0.4, 0.1, -0.3)),
                                             interpolation: mode)
            #expect(Set(out.voxels).isSubset(of: Set(palette)))
            #expect(Set(out.voxels).count == 4)
        }
        // Linear interpolation of the same labels would invent values: the test can fail.
        let linear = try Resampler.resample(labels.converted(to: Float.self), onto: target, interpolation: .linear)
        #expect(!Set(linear.voxels.map { Int32($0.rounded()) }).isSubset(of: Set(palette)))
    }

    @Test func labelInterpolationPicksTheHeaviestLabel() throws {
        let g = try Geometry(size: SIMD3(2, 1, 1), dimension: 2)
        let labels = try Image<Int32>(geometry: g, voxels: [5, 9])
        let target = try Geometry(size: SIMD3(1, 1, 1), origin: SIMD3(0.7, 0, 0), dimension: 2)
        #expect(try Resampler.resample(labels, onto: target, interpolation: .label).voxels == [9])
        let target2 = try Geometry(size: SIMD3(1, 1, 1), origin: SIMD3(0.3, 0, 0), dimension: 2)
        #expect(try Resampler.resample(labels, onto: target2, interpolation: .label).voxels == [5])
    }

    @Test func constantFieldWarpEqualsTranslation() throws {
        let g = Phantoms.obliqueGeometry()
        let image = Phantoms.image(on: g, Self.smooth)
        var field = VectorField(geometry: g)
        let t = SIMD3<Float>(1.25, -0.5, 2.0)
        for i in 0..<g.voxelCount { field.vectors[3 * i] = t.x; field.vectors[3 * i + 1] = t.y; field.vectors[3 * i + 2] = t.z }
        let warped = try Resampler.warp(image, by: field)
        let shifted = try Resampler.resample(image, onto: g, mapping: PointMapping(translation: SIMD3<Double>(t)))
        let worst = zip(warped.voxels, shifted.voxels).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5)
    }

    @Test func resultsAreBitwiseIdenticalForAnyThreadCount() throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(33, 29, 17))
        let image = Phantoms.randomImage(Float.self, on: g, seed: 8)
        var field = VectorField(geometry: g)
        for (i, v) in Phantoms.randomValues(count: field.vectors.count, seed: 2, range: -2...2).enumerated() { field.vectors[i] = Float(v) }
        let outputs = try [1, 2, 5].map { threads in
            try Parallelism.withThreadCount(threads) {
                try Array(Resampler.warp(image, by: field, interpolation: .bspline).voxels) + Array(Resampler.warp(image, by: field).voxels)
                    + GaussianSmoothing.smooth(image, sigma: .mm(1.7)).voxels
            }
        }
        #expect(outputs[0] == outputs[1] && outputs[1] == outputs[2])
    }

    @Test func fieldOnAnotherGridIsRejected() {
        let image = Phantoms.randomImage(Float.self, on: Phantoms.obliqueGeometry())
        let field = VectorField(geometry: Phantoms.obliqueGeometry(size: SIMD3(5, 5, 5)))
        #expect(throws: RegError.self) { try Resampler.resample(image, onto: image.geometry, mapping: PointMapping(displacement: field)) }
    }

    @Test func pointsOutsideTheSourceGetTheDefault() throws {
        let g = Phantoms.obliqueGeometry()
        let image = Image<Float>(geometry: g, filledWith: 1)
        let out = try Resampler.resample(image, onto: g, mapping: PointMapping(translation: SIMD3(500, 0, 0)), defaultValue: -7)
        #expect(out.voxels.allSatisfy { $0 == -7 })
    }
}

@Suite struct SmoothingAndGradientTests {
    @Test func gaussianImpulseResponseHasTheRightWidthInMillimetres() throws {
        let g = try Geometry(size: SIMD3(41, 41, 41), spacing: SIMD3(0.5, 1, 2), direction: Phantoms.rotation(10, 20, 30))
        var image = Image<Float>(geometry: g)
        image[20, 20, 20] = 1
        let sigmaMM = 2.0
        let out = GaussianSmoothing.smooth(image, sigma: .mm(sigmaMM))
        var total = 0.0
        var variance = SIMD3<Double>.zero
        for z in 0..<41 { for y in 0..<41 { for x in 0..<41 {
            let v = Double(out[x, y, z])
            total += v
            let d = SIMD3<Double>(Double(x - 20), Double(y - 20), Double(z - 20)) * g.spacing
            variance += v * d * d
        } } }
        #expect(abs(total - 1) < 1e-5)
        for a in 0..<3 {
            // Truncation at 3σ removes a little of the tails.
            #expect(abs(variance[a].squareRoot() - sigmaMM) < 0.06 * sigmaMM, "axis \(a): σ = \(variance[a].squareRoot())")
        }
    }

    /// Against direct separable convolution in Double with replicated edges, per axis sigma,
    /// for 1 and 3 components, rows not a multiple of the 16-value blocks, rows whose padded
    /// edges would overlap (x = 20, one component: one padded line) or leave an interior, a kernel
    /// wider than the image along z, and both through-plane paths: a ring of slices that fit in
    /// cache (small slices) and strips of a scratch volume (wide slices, several strips).
    @Test(arguments: [1, 3], [SIMD3(20, 9, 4), SIMD3(37, 20, 3), SIMD3(203, 190, 5)])
    func gaussianMatchesDirectConvolution(components: Int, size: SIMD3<Int>) throws {
        let g = try Geometry(size: size, spacing: SIMD3(0.8, 1.1, 2.3), origin: SIMD3(4, -9, 20),
                             direction: Phantoms.rotation(12, -5, 30))
        let image = Phantoms.randomImage(Float.self, on: g, components: components, seed: 7)
        let sigma = SIMD3(1.7, 2.5, size.z > 3 ? 1.5 : 1.2)
        let out = GaussianSmoothing.smooth(image, sigma: .perAxisVoxels(sigma))
        var values = image.voxels.map(Double.init)
        let extent = [g.size.x, g.size.y, g.size.z], strides = [components, components * g.size.x, components * g.size.x * g.size.y]
        for axis in 0..<3 {
            let w = GaussianSmoothing.halfKernel(sigma: sigma[axis]).map(Double.init), n = extent[axis], r = w.count - 1
            var next = values
            for start in 0..<values.count where (start / strides[axis]) % n == 0 {
                for i in 0..<n {
                    var sum = 0.0
                    for t in -r...r { sum += w[abs(t)] * values[start + min(max(i + t, 0), n - 1) * strides[axis]] }
                    next[start + i * strides[axis]] = sum
                }
            }
            values = next
        }
        // Values span 0…100: Float rounding stays near 1e-5.
        let worst = zip(out.voxels, values).map { abs(Double($0) - $1) }.max()!
        #expect(worst < 1e-4)
    }

    /// Both through-plane paths give the same bits as the one the size picks (checked against
    /// direct convolution above), whatever the thread count: the ring with each thread's slices
    /// and those its taps reach beyond them, and the strips of a scratch volume.
    @Test(arguments: [1, 3])
    func gaussianThroughPlanePathsAgree(components: Int) throws {
        let g = try Geometry(size: SIMD3(37, 20, 23), spacing: SIMD3(0.8, 1.1, 2.3), origin: SIMD3(4, -9, 20),
                             direction: Phantoms.rotation(12, -5, 30))
        let image = Phantoms.randomImage(Float.self, on: g, components: components, seed: 8)
        let kernels = GaussianSmoothing.Kernels(sigma: .perAxisVoxels(SIMD3(1.2, 0.7, 1.9)), geometry: g)
        let expected = GaussianSmoothing.smooth(image, sigma: .perAxisVoxels(SIMD3(1.2, 0.7, 1.9))).voxels
        let sliceSize = components * g.size.x * g.size.y
        for threads in [1, 2, 3] {
            for path in [GaussianSmoothing.ThroughPlane.ring, .strips] {
                let values = image.voxels.withUnsafeBufferPointer { src in
                    let input = UnsafeSendable(src.baseAddress!)
                    return Parallelism.withThreadCount(threads) {
                        GaussianSmoothing.smoothSlices(size: g.size, components: components, kernels: kernels, throughPlane: path,
                                                       source: { z, _ in input.value + z * sliceSize })
                    }
                }
                #expect(values == expected, "\(path), \(threads) threads")
            }
        }
    }

    @Test func gaussianKeepsConstantsAndLeaves2DSlicesAlone() throws {
        let g = Phantoms.obliqueGeometry()
        let out = GaussianSmoothing.smooth(Image<Float>(geometry: g, filledWith: 3.5), sigma: .voxels(1.5))
        #expect(out.voxels.allSatisfy { abs($0 - 3.5) < 1e-5 })
        let flat = Phantoms.randomImage(Float.self, on: Phantoms.oblique2DGeometry())
        let flatOut = GaussianSmoothing.smooth(flat, sigma: .voxels(1))
        #expect(flatOut.geometry == flat.geometry && flatOut.voxels != flat.voxels)
    }

    /// The gradient of a linear function a·p is a, whatever the grid's orientation and spacing.
    @Test func gradientOfALinearFunctionInPhysicalSpace() throws {
        let a = SIMD3<Double>(0.3, -1.2, 0.7)
        let g = Phantoms.obliqueGeometry()
        let image = Phantoms.image(on: g) { (a * $0).sum() }
        let grad = ImageGradient.gradient(of: image)
        for (x, y, z) in [(5, 5, 5), (1, 2, 3), (17, 15, 11), (0, 0, 0), (18, 16, 12)] {
            let v = SIMD3<Double>(grad[x, y, z])
            #expect(Approx.maxDifference(v, a) < 1e-3, "at \(x), \(y), \(z): \(v)")
        }
    }

    @Test func shrinkPlacesVoxelsAtBlockCentres() throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(20, 18, 12))
        let coarse = try Shrink.geometry(of: g, factors: SIMD3(2, 3, 4))
        #expect(coarse.size == SIMD3(10, 6, 3))
        // Voxel (1, 1, 1) of the coarse grid sits at the centre of source voxels (2…3, 3…5, 4…7).
        let centre = g.physicalPoint(ofIndex: SIMD3(2.5, 4, 5.5))
        #expect(Approx.maxDifference(coarse.physicalPoint(ofIndex: SIMD3(1, 1, 1)), centre) < 1e-12)
        // A linear function survives smoothing and shrinking unchanged in the interior.
        let a = SIMD3<Double>(0.2, 0.1, -0.3)
        let image = Phantoms.image(on: g) { (a * $0).sum() }
        let shrunk = try Shrink.shrink(image, factors: SIMD3(2, 3, 4))
        let p = coarse.physicalPoint(ofIndex: SIMD3(4, 2, 1))
        #expect(abs(Double(shrunk[4, 2, 1]) - (a * p).sum()) < 1e-3)
    }
}
