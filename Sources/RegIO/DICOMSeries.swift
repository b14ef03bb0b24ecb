import CGDCM
import Foundation
import RegCore
import Synchronization

/// One series found in a folder: what `swiftreg info DIR` lists, and what `DICOMSeries.read` reads.
public struct DICOMSeriesInfo: Sendable, Equatable {
    public var uid: String
    public var modality: String
    public var description: String
    public var transferSyntax: String
    /// The files, sorted along the slice normal (one file for a multi-frame object).
    public var files: [String]
    /// Frames of a multi-frame object, or 1.
    public var frames: Int
    public var size: SIMD3<Int>
    public var spacing: SIMD3<Double>
    public var origin: SIMD3<Double>
    public var direction: Matrix3
    /// What the reader noticed and resolved (uneven spacing, gantry tilt), in words.
    public var notes: [String]
    /// Why the series cannot be read as one volume (missing slices, mixed orientations), if it cannot.
    public var problem: RegError? = nil
    /// From one slice's origin to the next (LPS mm): along the normal, unless the gantry was tilted.
    public var sliceStep: SIMD3<Double> = .zero
}

/// What to do with a series acquired under a gantry tilt (slices shifted in plane as they advance).
public enum GantryTilt: Int, Sendable, CaseIterable {
    /// As ITK: slices stacked along the normal, so the image is sheared against the patient.
    case keep
    /// Resampled (bilinearly, within each slice) onto an orthogonal grid that covers every slice,
    /// each voxel where the patient's anatomy is; float32 voxels.
    case resample
}

/// DICOM series through GDCM (every transfer syntax it decodes). A folder (searched
/// recursively) or one file is read as a volume, as SimpleITK's `ImageSeriesReader` reads it:
/// slices sorted by their position along the normal of `ImageOrientationPatient`, the origin at the
/// first, the spacing between slices from the positions (first to last, over the gaps; a gap of
/// more than 1.5 times the median is a missing slice, an error), `RescaleSlope` and
/// `RescaleIntercept` applied, geometry in LPS. Gantry tilt is kept as ITK keeps it: slices stacked
/// along the normal (the shear is reported in `notes`). A multi-frame object's geometry is GDCM's
/// (per-frame functional groups).
///
/// A folder with several series needs one chosen: `DIR#UID` or `DIR#N` (N from 1, in the order
/// `scan` lists them); the error lists them.
///
/// ```swift
/// for s in try DICOMSeries.scan("study/") { print(s.uid, s.modality, s.size) }
/// let ct = try DICOMSeries.read("study/#2").image       // the second series
/// ```
public enum DICOMSeries {
    private static let tiltChoice = Atomic<Int>(GantryTilt.keep.rawValue)

    /// How tilted series are read (the CLI's `--dicom-tilt`): `.keep` by default, as ITK does.
    public static var gantryTilt: GantryTilt {
        get { GantryTilt(rawValue: tiltChoice.load(ordering: .relaxed)) ?? .keep }
        set { tiltChoice.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// Whether `path` names DICOM: a folder, a `.dcm` file, a `FOLDER#SERIES` selector, or a
    /// file with the `DICM` preamble.
    public static func isDICOM(_ path: String) -> Bool {
        let (base, _) = split(path)
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: base, isDirectory: &isFolder), isFolder.boolValue { return true }
        if base.lowercased().hasSuffix(".dcm") { return true }
        guard let handle = FileHandle(forReadingAtPath: base) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 132)) ?? Data()
        return head.count == 132 && head.suffix(4) == Data("DICM".utf8)
    }

    /// `DIR#SERIES` → (DIR, SERIES).
    static func split(_ path: String) -> (String, String?) {
        guard let hash = path.lastIndex(of: "#"), !FileManager.default.fileExists(atPath: path) else { return (path, nil) }
        return (String(path[..<hash]), String(path[path.index(after: hash)...]))
    }

    /// The image series under `path`, in order of series description then UID.
    public static func scan(_ path: String) throws -> [DICOMSeriesInfo] {
        let (base, _) = split(path)
        let files = try headers(base)
        var groups: [String: [Header]] = [:]
        for header in files where header.rows > 0 && header.columns > 0 {
            groups[header.seriesUID.isEmpty ? "file:" + header.path : header.seriesUID, default: []].append(header)
        }
        guard !groups.isEmpty else {
            throw RegError.invalidHeader(path: base, field: "DICOM", reason: files.isEmpty ? "no DICOM file found" : "\(files.count) DICOM files, none holding an image")
        }
        var series: [DICOMSeriesInfo] = []
        for (uid, members) in groups {
            // A multi-frame object is a series of its own, even beside others of the same UID.
            func whole(_ h: Header) -> Bool { h.frames > 1 || h.position == nil || enhanced.contains(h.sopClass) }
            let multi = members.filter(whole), single = members.filter { !whole($0) }
            for m in multi { series.append(readable(uid, [m]) { try multiFrame(m, uid: uid) }) }
            if !single.isEmpty { series.append(readable(uid, single) { try stack(single, uid: uid, folder: base) }) }
        }
        return series.sorted { ($0.description, $0.uid, $0.files[0]) < ($1.description, $1.uid, $1.files[0]) }
    }

    /// The series `make` describes, or one that carries the reason it cannot be read.
    static func readable(_ uid: String, _ members: [Header], _ make: () throws -> DICOMSeriesInfo) -> DICOMSeriesInfo {
        do {
            return try make()
        } catch {
            let h = members[0]
            let problem = error as? RegError ?? .unreadableFile(path: h.path, reason: "\(error)")
            return DICOMSeriesInfo(uid: uid, modality: h.modality, description: h.description, transferSyntax: h.transferSyntax,
                                   files: members.map(\.path), frames: h.frames, size: SIMD3(h.columns, h.rows, members.count),
                                   spacing: SIMD3(1, 1, 1), origin: .zero, direction: .identity, notes: [], problem: problem)
        }
    }

    /// Reads the one series under `path`, or the one `path`'s `#SERIES` selects; a tilted series as
    /// `tilt` says (default: `gantryTilt`, which the CLI's `--dicom-tilt` sets).
    public static func read(_ path: String, tilt: GantryTilt? = nil) throws -> LoadedImage {
        let (base, selector) = split(path)
        let all = try scan(base)
        let chosen: DICOMSeriesInfo
        if let selector {
            if let n = Int(selector), n >= 1, n <= all.count {
                chosen = all[n - 1]
            } else if let match = all.first(where: { $0.uid == selector }) {
                chosen = match
            } else {
                throw RegError.invalidArgument(name: path, reason: "no series '\(selector)'; the folder holds:\n" + listing(all))
            }
        } else {
            guard all.count == 1 else {
                throw RegError.invalidArgument(name: path, reason: "the folder holds \(all.count) series; choose one as \(base)#N or \(base)#UID:\n" + listing(all))
            }
            chosen = all[0]
        }
        if let problem = chosen.problem { throw problem }
        return try volume(chosen, path: path, tilt: tilt ?? gantryTilt)
    }

    /// One line per series: index, UID, modality, description, size.
    public static func listing(_ series: [DICOMSeriesInfo]) -> String {
        series.enumerated().map { i, s in
            "  \(i + 1). \(s.uid)  \(s.modality)  \"\(s.description)\"  \(s.size.x)×\(s.size.y)×\(s.size.z)" + (s.problem.map { "  (cannot be read: \($0))" } ?? "")
        }.joined(separator: "\n")
    }

    // MARK: headers

    /// What GDCM's scanner found in one file.
    struct Header {
        var path: String
        var seriesUID = "", modality = "", description = "", transferSyntax = ""
        var position: SIMD3<Double>?
        var orientation: [Double] = []
        var pixelSpacing: [Double] = []
        var sopClass = ""
        var rows = 0, columns = 0, frames = 1
        var instance = 0
    }

    static func headers(_ path: String) throws -> [Header] {
        var message = [CChar](repeating: 0, count: 512)
        guard let text = swiftreg_dicom_scan(path, &message, message.count) else {
            throw RegError.unreadableFile(path: path, reason: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { swiftreg_dicom_free(text) }
        func numbers(_ s: String) -> [Double] { s.split(separator: "\\").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) } }
        return String(cString: text).split(separator: "\n").map { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            var h = Header(path: f[0])
            // The tags in the order swiftreg_dicom_scan reports them.
            guard f.count >= 13 else { return h }
            h.seriesUID = f[1]; h.modality = f[2]; h.description = f[3]
            let p = numbers(f[4])
            h.position = p.count == 3 ? SIMD3(p[0], p[1], p[2]) : nil
            h.orientation = numbers(f[5]); h.pixelSpacing = numbers(f[6])
            h.rows = Int(f[7]) ?? 0; h.columns = Int(f[8]) ?? 0; h.frames = max(1, Int(f[9]) ?? 1)
            h.transferSyntax = f[10]; h.sopClass = f[11]; h.instance = Int(f[12]) ?? 0
            return h
        }
    }

    // MARK: geometry

    /// Enhanced multi-frame SOP classes: their geometry lies in per-frame functional groups, which GDCM reads.
    static let enhanced: Set<String> = [
        "1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.5.1.4.1.1.2.2",     // Enhanced CT, Legacy Converted Enhanced CT
        "1.2.840.10008.5.1.4.1.1.4.1", "1.2.840.10008.5.1.4.1.1.4.3", "1.2.840.10008.5.1.4.1.1.4.4",  // Enhanced MR, MR colour, legacy
        "1.2.840.10008.5.1.4.1.1.128.1", "1.2.840.10008.5.1.4.1.1.130",   // Legacy Converted Enhanced PET, Enhanced PET
        "1.2.840.10008.5.1.4.1.1.6.2", "1.2.840.10008.5.1.4.1.1.13.1.1", "1.2.840.10008.5.1.4.1.1.13.1.3",  // Enhanced US volume, XA 3-D, breast tomosynthesis
        "1.2.840.10008.5.1.4.1.1.481.2",                                   // RT Dose (grid frame offsets)
        "1.2.840.10008.5.1.4.1.1.66.4",                                    // Segmentation
    ]

    /// In-plane spacing as ITK 5.4 reads a classic object: `PixelSpacing` (0028,0030) when it holds
    /// two positive values (row spacing first, so y then x), else 1 mm.
    static func pixelSpacing(_ h: Header) -> (x: Double, y: Double) {
        h.pixelSpacing.count == 2 && h.pixelSpacing.allSatisfy({ $0 > 0 }) ? (h.pixelSpacing[1], h.pixelSpacing[0]) : (1, 1)
    }

    /// One file holding a whole image: an enhanced multi-frame object (geometry from GDCM's reading
    /// of the functional groups; frames that step against the normal keep their order with the
    /// third axis reversed), or a classic one (PixelSpacing, position and orientation when given).
    static func multiFrame(_ h: Header, uid: String) throws -> DICOMSeriesInfo {
        let info = try decodeInfo(h.path)
        var spacing = SIMD3(info.spacing.0, info.spacing.1, info.spacing.2)
        var origin = SIMD3(info.origin.0, info.origin.1, info.origin.2)
        var axes = direction(info)
        var notes: [String] = []
        if enhanced.contains(h.sopClass) {
            if spacing.z < 0 {
                spacing.z = -spacing.z
                axes = Matrix3(columns: axes.column(0), axes.column(1), -axes.column(2))
                notes.append("frames step against the slice normal: the third axis points the other way (SimpleITK instead reports the spacing's magnitude, placing the frames in mirror order)")
            }
        } else {
            let (x, y) = pixelSpacing(h)
            spacing = SIMD3(x, y, spacing.z > 0 ? spacing.z : 1)
            origin = h.position ?? .zero
            if h.orientation.count == 6 {
                let row = SIMD3(h.orientation[0], h.orientation[1], h.orientation[2]), column = SIMD3(h.orientation[3], h.orientation[4], h.orientation[5])
                axes = Matrix3(columns: row, column, cross(row, column))
            } else {
                axes = .identity
            }
        }
        return DICOMSeriesInfo(uid: uid, modality: h.modality, description: h.description, transferSyntax: h.transferSyntax,
                               files: [h.path], frames: Int(info.frames),
                               size: SIMD3(Int(info.columns), Int(info.rows), Int(info.frames)),
                               spacing: spacing, origin: origin, direction: axes, notes: notes)
    }

    static func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
    }

    static func direction(_ info: swiftreg_dicom_image) -> Matrix3 {
        let d = info.direction
        return Matrix3(rowMajor: [d.0, d.1, d.2, d.3, d.4, d.5, d.6, d.7, d.8])
    }

    /// Single-frame files of one series stacked along their normal.
    static func stack(_ members: [Header], uid: String, folder: String) throws -> DICOMSeriesInfo {
        let first = members[0]
        guard first.orientation.count == 6 else {
            throw RegError.invalidHeader(path: first.path, field: "ImageOrientationPatient (0020,0037)", reason: "missing or not six numbers")
        }
        for m in members {
            guard m.orientation.count == 6, zip(m.orientation, first.orientation).allSatisfy({ abs($0 - $1) < 1e-4 }) else {
                throw RegError.invalidHeader(path: m.path, field: "ImageOrientationPatient (0020,0037)",
                                             reason: "series \(uid) mixes orientations (\(first.path) has \(first.orientation)); it is not one volume")
            }
            guard m.rows == first.rows, m.columns == first.columns else {
                throw RegError.invalidHeader(path: m.path, field: "Rows/Columns", reason: "series \(uid) mixes image sizes (\(m.columns)×\(m.rows) and \(first.columns)×\(first.rows))")
            }
        }
        let row = SIMD3(first.orientation[0], first.orientation[1], first.orientation[2])
        let column = SIMD3(first.orientation[3], first.orientation[4], first.orientation[5])
        let normal = cross(row, column)
        let sorted = members.sorted { (($0.position! * normal).sum(), $0.instance, $0.path) < (($1.position! * normal).sum(), $1.instance, $1.path) }
        let along = sorted.map { ($0.position! * normal).sum() }
        var notes: [String] = []
        // One slice: GDCM's spacing across it (SpacingBetweenSlices or SliceThickness), as ITK reads it.
        var sliceSpacing = sorted.count == 1 ? max(try decodeInfo(first.path).spacing.2, 0) : 1
        if sliceSpacing <= 0 { sliceSpacing = 1 }
        if sorted.count > 1 {
            let gaps = zip(along.dropFirst(), along).map { $0 - $1 }
            if let same = gaps.firstIndex(where: { $0 < 1e-4 }) {
                throw RegError.invalidHeader(path: sorted[same + 1].path, field: "ImagePositionPatient (0020,0032)",
                                             reason: "at the same position as \(sorted[same].path): series \(uid) holds several volumes (echoes, phases or time points)")
            }
            let median = gaps.sorted()[gaps.count / 2]
            if let gap = gaps.firstIndex(where: { $0 > 1.5 * median }) {
                throw RegError.invalidHeader(path: folder, field: "ImagePositionPatient (0020,0032)",
                                             reason: String(format: "series %@ has a gap of %.3g mm between %@ and %@ (slices are %.3g mm apart elsewhere): missing slices",
                                                            uid, gaps[gap], sorted[gap].path, sorted[gap + 1].path, median))
            }
            // As ITK: the distance between the first and last slices' origins over the gaps (under
            // a gantry tilt this is not the distance along the normal; see `notes`).
            let span = sorted.last!.position! - sorted.first!.position!
            sliceSpacing = (span * span).sum().squareRoot() / Double(sorted.count - 1)
            let mean = (along.last! - along.first!) / Double(sorted.count - 1)
            if gaps.map({ abs($0 - mean) }).max()! > 0.01 * mean {
                notes.append(String(format: "uneven slice spacing: gaps from %.4g to %.4g mm, read as %.4g mm (first to last, as ITK does)",
                                    gaps.min()!, gaps.max()!, mean))
            }
            let offset = sorted.last!.position! - sorted.first!.position!
            let inPlane = offset - normal * (offset * normal).sum()
            let shear = (inPlane * inPlane).sum().squareRoot() / (along.last! - along.first!)
            if shear > 1e-4 {
                notes.append(String(format: "gantry tilt of %.2f°: slices stacked along the normal %.4g mm apart (the distance between their origins, as ITK does), so the image is sheared against the patient (--dicom-tilt resample corrects it)",
                                    atan(shear) * 180 / .pi, sliceSpacing))
            }
        }
        let pixel = pixelSpacing(first)
        let step = sorted.count > 1 ? (sorted.last!.position! - sorted.first!.position!) / Double(sorted.count - 1) : normal * sliceSpacing
        return DICOMSeriesInfo(uid: uid, modality: first.modality, description: first.description, transferSyntax: first.transferSyntax,
                               files: sorted.map(\.path), frames: 1, size: SIMD3(first.columns, first.rows, sorted.count),
                               spacing: SIMD3(pixel.x, pixel.y, sliceSpacing), origin: sorted[0].position!,
                               direction: Matrix3(columns: row, column, normal), notes: notes, sliceStep: step)
    }

    // MARK: pixels

    static func decodeInfo(_ path: String) throws -> swiftreg_dicom_image {
        var info = swiftreg_dicom_image()
        var message = [CChar](repeating: 0, count: 512)
        guard swiftreg_dicom_read(path, &info, nil, 0, &message, message.count) == 0 else {
            throw RegError.unreadableFile(path: path, reason: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return info
    }

    /// The series' voxels: each file decoded by GDCM into its slab of the volume, then rescaled.
    static func volume(_ s: DICOMSeriesInfo, path: String, tilt: GantryTilt) throws -> LoadedImage {
        let geometry: Geometry
        do {
            // A single slice stays a 3-D grid of one slice, as ITK reads it (its plane may be any).
            geometry = try Geometry(size: s.size, spacing: s.spacing, origin: s.origin, direction: s.direction, dimension: 3)
        } catch let error as RegError {
            throw error.attributed(to: s.files[0])
        }
        let first = try decodeInfo(s.files[0])
        let samples = Int(first.samples_per_pixel), bytes = Int(first.bits_allocated) / 8
        guard samples == 1 || samples == 3, [1, 2, 4].contains(bytes), first.bits_allocated % 8 == 0 else {
            throw RegError.unsupportedDatatype(path: s.files[0], field: "SamplesPerPixel/BitsAllocated",
                                               value: "\(samples) samples of \(first.bits_allocated) bits")
        }
        let perFile = s.size.x * s.size.y * s.frames * samples * bytes
        let total = perFile * s.files.count
        guard total <= 1 << 34 else {
            throw RegError.invalidHeader(path: path, field: "Rows/Columns", reason: "\(total) bytes of pixel data: larger than SwiftReg reads")
        }
        var raw = [UInt8](repeating: 0, count: total)
        var scaling: [(Double, Double)] = Array(repeating: (1, 0), count: s.files.count)
        var failure: RegError?
        let lock = NSLock()
        raw.withUnsafeMutableBytes { buffer in
            let base = UnsafeSendable(buffer.baseAddress!)
            parallelFor(count: s.files.count, chunkSize: 1) { range in
                for k in range {
                    var info = swiftreg_dicom_image()
                    var message = [CChar](repeating: 0, count: 512)
                    let status = swiftreg_dicom_read(s.files[k], &info, base.value + k * perFile, UInt64(perFile), &message, message.count)
                    lock.lock()
                    if status != 0 {
                        failure = failure ?? .unreadableFile(path: s.files[k], reason: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                    } else if Int(info.buffer_length) != perFile || info.bits_allocated != first.bits_allocated || info.pixel_representation != first.pixel_representation {
                        failure = failure ?? .invalidHeader(path: s.files[k], field: "BitsAllocated/PixelRepresentation", reason: "differs from the first slice \(s.files[0])")
                    } else {
                        scaling[k] = (info.slope, info.intercept)
                    }
                    lock.unlock()
                }
            }
        }
        if let failure { throw failure }
        var image = try voxels(raw, geometry: geometry, samples: samples, bytes: bytes, signed: first.pixel_representation == 1,
                               scaling: scaling, sliceVoxels: s.size.x * s.size.y * s.frames)
        let normal = s.direction.column(2), along = (s.sliceStep * normal).sum()
        let shear = s.sliceStep - normal * along
        if tilt == .resample, s.files.count > 1, (shear * shear).sum().squareRoot() > 1e-4 * abs(along) {
            image = AnyImage(try untilted(image.floatImage(), step: s.sliceStep))
        }
        var info = ImageFileInfo(path: path, format: .dicom, storedType: "\(first.pixel_representation == 1 ? "int" : "uint")\(8 * bytes)")
        info.faults = s.notes.map { $0.hasPrefix("gantry tilt") && tilt == .resample ? "gantry tilt: resampled onto an orthogonal grid (the tilt is in the slice positions)" : $0 }
        let (slope, intercept) = scaling[0]
        if scaling.contains(where: { $0 != (1, 0) }) { info.scaling = (slope, intercept) }
        return LoadedImage(image: image, info: info)
    }

    /// A tilted stack on an orthogonal grid: the slices keep their planes (so output slice k
    /// samples stored slice k only, bilinearly), spaced by their distance along the normal, and
    /// the grid grows in plane to hold every slice's shifted footprint.
    ///
    /// ```swift
    /// let series = try DICOMSeries.scan("tilted/")[0]
    /// let stack = try DICOMSeries.read("tilted/", tilt: .keep).image.floatImage()
    /// let upright = try DICOMSeries.untilted(stack, step: series.sliceStep)
    /// ```
    public static func untilted(_ stack: Image<Float>, step: SIMD3<Double>) throws -> Image<Float> {
        let g = stack.geometry
        let row = g.direction.column(0), column = g.direction.column(1), normal = g.direction.column(2)
        let along = (step * normal).sum(), shear = step - normal * along
        // The in-plane shift per slice, in voxels of each axis; the whole stack's shift sets the margins.
        let perSlice = SIMD2((shear * row).sum() / g.spacing.x, (shear * column).sum() / g.spacing.y)
        let total = perSlice * Double(g.size.z - 1)
        let low = SIMD2(min(0, total.x).rounded(.down), min(0, total.y).rounded(.down))
        let high = SIMD2(max(0, total.x).rounded(.up), max(0, total.y).rounded(.up))
        let size = SIMD3(g.size.x + Int(high.x - low.x), g.size.y + Int(high.y - low.y), g.size.z)
        let origin = g.origin + row * (low.x * g.spacing.x) + column * (low.y * g.spacing.y)
        // Slices are sorted along the normal, so `along` > 0.
        let grid = try Geometry(size: size, spacing: SIMD3(g.spacing.x, g.spacing.y, along), origin: origin,
                                direction: g.direction, dimension: 3)
        var out = Image<Float>(geometry: grid)
        let (nx, ny) = (g.size.x, g.size.y), (mx, my) = (size.x, size.y)
        stack.voxels.withUnsafeBufferPointer { source in
            out.voxels.withUnsafeMutableBufferPointer { target in
                let s = UnsafeSendable(source.baseAddress!), t = UnsafeSendable(target.baseAddress!)
                parallelFor(count: size.z, chunkSize: 1) { slabs in
                    for k in slabs {
                        // Stored (i, j) of output (x, y): shifted by the margin and this slice's offset.
                        let shift = low - perSlice * Double(k)
                        // Bilinear within the slice; corners outside it count as 0.
                        func at(_ a: Int, _ b: Int) -> Double {
                            a >= 0 && a < nx && b >= 0 && b < ny ? Double(s.value[(k * ny + b) * nx + a]) : 0
                        }
                        for y in 0..<my {
                            let j = Double(y) + shift.y, j0 = Int(j.rounded(.down)), fy = j - Double(j0)
                            for x in 0..<mx {
                                let i = Double(x) + shift.x, i0 = Int(i.rounded(.down)), fx = i - Double(i0)
                                let sum = (1 - fy) * ((1 - fx) * at(i0, j0) + fx * at(i0 + 1, j0)) + fy * ((1 - fx) * at(i0, j0 + 1) + fx * at(i0 + 1, j0 + 1))
                                t.value[(k * my + y) * mx + x] = Float(sum)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Decoded samples (native byte order, as GDCM gives them) → an image: the stored type when
    /// no slice is rescaled; int16 when every rescale is integral and the values fit; float32 otherwise.
    static func voxels(_ raw: [UInt8], geometry: Geometry, samples: Int, bytes: Int, signed: Bool,
                       scaling: [(Double, Double)], sliceVoxels: Int) throws -> AnyImage {
        switch (bytes, signed) {
        case (1, false): return try typed(raw, UInt8.self, geometry: geometry, samples: samples, scaling: scaling, perSlice: sliceVoxels * samples)
        case (1, true): return try typed(raw, Int8.self, geometry: geometry, samples: samples, scaling: scaling, perSlice: sliceVoxels * samples)
        case (2, false): return try typed(raw, UInt16.self, geometry: geometry, samples: samples, scaling: scaling, perSlice: sliceVoxels * samples)
        case (2, true): return try typed(raw, Int16.self, geometry: geometry, samples: samples, scaling: scaling, perSlice: sliceVoxels * samples)
        case (4, false): return try typed(raw, UInt32.self, geometry: geometry, samples: samples, scaling: scaling, perSlice: sliceVoxels * samples)
        default: return try typed(raw, Int32.self, geometry: geometry, samples: samples, scaling: scaling, perSlice: sliceVoxels * samples)
        }
    }

    static func typed<S: VoxelScalar & FixedWidthInteger>(_ raw: [UInt8], _ type: S.Type, geometry: Geometry, samples: Int,
                                                         scaling: [(Double, Double)], perSlice: Int) throws -> AnyImage {
        let count = raw.count / MemoryLayout<S>.size
        return try raw.withUnsafeBytes { bytes -> AnyImage in
            let stored = bytes.bindMemory(to: S.self)
            if scaling.allSatisfy({ $0 == (1, 0) }) {
                return AnyImage(try Image(geometry: geometry, components: samples, voxels: Array(stored)))
            }
            // The rescaled range, slice by slice (the map is affine, so the ends of the stored range suffice).
            var low = Double.infinity, high = -Double.infinity
            for (k, (slope, intercept)) in scaling.enumerated() {
                var lo = S.max, hi = S.min
                for i in k * perSlice..<(k + 1) * perSlice { lo = min(lo, stored[i]); hi = max(hi, stored[i]) }
                let ends = [Double(lo) * slope + intercept, Double(hi) * slope + intercept]
                low = min(low, ends.min()!); high = max(high, ends.max()!)
            }
            let integral = scaling.allSatisfy { $0.0 == $0.0.rounded() && $0.1 == $0.1.rounded() }
            if integral, low >= Double(Int16.min), high <= Double(Int16.max) {
                var out = [Int16](repeating: 0, count: count)
                for (k, (slope, intercept)) in scaling.enumerated() {
                    for i in k * perSlice..<(k + 1) * perSlice { out[i] = Int16(Double(stored[i]) * slope + intercept) }
                }
                return AnyImage(try Image(geometry: geometry, components: samples, voxels: out))
            }
            var out = [Float](repeating: 0, count: count)
            for (k, (slope, intercept)) in scaling.enumerated() {
                for i in k * perSlice..<(k + 1) * perSlice { out[i] = Float(Double(stored[i]) * slope + intercept) }
            }
            return AnyImage(try Image(geometry: geometry, components: samples, voxels: out))
        }
    }
}
