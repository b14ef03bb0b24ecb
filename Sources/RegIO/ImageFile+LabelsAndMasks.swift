import RegCore

extension ImageFile {
    /// Reads a label image: whole numbers as `Int32`. A floating-point file whose voxels are not
    /// all whole numbers is refused, naming the first such voxel, rather than rounded into labels
    /// that were never drawn.
    ///
    /// ```swift
    /// let seg = try ImageFile.readLabels("atlas_seg.nii.gz")
    /// ```
    public static func readLabels(_ path: String) throws -> Image<Int32> {
        let image = try read(path).image
        try checkLabels(image, path: path)
        return image.labelImage()
    }

    /// Reads a mask (1 where a voxel is non-zero) that must lie on `grid` and select a voxel;
    /// `role` names what the grid is (`"the warp"`) in the error.
    ///
    /// ```swift
    /// let brain = try ImageFile.readMask("brain.nii.gz", on: field.geometry, role: "the warp")
    /// ```
    public static func readMask(_ path: String, on grid: Geometry, role: String) throws -> Image<UInt8> {
        let mask = try read(path).image.mask
        guard mask.geometry.sameGrid(as: grid) else {
            throw RegError.geometryMismatch("\(path): the mask's grid (\(mask.geometry.brief)) is not \(role)'s (\(grid.brief))")
        }
        guard mask.voxels.contains(where: { $0 != 0 }) else {
            throw RegError.invalidArgument(name: path, reason: "the mask selects no voxel (every voxel is 0)")
        }
        return mask
    }

    /// Throws unless every voxel of `image` is a whole number within `Int32` (always so for
    /// integer types).
    public static func checkLabels(_ image: AnyImage, path: String) throws {
        func check<T: VoxelScalar & BinaryFloatingPoint>(_ voxels: VoxelBuffer<T>, size: SIMD3<Int>, components: Int) throws {
            guard let bad = voxels.firstIndex(where: { $0 != $0.rounded() || abs($0) > 2_147_483_647 }) else { return }
            let n = bad / components
            throw RegError.invalidVoxel(path: path, voxel: SIMD3(n % size.x, n / size.x % size.y, n / (size.x * size.y)),
                                        reason: "holds \(voxels[bad]); a label image holds whole numbers (use --interp linear or nearest for intensities)")
        }
        switch image {
        case let .float32(i): try check(i.voxels, size: i.geometry.size, components: i.components)
        case let .float64(i): try check(i.voxels, size: i.geometry.size, components: i.components)
        default: return
        }
    }
}
