import Testing
import RegCore
import RegTestSupport

@Suite struct ImageCropTests {
    /// Every voxel of the box keeps its value and its physical point, on an oblique, anisotropic
    /// grid with a non-zero origin, for scalar and vector images.
    @Test(arguments: [1, 3])
    func aCropKeepsEveryVoxelWhereItWasInThePatient(components: Int) throws {
        let g = Phantoms.obliqueGeometry()
        let image = Phantoms.randomImage(Float.self, on: g, components: components, seed: 4)
        let low = SIMD3(3, 2, 5), high = SIMD3(17, 11, 9)
        let crop = image.cropped(from: low, to: high)
        #expect(crop.geometry.size == high &- low)
        #expect(crop.geometry.spacing == g.spacing && crop.geometry.direction == g.direction)
        for z in 0..<crop.geometry.size.z { for y in 0..<crop.geometry.size.y { for x in 0..<crop.geometry.size.x {
            let source = SIMD3(x, y, z) &+ low
            let a = crop.geometry.physicalPoint(ofIndex: SIMD3<Double>(SIMD3(x, y, z)))
            let b = g.physicalPoint(ofIndex: SIMD3<Double>(source))
            #expect(Approx.maxDifference(a, b) < 1e-9)
            for c in 0..<components {
                #expect(crop.voxels[components * crop.geometry.offset(x, y, z) + c] == image.voxels[components * g.offset(source.x, source.y, source.z) + c])
            }
        } } }
    }
}
