import Foundation
import Testing
import RegCore
import RegIO
import RegKernels
import RegTestSupport

/// Every image under ../shared/data opens with the geometry and voxels SimpleITK reads.
@Suite(.enabled(if: SharedData.isAvailable, Comment(rawValue: SharedData.skipMessage)))
struct SharedDataTests {
    static let files = Fixtures.sharedData.keys.sorted()

    @Test func fixtureCoversTheSharedData() {
        #expect(Self.files.count >= 60)
        for required in ["brain/c2fvit/image_A.nii.gz", "atlas/antspy/mni.nii.gz", "2d/greedy/t1longi_2d_bl.nii.gz",
                         "ct/elastix_lung/3DCT_lung_baseline_small.mha", "brain/lapirn/image_A_160x192x144_seg.nii.gz"] {
            #expect(Self.files.contains(required), "fixture lacks \(required)")
        }
    }

    @Test(arguments: files)
    func opensWithReferenceGeometryAndVoxels(relative: String) throws {
        let ref = try #require(Fixtures.sharedData[relative])
        let loaded = try ImageFile.read(SharedData.path(relative))
        let g = loaded.image.geometry
        #expect(g.dimension == ref.dimension)
        #expect([g.size.x, g.size.y, g.size.z] == ref.size)
        #expect(loaded.image.components == ref.components)
        for a in 0..<ref.dimension {
            #expect(abs(g.spacing[a] - ref.spacing[a]) <= 1e-6 * ref.spacing[a], "spacing[\(a)]")
            #expect(abs(g.origin[a] - ref.origin[a]) <= 1e-4, "origin[\(a)]")
            for b in 0..<ref.dimension {
                #expect(abs(g.direction[a, b] - ref.direction[3 * a + b]) <= 1e-5, "direction[\(a), \(b)]")
            }
        }
        let (sum, weighted) = checksums(loaded.image)
        #expect(abs(sum - ref.sum) <= 1e-9 * max(1, abs(ref.sum)), "voxel sum")
        #expect(abs(weighted - ref.weighted_sum) <= 1e-9 * max(1, abs(ref.weighted_sum)), "weighted voxel sum")
    }

    @Test func orientationsOfKnownFiles() throws {
        #expect(try ImageFile.read(SharedData.path("brain/c2fvit/image_A.nii.gz")).image.geometry.orientationCode == "LIA")
        #expect(try ImageFile.read(SharedData.path("atlas/antspy/mni.nii.gz")).image.geometry.orientationCode == "LAS")
        #expect(try ImageFile.read(SharedData.path("atlas/antspy/ch2.nii.gz")).image.geometry.orientationCode == "RAS")
    }

    /// Seg A has its own header; through both headers it must land on image A exactly as
    /// SimpleITK (checked against scipy by the fixture script) puts it.
    @Test func lapirnSegResampledThroughBothHeadersMatchesSimpleITK() throws {
        let imageA = try ImageFile.read(SharedData.path("brain/lapirn/image_A_160x192x144.nii.gz")).image
        let seg = try ImageFile.read(SharedData.path("brain/lapirn/image_A_160x192x144_seg.nii.gz")).image
        #expect(!seg.geometry.sameGrid(as: imageA.geometry))
        let expected = try ImageFile.read(Fixtures.folder + "/lapirn_segA_on_imageA.nii.gz").image.labelImage()
        let ours = try Resampler.resample(seg.labelImage(), onto: imageA.geometry, interpolation: .nearest)
        #expect(ours.geometry.sameGrid(as: expected.geometry))
        let mismatches = zip(ours.voxels, expected.voxels).filter { $0 != $1 }.count
        #expect(mismatches == 0)
        // Taken voxel by voxel (ignoring the header) the labels would differ in many places.
        let naive = seg.labelImage().voxels
        #expect(zip(naive, expected.voxels).filter { $0 != $1 }.count > 10_000)
    }
}
