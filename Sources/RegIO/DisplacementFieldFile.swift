import RegCore

extension TransformFile {
    /// Reads a displacement field image (LPS mm per voxel, as ANTs and ITK write `*Warp.nii.gz`:
    /// a 5-D NIfTI with intent 1007, or a 2/3-component MetaImage or NRRD).
    ///
    /// ```swift
    /// let u = try TransformFile.readDisplacementField("reg_warp.nii.gz")   // VectorField
    /// ```
    /// - Throws: `RegError.invalidHeader` naming the file when the image is not a vector image
    ///   with one component per spatial dimension; `RegError.invalidVoxel` naming the first voxel
    ///   whose displacement is NaN or infinite.
    public static func readDisplacementField(_ path: String) throws -> VectorField {
        let loaded = try ImageFile.read(path)
        let image = loaded.image.floatImage()
        guard loaded.info.timePoints == 1 else {
            throw RegError.invalidHeader(path: path, field: "dim[4]",
                                         reason: "a series of \(loaded.info.timePoints) time points, not a displacement field (whose vectors lie along dim[5], as ANTs and ITK write them)")
        }
        guard image.components == image.geometry.dimension else {
            throw RegError.invalidHeader(path: path, field: "components",
                                         reason: "a \(image.geometry.dimension)-D displacement field needs \(image.geometry.dimension) components per voxel, found \(image.components)")
        }
        if let bad = image.voxels.firstIndex(where: { !$0.isFinite }) {
            let n = bad / image.components, size = image.geometry.size
            throw RegError.invalidVoxel(path: path, voxel: SIMD3(n % size.x, n / size.x % size.y, n / (size.x * size.y)),
                                        reason: "displacement component \(bad % image.components) is \(image.voxels[bad]); a displacement field must be finite everywhere")
        }
        return try VectorField(image: image)
    }

    /// Writes a displacement field as ANTs does (float32, `dim[5]` = components, intent 1007 in NIfTI).
    /// A `.nii.gz` holds stored deflate blocks, streamed a megabyte at a time: float vectors
    /// compress by only 7–8 % (entropy coding, 5× slower; full deflate, 15× slower and no smaller).
    public static func writeDisplacementField(_ field: VectorField, to path: String) throws {
        try ImageFile.write(AnyImage(field.image), to: path, options: .stored)
    }
}
