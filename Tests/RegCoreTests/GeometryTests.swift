import Dispatch
import Foundation
import Testing
import RegCore
import RegTestSupport

@Suite struct GeometryTests {
    @Test func physicalPointFollowsTheFormula() throws {
        let g = Phantoms.obliqueGeometry()
        let index = SIMD3<Double>(3, 5, 7)
        // physical = origin + D · (spacing ⊙ index), written out column by column.
        let expected = g.origin + g.direction.column(0) * (0.9 * 3) + g.direction.column(1) * (1.3 * 5) + g.direction.column(2) * (2.1 * 7)
        #expect(Approx.maxDifference(g.physicalPoint(ofIndex: index), expected) < 1e-12)
        #expect(Approx.maxDifference(g.continuousIndex(ofPhysicalPoint: expected), index) < 1e-12)
    }

    @Test func indexAndPhysicalRoundTripOnAnObliqueGrid() {
        let g = Phantoms.obliqueGeometry()
        for v in stride(from: -3.0, through: 20.0, by: 2.75) {
            let i = SIMD3(v, v * 0.5 - 1, 2 * v)
            #expect(Approx.maxDifference(g.continuousIndex(ofPhysicalPoint: g.physicalPoint(ofIndex: i)), i) < 1e-10)
        }
    }

    @Test(arguments: [
        (Matrix3.identity, "LPS"),
        (Matrix3.diagonal(SIMD3(-1, -1, 1)), "RAS"),
        (Matrix3.diagonal(SIMD3(1, -1, 1)), "LAS"),
        // FreeSurfer conformed: columns point Left, Inferior, Anterior.
        (Matrix3(columns: SIMD3(1, 0, 0), SIMD3(0, 0, -1), SIMD3(0, -1, 0)), "LIA"),
    ])
    func orientationCodes(direction: Matrix3, code: String) throws {
        let g = try Geometry(size: SIMD3(4, 4, 4), direction: direction)
        #expect(g.orientationCode == code)
        #expect(!g.isOblique)
    }

    @Test func obliqueGridIsReportedAsOblique() {
        #expect(Phantoms.obliqueGeometry().isOblique)
    }

    @Test(arguments: [0.0, -1.0, Double.nan, Double.infinity])
    func badSpacingIsRejected(spacing: Double) {
        #expect(throws: RegError.self) { try Geometry(size: SIMD3(2, 2, 2), spacing: SIMD3(1, spacing, 1)) }
    }

    @Test func overflowingSizeAndSingularDirectionAreRejected() {
        #expect(throws: RegError.self) { try Geometry(size: SIMD3(1 << 31, 1 << 31, 1 << 31)) }
        #expect(throws: RegError.self) { try Geometry(size: SIMD3(2, 2, 2), direction: .diagonal(SIMD3(1, 0, 1))) }
        #expect(throws: RegError.self) { try Geometry(size: SIMD3(0, 2, 2)) }
    }

    @Test func resampledSpacingKeepsTheFieldOfView() throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(20, 10, 8))
        let coarse = try g.resampled(toSpacing: SIMD3(1.8, 2.6, 4.2))
        #expect(coarse.size == SIMD3(10, 5, 4))
        // The outer edge of the first voxel stays put: origin − D·spacing/2 is unchanged.
        let edge = g.origin - g.direction * (g.spacing * 0.5)
        let coarseEdge = coarse.origin - coarse.direction * (coarse.spacing * 0.5)
        #expect(Approx.maxDifference(edge, coarseEdge) < 1e-12)
    }

    @Test func matrixInverseAndNearestOrthogonal() throws {
        let r = Phantoms.rotation(10, -20, 30)
        let inv = try #require(r.inverse)
        #expect((r * inv).maxAbsDifference(.identity) < 1e-14)
        var sheared = r
        sheared[0, 1] += 0.05
        let q = try #require(sheared.nearestOrthogonal)
        #expect((q * q.transposed).maxAbsDifference(.identity) < 1e-12)
        #expect(q.maxAbsDifference(r) < 0.05)
    }
}

@Suite struct ParallelTests {
    @Test func reductionsAreBitwiseIdenticalForAnyThreadCount() {
        let values = Phantoms.randomValues(count: 100_003, seed: 9, range: -1e6...1e6).map { Float($0) }
        let results = [1, 2, 3, 7].map { threads in
            Parallelism.withThreadCount(threads) {
                parallelReduce(count: values.count, chunkSize: 4096, initial: Float(0), combine: +) { r in
                    var s: Float = 0
                    for i in r { s += values[i] }
                    return s
                }
            }
        }
        #expect(Set(results.map(\.bitPattern)).count == 1)
    }

    @Test func parallelForVisitsEveryIndexOnce() {
        var hits = [Int](repeating: 0, count: 1000)
        hits.withUnsafeMutableBufferPointer { buf in
            let b = UnsafeSendable(buf)
            Parallelism.withThreadCount(3) { parallelFor(count: 1000, chunkSize: 7) { r in for i in r { b.value[i] += 1 } } }
        }
        #expect(hits.allSatisfy { $0 == 1 })
    }

    /// With two threads the caller takes chunks from the front and the helper from the back, so
    /// each keeps to one end of the grid: the caller's chunks are a prefix, over many calls.
    @Test func twoThreadsSplitTheChunksIntoCallerPrefixAndHelperSuffix() {
        let caller = pthread_self()
        for _ in 0..<200 {
            var onCaller = [Bool](repeating: false, count: 64)
            onCaller.withUnsafeMutableBufferPointer { buf in
                let b = UnsafeSendable(buf)
                Parallelism.withThreadCount(2) { parallelFor(count: 64, chunkSize: 1) { r in
                    let mine = pthread_equal(pthread_self(), caller) != 0
                    for i in r { b.value[i] = mine }
                    usleep(20)
                } }
            }
            let prefix = onCaller.prefix { $0 }.count
            #expect(onCaller[prefix...].allSatisfy { !$0 }, "caller ran chunks \(onCaller.indices.filter { onCaller[$0] })")
        }
    }

    /// The pool runs one job at a time: a `parallelFor` inside another's body, or started by
    /// other threads meanwhile, runs on its caller alone; jobs far apart find the helpers asleep.
    @Test func nestedConcurrentAndSpacedCallsVisitEachIndexOncePerCall() {
        let (outer, inner, callers) = (6, 500, 3)
        var hits = [Int](repeating: 0, count: callers * outer * inner)
        let saved = Parallelism.threadCount
        defer { Parallelism.threadCount = saved }
        Parallelism.threadCount = 2
        hits.withUnsafeMutableBufferPointer { buf in
            let b = UnsafeSendable(buf)
            DispatchQueue.concurrentPerform(iterations: callers) { caller in
                for round in 0..<40 {
                    parallelFor(count: outer) { slabs in
                        for o in slabs {
                            parallelFor(count: inner, chunkSize: 9) { r in
                                for i in r { b.value[(caller * outer + o) * inner + i] += 1 }
                            }
                        }
                    }
                    if round % 10 == 0 { usleep(1000) }   // past the helpers' spin: they sleep and are woken
                }
            }
        }
        #expect(hits.allSatisfy { $0 == 40 })
    }

    /// Inside `withThreadCount(2)` a call that finds the pool busy with another thread's long job
    /// waits for it and then runs on two threads, where a plain call would run alone; a scope
    /// of 1 runs on its caller only, whatever the global count says.
    @Test func aScopedCountWaitsForTheBusyPoolAndRunsItsThreads() {
        let busy = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        Thread {
            Parallelism.withThreadCount(2) {
                parallelFor(count: 2) { r in
                    for _ in r { busy.signal(); usleep(100_000) }
                }
            }
            done.signal()
        }.start()
        busy.wait()
        func threads(_ count: Int) -> Int {
            let lock = NSLock()
            var seen = Set<UInt>()
            Parallelism.withThreadCount(count) {
                parallelFor(count: 40) { r in
                    for _ in r { usleep(2000) }
                    lock.lock(); seen.insert(UInt(pthread_self())); lock.unlock()
                }
            }
            return seen.count
        }
        #expect(threads(2) == 2)
        #expect(threads(1) == 1)
        done.wait()
    }
}

@Suite struct ImageTests {
    /// A map with entries near Double's limit has no usable inverse (it was returned with
    /// infinite entries, and `apply-points` wrote inf and NaN coordinates).
    @Test func anAffineMapWhoseInverseIsNotFiniteHasNone() {
        let huge = AffineMap(matrix: Matrix3.diagonal(SIMD3(1, 1, 1e-320)), translation: SIMD3(1, 2, 3))
        #expect(huge.inverse == nil)
        #expect(AffineMap(matrix: .rotation(axis: 2, angle: 0.3), translation: SIMD3(1, 2, 3)).inverse != nil)
    }

    @Test func conversionRoundsAndClamps() throws {
        let g = try Geometry(size: SIMD3(4, 1, 1))
        let img = try Image<Float>(geometry: g, voxels: [-3.6, 1.5, 300, .nan])
        #expect(img.converted(to: UInt8.self).voxels == [0, 2, 255, 0])
        #expect(img.converted(to: Int16.self).voxels == [-4, 2, 300, 0])
    }

    @Test func vectorFieldsRoundTripThroughImages() throws {
        let g3 = Phantoms.obliqueGeometry(size: SIMD3(3, 2, 2))
        var u = VectorField(geometry: g3)
        u[1, 1, 1] = SIMD3(0.5, -1, 2)
        #expect(try VectorField(image: u.image) == u)
        let g2 = Phantoms.oblique2DGeometry(size: SIMD2(3, 2))
        var v = VectorField(geometry: g2)
        v[2, 1, 0] = SIMD3(1, 2, 0)
        #expect(v.image.components == 2)
        #expect(try VectorField(image: v.image) == v)
    }
}
