// DenseLevel: one level's images, masks and grid for a dense method (SyN, demons, B-spline).
import Dispatch
import Foundation
import RegCore
import RegKernels
import RegMetrics
import RegOptimize
import RegTransforms

/// One level's images, masks and grid, for a dense method's iteration.
struct DenseLevel {
    /// Its position in the stage's levels, 0 the coarsest.
    let index: Int
    let fixed: Image<Float>, moving: Image<Float>
    let grid: Geometry
    let fixedMask: Image<UInt8>?, movingMask: Image<UInt8>?

    /// The level's smoothed, shrunk images and masks; the grid is the shrunk fixed image's.
    init(_ level: Level, index: Int, fixed: Image<Float>, moving: Image<Float>, fixedMask: Image<UInt8>?, movingMask: Image<UInt8>?) throws {
        self.index = index
        self.fixed = try Pyramid.image(fixed, at: level)
        self.moving = try Pyramid.image(moving, at: level)
        grid = self.fixed.geometry
        self.fixedMask = try fixedMask.map { [grid] in try Pyramid.mask($0, onto: grid) }
        self.movingMask = try movingMask.map { [geometry = self.moving.geometry] in try Pyramid.mask($0, onto: geometry) }
    }

    /// The mask of middle-space voxels that count: each image's mask carried through its side's
    /// mapping onto the level grid (the fixed side's mapping is the identity for one-sided methods).
    func middleMask(fixed fixedMapping: PointMapping = .identity, moving movingMapping: PointMapping) throws -> Image<UInt8>? {
        let carriedFixed = try fixedMask.map { try Resampler.resample($0, onto: grid, mapping: fixedMapping, interpolation: .nearest) }
        guard let movingMask else { return carriedFixed }
        var carried = try Resampler.resample(movingMask, onto: grid, mapping: movingMapping, interpolation: .nearest)
        if let carriedFixed { for i in carried.voxels.indices where carriedFixed.voxels[i] == 0 { carried.voxels[i] = 0 } }
        return carried
    }
}
