import Foundation
import RegCore
import RegKernels
import RegSynth
import RegTestSupport
import RegTransforms
import Testing

@Suite struct RandomWarpTests {
    @Test(arguments: [false, true])
    func warpHasTheRequestedSizeAnExactInverseAndNoFolds(flat: Bool) throws {
        let grid = flat ? Phantoms.oblique2DGeometry(size: SIMD2(48, 40)) : Phantoms.obliqueGeometry(size: SIMD3(30, 26, 22))
        let warp = try RandomWarp(on: grid, maxDisplacement: 6, controlSpacing: 15, seed: 4)
        let largest = warp.forward.field.meanAndMaxNorm.max
        #expect(abs(largest - 6) < 0.1, "largest displacement \(largest) mm")
        #expect(JacobianStatistics(determinant: warp.forward.jacobianDeterminant).folded == 0)
        // forward ∘ inverse = identity away from the edges (both are exact exponentials).
        let residual = FieldKernels.compose(warp.forward.field, after: warp.inverse.field)
        var sum = 0.0, n = 0
        let s = grid.size
        for z in 0..<s.z where flat || (z > 3 && z < s.z - 4) {
            for y in 4..<s.y - 4 { for x in 4..<s.x - 4 { sum += Double(SIMD3<Double>(residual[x, y, z]).magnitudes.max()); n += 1 } }
        }
        #expect(sum / Double(n) < 0.05)
        if flat { #expect(warp.forward.field.vectors.enumerated().allSatisfy { $0.offset % 3 != 2 || $0.element == 0 }) }
        let again = try RandomWarp(on: grid, maxDisplacement: 6, controlSpacing: 15, seed: 4)
        #expect(again.forward == warp.forward)
        #expect(try RandomWarp(on: grid, maxDisplacement: 6, controlSpacing: 15, seed: 5).forward != warp.forward)
    }

    /// A plane stored as a one-slice volume, oblique in space, is deformed within its plane only.
    @Test func aOneSliceVolumeIsDeformedInItsPlane() throws {
        let grid = try Geometry(size: SIMD3(40, 36, 1), spacing: SIMD3(1, 1.2, 1), origin: SIMD3(-20, 15, 3),
                                direction: Phantoms.obliqueGeometry().direction)
        let warp = try RandomWarp(on: grid, maxDisplacement: 5, controlSpacing: 12, seed: 2)
        let normal = grid.direction.column(2)
        let across = warp.forward.field.vectors.indices.filter { $0 % 3 == 0 }.map { i -> Double in
            let u = SIMD3<Double>(Double(warp.forward.field.vectors[i]), Double(warp.forward.field.vectors[i + 1]),
                                  Double(warp.forward.field.vectors[i + 2]))
            return abs((u * normal).sum())
        }.max()!
        #expect(abs(warp.forward.field.meanAndMaxNorm.max - 5) < 0.1)
        #expect(across < 1e-4, "largest displacement along the slice normal \(across) mm")
    }

    @Test func nonPositiveSizeIsRejected() {
        #expect(throws: RegError.self) { try RandomWarp(on: Phantoms.obliqueGeometry(), maxDisplacement: 0, seed: 1) }
    }
}

@Suite struct ContrastSynthesisTests {
    /// Three nested boxes of labels 0, 5, 9 on an oblique grid.
    static func labels() -> Image<Int32> {
        let grid = Phantoms.obliqueGeometry(size: SIMD3(32, 28, 24))
        var out = Image<Int32>(geometry: grid)
        for z in 0..<24 { for y in 0..<28 { for x in 0..<32 {
            let inner = (10..<22).contains(x) && (9..<19).contains(y) && (8..<16).contains(z)
            let outer = (4..<28).contains(x) && (4..<24).contains(y) && (4..<20).contains(z)
            out[x, y, z] = inner ? 9 : (outer ? 5 : 0)
        } } }
        return out
    }

    @Test func imagesAreReproducibleNormalisedAndFollowTheLabels() throws {
        let labels = Self.labels()
        let synth = ContrastSynthesis(noiseRange: 0...0.02, blurRange: 0.5...0.5, biasStrength: 0.05)
        let a = try synth.image(from: labels, seed: 1), b = try synth.image(from: labels, seed: 1), c = try synth.image(from: labels, seed: 2)
        #expect(a == b)
        #expect(a != c)
        #expect(a.voxels.min()! == 0 && a.voxels.max()! == 1)
        // Within a label the intensity varies far less than between labels.
        func stats(_ image: Image<Float>, _ label: Int32) -> (mean: Double, sd: Double) {
            let v = labels.voxels.indices.filter { labels.voxels[$0] == label && Self.interior($0, labels.geometry) }.map { Double(image.voxels[$0]) }
            let mean = v.reduce(0, +) / Double(v.count)
            return (mean, (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot())
        }
        // Each label is nearly uniform, and the two draws paint the labels differently.
        for image in [a, c] { for label: Int32 in [5, 9] { #expect(stats(image, label).sd < 0.05) } }
        let shifts = [Int32(5), 9].map { abs(stats(a, $0).mean - stats(c, $0).mean) }
        #expect(shifts.max()! > 0.15, "label means moved by \(shifts)")
    }

    /// Voxels at least 2 voxels from a label boundary (the blur mixes labels there).
    static func interior(_ i: Int, _ g: Geometry) -> Bool {
        let x = i % g.size.x, y = (i / g.size.x) % g.size.y, z = i / (g.size.x * g.size.y)
        func away(_ v: Int, _ edges: [Int]) -> Bool { edges.allSatisfy { abs(v - $0) >= 2 && abs(v - ($0 - 1)) >= 2 } }
        return away(x, [4, 10, 22, 28]) && away(y, [4, 9, 19, 24]) && away(z, [4, 8, 16, 20])
    }
}

@Suite struct RandomAffineTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func staysWithinItsBounds(seed: UInt64) throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(20, 18, 12))
        let c = g.physicalPoint(ofIndex: SIMD3(9.5, 8.5, 5.5))
        let map = RandomAffine(on: g, center: c, maxRotationDegrees: 10, maxStretch: 0.08, maxTranslation: 8, seed: seed).map
        // M = R (I + S): the rotation is the polar factor, the stretch its symmetric remainder.
        let r = try #require(map.matrix.nearestOrthogonal)
        let angle = acos(min(1, max(-1, (r.trace - 1) / 2))) * 180 / .pi
        #expect(angle <= 10 + 1e-9 && angle > 0)
        let stretch = r.transposed * map.matrix - .identity
        #expect(stretch.maxAbsDifference(stretch.transposed) < 1e-9)
        #expect(stretch.rowMajor.allSatisfy { abs($0) <= 0.08 + 1e-9 })
        #expect((map.apply(c) - c).magnitudes.max() <= 8 + 1e-9)
        #expect(RandomAffine(on: g, center: c, seed: seed).map == RandomAffine(on: g, center: c, seed: seed).map)
    }

    @Test func onASliceItKeepsThePlane() {
        let g = Phantoms.oblique2DGeometry(size: SIMD2(30, 24))
        let c = g.physicalPoint(ofIndex: SIMD3(15, 12, 0))
        let map = RandomAffine(on: g, center: c, maxRotationDegrees: 20, seed: 9).map
        let n = g.direction.column(2)
        #expect((map.matrix * n - n).length < 1e-12)
        for p in [g.physicalPoint(ofIndex: SIMD3(0, 0, 0)), g.physicalPoint(ofIndex: SIMD3(29, 23, 0))] {
            #expect(abs(((map.apply(p) - c) * n).sum()) < 1e-9, "left the plane")
        }
    }
}

@Suite struct TissueClassesTests {
    @Test func splitsTheBrainIntoThirdsFromDarkToBright() throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(24, 20, 16))
        let c = g.physicalPoint(ofIndex: SIMD3(11.5, 9.5, 7.5))
        // A ball whose intensity rises along x; zero outside.
        let image = Phantoms.image(on: g) { p in (p - c).length < 8 ? 1 + g.continuousIndex(ofPhysicalPoint: p).x : 0 }
        let classes = TissueClasses.terciles(of: image)
        let inside = image.voxels.filter { $0 > 0 }.count
        for label in Int32(1)...3 {
            let n = classes.voxels.filter { $0 == label }.count
            #expect(abs(Double(n) / Double(inside) - 1.0 / 3) < 0.05, "class \(label): \(n) of \(inside)")
        }
        #expect(zip(image.voxels, classes.voxels).allSatisfy { ($0 > 0) == ($1 > 0) })
        let dark = try #require(classes.voxels.firstIndex(of: 1)), bright = try #require(classes.voxels.firstIndex(of: 3))
        #expect(image.voxels[dark] < image.voxels[bright])
    }
}

@Suite struct LabelAlignmentTests {
    /// Eight blobs of different labels on an oblique, anisotropic grid.
    func blobs(on g: Geometry, through map: AffineMap = .identity) throws -> Image<Int32> {
        let centres: [SIMD3<Double>] = [(-8, -6, -4), (8, -6, -4), (-8, 6, -4), (8, 6, -4), (-8, -6, 4), (8, -6, 4), (-8, 6, 4), (6, 5, 5)]
            .map { SIMD3($0.0, $0.1, $0.2) + g.physicalPoint(ofIndex: (SIMD3<Double>(g.size) - 1) * 0.5) }
        var image = Image<Int32>(geometry: g)
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x {
            let p = map.apply(g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z))))
            for (k, c) in centres.enumerated() where (p - c).length < 4 { image.voxels[g.offset(x, y, z)] = Int32(k + 1) }
        } } }
        return image
    }

    @Test func centroidsRecoverAKnownAffine() throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(40, 36, 30))
        let c = g.physicalPoint(ofIndex: (SIMD3<Double>(g.size) - 1) * 0.5)
        let truth = AffineMap(matrix: .rotation(axis: 2, angle: 0.12) * Matrix3.diagonal(SIMD3(1.05, 0.97, 1)),
                              translation: SIMD3(1.5, -2, 1), center: c)
        // moving(truth(x)) = fixed(x): the moving map is the fixed one pulled through the inverse.
        let fixed = try blobs(on: g)
        let moving = try blobs(on: g, through: try #require(truth.inverse))
        let alignment = try LabelAlignment(moving: moving, fixed: fixed)
        #expect(alignment.labels.count == 8)
        for p in [c, c + SIMD3(10, -5, 3)] {
            #expect((alignment.transform.map(p) - truth.apply(p)).length < 0.3)
        }
        let aligned = try alignment.resampled(moving, onto: g)
        let agree = zip(aligned.voxels, fixed.voxels).filter { $0 == $1 && $0 != 0 }.count
        #expect(Double(agree) / Double(fixed.voxels.filter { $0 != 0 }.count) > 0.85)
    }
}

/// `swiftreg bench`'s images: the label maps have the 50 labels and the deformation they claim,
/// the head phantom is the same for one seed and differs for another.
@Suite struct BenchmarkPhantomTests {
    @Test func labelMapsHaveFiftyLabelsAndTheSecondIsDeformed() throws {
        let (reference, test) = try BenchmarkPhantoms.labelMaps()
        #expect(reference.geometry.size == SIMD3(256, 256, 256) && test.geometry.sameGrid(as: reference.geometry))
        #expect(Set(reference.voxels).subtracting([0]).count == 50 && Set(test.voxels).subtracting([0]).count == 50)
        let changed = zip(reference.voxels, test.voxels).filter { $0 != $1 }.count
        #expect(changed > 0 && changed < reference.voxels.count / 10, "\(changed) voxels differ")
    }

    @Test func headPhantomIsReproducibleFromItsSeed() throws {
        let a = try BenchmarkPhantoms.head(SIMD3(24, 20, 16)), b = try BenchmarkPhantoms.head(SIMD3(24, 20, 16))
        let c = try BenchmarkPhantoms.head(SIMD3(24, 20, 16), seed: 8)
        #expect(a.voxels == b.voxels && a.voxels != c.voxels)
        #expect(a.voxels.allSatisfy { $0 >= 0 && $0 < 1 } && a.voxels.max()! > 0.8)
    }
}

/// `SimulatedAtrophy`: the requested change is reached, the warp is smooth and invertible, and
/// tissue away from the region's edge stays put.
struct SimulatedAtrophyTests {
    @Test(arguments: [-5.0, 10.0])
    func reachesTheRequestedChangeOnlyNearTheEdge(percent: Double) throws {
        let grid = try Geometry(size: SIMD3(40, 36, 32), spacing: SIMD3(1, 1.2, 1.1), origin: SIMD3(5, -10, 20),
                                direction: Phantoms.rotation(5, 10, -20))
        let center = grid.physicalPoint(ofIndex: SIMD3(19.5, 17.5, 15.5))
        let region = try Image<UInt8>(geometry: grid, voxels: Phantoms.image(on: grid) { ($0 - center).length < 9 ? 1 : 0 }.voxels.map { UInt8($0) })
        let truth = try SimulatedAtrophy(region: region, percentChange: percent, sigma: 2)
        #expect(abs(truth.percentVolumeChange - percent) < 1e-3)
        let detJ = truth.forward.jacobianDeterminant
        #expect(detJ.voxels.allSatisfy { $0 > 0 })
        // Far from the edge (the centre, 4.5σ inside, and 8σ outside), det J is about 1.
        let inner = grid.continuousIndex(ofPhysicalPoint: center)
        #expect(abs(detJ[Int(inner.x.rounded()), Int(inner.y.rounded()), Int(inner.z.rounded())] - 1) < 5e-3)
        #expect(abs(detJ[0, 0, 0] - 1) < 1e-3)
        // The inverse undoes the forward map.
        let p = center + SIMD3(9, 0, 0)
        #expect(Approx.maxDifference(truth.inverse.map(truth.forward.map(p)), p) < 0.02)
        // The region's indicator carried by the warp (partial volumes, linear): its sum changes by
        // about the requested amount, though no voxel centre moves by more than a third of a voxel.
        let indicator = region.converted(to: Float.self)
        let carried = try Resampler.resample(indicator, onto: grid, mapping: PointMapping(displacement: truth.inverse.field))
        let before = indicator.voxels.reduce(0, +), after = carried.voxels.reduce(0, +)
        #expect(abs(100 * Double(after / before - 1) - percent) < 1, "\(before) → \(after)")
    }

    @Test func refusesAnEmptyRegionAndAbsurdChanges() throws {
        let grid = try Geometry(size: SIMD3(8, 8, 8))
        #expect(throws: RegError.self) { try SimulatedAtrophy(region: Image<UInt8>(geometry: grid), percentChange: -5) }
        #expect(throws: RegError.self) { try SimulatedAtrophy(region: Image<UInt8>(geometry: grid, filledWith: 1), percentChange: -80) }
    }
}

/// `SimulatedLesion`: the tissue at the lesion's edge is pushed out by about the mass effect,
/// the push outside is divergence-free (det J ≈ 1) and decays as (R/r)², and the mask is the
/// pushed ball.
struct SimulatedLesionTests {
    @Test func pushAndMask() throws {
        let grid = try Geometry(size: SIMD3(48, 44, 40), spacing: SIMD3(1, 1.1, 1.2), origin: SIMD3(-20, 5, 10),
                                direction: Phantoms.rotation(10, 0, -15))
        let center = grid.physicalPoint(ofIndex: SIMD3(23.5, 21.5, 19.5))
        let lesion = try SimulatedLesion(on: grid, center: center, radius: 6, massEffect: 1.5)
        let axis = SIMD3<Double>(0.6, 0.8, 0)
        let edgeMove = ((lesion.forward.map(center + 6 * axis) - center) * axis).sum() - 6
        #expect(abs(edgeMove - 1.5) < 0.5, "edge moved \(edgeMove) mm")
        let far = ((lesion.forward.map(center + 15 * axis) - center) * axis).sum() - 15
        #expect(far > 0 && far < 1.5 * 0.16 * 1.6, "push at 15 mm: \(far)")
        let detJ = lesion.forward.jacobianDeterminant
        let ring = grid.continuousIndex(ofPhysicalPoint: center + 12 * axis)
        #expect(abs(detJ[Int(ring.x.rounded()), Int(ring.y.rounded()), Int(ring.z.rounded())] - 1) < 0.05)
        let volume = Double(lesion.mask.voxels.reduce(0) { $0 + Int($1) }) * 1.1 * 1.2
        #expect(abs(volume / (4.0 / 3 * .pi * pow(7.5, 3)) - 1) < 0.1)
        #expect(throws: RegError.self) { try SimulatedLesion(on: grid, center: center + SIMD3(500, 0, 0), radius: 5, massEffect: 1) }
    }
}
