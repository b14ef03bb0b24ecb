import Synchronization
import Testing
import RegCore
import RegTestSupport

@Suite struct VoxelBufferTests {
    @Test func copiesShareMemoryUntilOneIsWritten() {
        var a = VoxelBuffer<Float>([1, 2, 3, 4])
        let b = a
        #expect(a.withUnsafeBufferPointer { $0.baseAddress } == b.withUnsafeBufferPointer { $0.baseAddress })
        a[1] = 20
        #expect(Array(a) == [1, 20, 3, 4])
        #expect(Array(b) == [1, 2, 3, 4])
        #expect(a.withUnsafeBufferPointer { $0.baseAddress } != b.withUnsafeBufferPointer { $0.baseAddress })
        // The only owner writes in place.
        let before = a.withUnsafeBufferPointer { $0.baseAddress }
        a.withUnsafeMutableBufferPointer { $0[3] = 40 }
        #expect(a.withUnsafeBufferPointer { $0.baseAddress } == before)
        #expect(Array(a) == [1, 20, 3, 40])
    }

    @Test func borrowedMemoryIsReadInPlaceNeverWrittenAndReleasedOnce() {
        let memory = UnsafeMutablePointer<Float>.allocate(capacity: 6)
        defer { memory.deallocate() }
        memory.initialize(from: [0, 1, 2, 3, 4, 5], count: 6)
        let releases = Atomic<Int>(0)
        do {
            let g = try! Geometry(size: [3, 2, 1], spacing: [1, 1, 1])
            var image = try! Image(geometry: g, voxels: VoxelBuffer(borrowing: memory, count: 6) { releases.add(1, ordering: .relaxed) })
            #expect(image.voxels.isBorrowed)
            #expect(image.voxels.withUnsafeBufferPointer { $0.baseAddress } == UnsafePointer(memory))
            #expect(image[2, 1, 0] == 5)
            let original = image
            image[0, 0, 0] = 9                       // copies: the caller's memory stays as it was
            #expect(memory[0] == 0 && image[0, 0, 0] == 9 && !image.voxels.isBorrowed)
            withExtendedLifetime(original) {
                #expect(original[0, 0, 0] == 0)
                #expect(releases.load(ordering: .relaxed) == 0)   // `original` still reads it
            }
        }
        #expect(releases.load(ordering: .relaxed) == 1)
        #expect((0..<6).map { memory[$0] } == [0, 1, 2, 3, 4, 5])
    }

    @Test func equalityComparesValuesAndUninitializedCapacityFillsEveryElement() {
        let made = VoxelBuffer<Int32>(unsafeUninitializedCapacity: 5) { buffer, count in
            for i in 0..<5 { buffer[i] = Int32(i * i) }
            count = 5
        }
        #expect(made == VoxelBuffer([0, 1, 4, 9, 16]))
        #expect(made != VoxelBuffer([0, 1, 4, 9, 17]))
        #expect(made != VoxelBuffer([0, 1, 4, 9]))
        #expect(VoxelBuffer<Float>(repeating: 2.5, count: 3).reduce(0, +) == 7.5)
        #expect(made.count == 5 && made.max() == 16 && made.firstIndex(of: 9) == 3)
    }
}
