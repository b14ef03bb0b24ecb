import RegCore
import CZlib
import Foundation

/// The image file formats SwiftReg reads and writes.
public enum ImageFormat: String, Sendable, CaseIterable {
    case nifti = "NIfTI"
    case metaImage = "MetaImage"
    case nrrd = "NRRD"
    case png = "PNG"
    case jpeg = "JPEG"
    case dicom = "DICOM"

    /// File name endings of each format, lower case.
    public var extensions: [String] {
        switch self {
        case .nifti: return [".nii", ".nii.gz"]
        case .metaImage: return [".mha", ".mhd"]
        case .nrrd: return [".nrrd", ".nhdr"]
        case .png: return [".png"]
        case .jpeg: return [".jpg", ".jpeg"]
        case .dicom: return [".dcm"]
        }
    }

    /// Whether SwiftReg can write the format.
    public var isWritable: Bool { self != .jpeg && self != .dicom }
}

/// What a reader found in a file besides the voxels.
public struct ImageFileInfo: Sendable {
    public var path: String
    public var format: ImageFormat
    /// The voxel type as stored on disk (before any intensity scaling), e.g. `"int16"`.
    public var storedType: String
    /// Problems in the header that SwiftReg resolved, in words (e.g. shear dropped, qform and
    /// sform disagreeing). Empty for a clean header.
    public var faults: [String] = []
    /// NIfTI intent code, when the file has one.
    public var intentCode: Int = 0
    /// Time points of a series (NIfTI `dim[4]`), read as the voxel's components; 1 for others.
    public var timePoints: Int = 1
    /// Intensity scaling applied on read (`value = stored · slope + intercept`), when not identity.
    public var scaling: (slope: Double, intercept: Double)?
}

/// An image read from a file, with what the reader found in the header.
public struct LoadedImage: Sendable {
    public var image: AnyImage
    public var info: ImageFileInfo
}

/// Options for writing image files.
public struct ImageWriteOptions: Sendable {
    /// NIfTI version to write (1 or 2). Version 2 is chosen anyway when a size exceeds 32767.
    public var niftiVersion: Int = 1
    /// zlib level (1–9) for `.nii.gz`, compressed `.mha` and gzip NRRD; 0 stores the bytes
    /// uncompressed in the gzip or zlib framing (a `.nii.gz` then streams to its file).
    public var compressionLevel: Int32 = 6
    /// Compress MetaImage and NRRD voxel data (gzip/zlib).
    public var compress: Bool = false
    /// Runs and entropy coding only (zlib's run-length strategy): for float images, whose bytes
    /// seldom repeat except in runs of background, as small as full deflate and 3–5× faster
    /// (the lapirn warped image: 8.81 against 8.83 MB; a Jacobian map 14.91 against 14.95 MB).
    /// Label maps, with repeats at longer distances, shrink far more with full deflate.
    public var runLengthOnly: Bool = false

    public init(niftiVersion: Int = 1, compressionLevel: Int32 = 6, compress: Bool = false, runLengthOnly: Bool = false) {
        self.niftiVersion = niftiVersion
        self.compressionLevel = compressionLevel
        self.compress = compress
        self.runLengthOnly = runLengthOnly
    }

    /// Runs and entropy coding only: for float images (warped images, Jacobian maps).
    ///
    /// ```swift
    /// try ImageFile.write(detJ, to: "jacobian.nii.gz", options: .runLength)
    /// ```
    public static let runLength = ImageWriteOptions(runLengthOnly: true)

    /// Gzip framing around stored (uncompressed) deflate blocks: for float vector fields, whose
    /// bytes entropy coding shrinks by only 7–8 %, at 5× its speed; every gzip reader opens it.
    ///
    /// ```swift
    /// try ImageFile.write(AnyImage(field.image), to: "warp.nii.gz", options: .stored)
    /// ```
    public static let stored = ImageWriteOptions(compressionLevel: 0)

    /// The zlib strategy these options ask for.
    var zlibStrategy: Int32 { runLengthOnly ? Z_RLE : Z_DEFAULT_STRATEGY }
}

/// Reads and writes images in any supported format, chosen by the file's extension.
///
/// ```swift
/// let loaded = try ImageFile.read("brain.nii.gz")
/// print(loaded.image.geometry.orientationCode, loaded.info.faults)
/// try ImageFile.write(loaded.image, to: "brain.mha")
/// ```
public enum ImageFile {
    /// Every extension SwiftReg understands.
    public static var supportedExtensions: [String] { ImageFormat.allCases.flatMap(\.extensions) }

    /// The format named by the extension of `path`.
    /// - Throws: `RegError.unsupportedFormat`, listing the supported extensions.
    public static func format(of path: String) throws -> ImageFormat {
        let lower = path.lowercased()
        for f in ImageFormat.allCases where f.extensions.contains(where: { lower.hasSuffix($0) }) { return f }
        if DICOMSeries.isDICOM(path) { return .dicom }
        throw RegError.unsupportedFormat(path: path, supported: supportedExtensions)
    }

    /// Reads an image.
    /// - Throws: `RegError` naming the file and the field at fault.
    public static func read(_ path: String) throws -> LoadedImage {
        let format = try format(of: path)
        do {
            switch format {
            case .nifti: return try NIfTI.read(path)
            case .metaImage: return try MetaImage.read(path)
            case .nrrd: return try NRRD.read(path)
            case .png: return try PNGFile.read(path)
            case .jpeg: return try JPEGFile.read(path)
            case .dicom: return try DICOMSeries.read(path)
            }
        } catch let error as RegError {
            throw error.attributed(to: path)
        }
    }

    /// The grid and components per voxel of an image file, from the NIfTI header alone (other
    /// formats are read whole), for checks that need no voxels.
    ///
    /// ```swift
    /// let (grid, components) = try ImageFile.layout(of: "atlas.nii.gz")
    /// ```
    /// - Throws: `RegError` naming the file and the field at fault.
    public static func layout(of path: String) throws -> (geometry: Geometry, components: Int) {
        guard try format(of: path) == .nifti else {
            let image = try read(path).image
            return (image.geometry, image.components)
        }
        do {
            return try NIfTI.readLayout(path)
        } catch let error as RegError {
            throw error.attributed(to: path)
        }
    }

    /// Writes an image, to a temporary name first, renamed when complete.
    public static func write(_ image: AnyImage, to path: String, options: ImageWriteOptions = .init()) throws {
        let format = try format(of: path)
        switch format {
        case .nifti: try NIfTI.write(image, to: path, options: options)
        case .metaImage: try MetaImage.write(image, to: path, options: options)
        case .nrrd: try NRRD.write(image, to: path, options: options)
        case .png: try PNGFile.write(image, to: path)
        case .jpeg: throw RegError.unwritableFile(path: path, reason: "JPEG is read-only in SwiftReg (lossy); write .png instead")
        case .dicom: throw RegError.unwritableFile(path: path, reason: "DICOM is read-only in SwiftReg; write .nii.gz, .nrrd or .mha instead")
        }
    }

    /// Writes `count` Float volumes on `geometry` as one 4-D NIfTI series, volume `k` made by
    /// `volume(k, buffer)` (which sets every voxel's value) only when it is written, so a series
    /// larger than memory can be written.
    ///
    /// ```swift
    /// try ImageFile.writeSeries(geometry: g, count: labels.count, to: "posteriors.nii.gz") { k, buffer in
    ///     fused.posterior(ofLabelAt: k, into: buffer)
    /// }
    /// ```
    public static func writeSeries(geometry: Geometry, count: Int, to path: String, options: ImageWriteOptions = .init(),
                                   volume: (Int, UnsafeMutablePointer<Float>) -> Void) throws {
        guard try format(of: path) == .nifti else {
            throw RegError.unwritableFile(path: path, reason: "a series of volumes is written as NIfTI (.nii or .nii.gz)")
        }
        guard count >= 1 else { throw RegError.unwritableFile(path: path, reason: "a series needs at least one volume") }
        try NIfTI.writeSeries(geometry: geometry, count: count, to: path, options: options, volume: volume)
    }

    /// Writes a typed image.
    public static func write<T: VoxelScalar>(_ image: Image<T>, to path: String, options: ImageWriteOptions = .init()) throws {
        try write(AnyImage(image), to: path, options: options)
    }
}
