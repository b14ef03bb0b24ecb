import Foundation
import Testing
import RegCore
import RegIO
import RegTestSupport

/// DICOM through GDCM: committed tiny series (made by pydicom, read by SimpleITK for the reference:
/// `Fixtures/make_dicom_fixtures.py`), broken series that must give clear errors, and — where
/// `scripts/fetch-data.sh` has fetched them and Python has SimpleITK — every sample of PyPI pydicom
/// and pydicom-data against SimpleITK's reading.
@Suite struct DICOMSeriesTests {
    static let folder = Fixtures.folder + "/dicom/"

    struct Reference: Decodable {
        let size: [Int]; let spacing: [Double]; let origin: [Double]; let direction: [Double]
        let sum: Double; let weighted_sum: Double; let first: Double; let last: Double
    }

    static let reference: [String: Reference] = {
        let data = FileManager.default.contents(atPath: Fixtures.folder + "/dicom_reference.json") ?? Data()
        return (try? JSONDecoder().decode([String: Reference].self, from: data)) ?? [:]
    }()

    /// Oblique, uneven, tilted and RLE-compressed series read as SimpleITK reads them: grid within
    /// 1e-4, rescaled voxels identical (their sum, an index-weighted sum, the first and last).
    @Test(arguments: ["oblique", "uneven", "tilt", "rle"])
    func fixtureSeriesMatchSimpleITK(name: String) throws {
        let expected = try #require(Self.reference[name])
        let loaded = try ImageFile.read(Self.folder + name)
        let image = loaded.image, g = image.geometry
        #expect(loaded.info.format == .dicom)
        #expect([g.size.x, g.size.y, g.size.z] == expected.size)
        for a in 0..<3 {
            #expect(abs(g.spacing[a] - expected.spacing[a]) < 1e-4, "\(name): spacing \(g.spacing)")
            #expect(abs(g.origin[a] - expected.origin[a]) < 1e-4, "\(name): origin \(g.origin)")
        }
        #expect(g.direction.maxAbsDifference(Matrix3(rowMajor: expected.direction)) < 1e-4, "\(name): direction \(g.direction)")
        let v = image.converted(to: Double.self).voxels
        #expect(v.reduce(0, +) == expected.sum)
        let weighted = v.enumerated().reduce(0.0) { total, pair in
            let r = fmod(pair.element * Double(pair.offset), 9973)
            return total + (r < 0 ? r + 9973 : r)
        }
        #expect(abs(weighted - expected.weighted_sum) < 1e-6 * max(1, abs(expected.weighted_sum)))
        #expect(v.first == expected.first && v.last == expected.last)
        #expect(image.voxelType == .int16, "slope 2 and intercept −1000 are integral: int16")
        if name == "uneven" { #expect(loaded.info.faults.contains { $0.contains("uneven slice spacing") }) }
        if name == "tilt" { #expect(loaded.info.faults.contains { $0.contains("gantry tilt of 15.00°") }) }
        if name == "oblique" { #expect(loaded.info.faults.isEmpty) }
    }

    /// A missing slice, mixed orientations, a damaged compressed frame, a folder without DICOM and a
    /// selector that names no series: errors that name the file or folder and what is wrong.
    @Test func brokenSeriesGiveClearErrors() throws {
        func message(_ path: String) -> String {
            do { _ = try ImageFile.read(path); return "no error" } catch { return "\(error)" }
        }
        let gap = message(Self.folder + "gap")
        #expect(gap.contains("missing slices") && gap.contains("slice02.dcm") && gap.contains("slice03.dcm") && gap.contains("gap of 6 mm"), "\(gap)")
        let mixed = message(Self.folder + "mixed")
        #expect(mixed.contains("mixes orientations") && mixed.contains("slice03.dcm"), "\(mixed)")
        let corrupt = message(Self.folder + "rle_corrupt")
        #expect(corrupt.contains("rle_corrupt/slice02.dcm") && corrupt.contains("could not decode"), "\(corrupt)")
        let empty = TemporaryFolder()
        try Data("not dicom".utf8).write(to: URL(fileURLWithPath: empty.file("notes.txt")))
        #expect(message(empty.path).contains("no DICOM file found"))
        let wrong = message(Self.folder + "oblique#7")
        #expect(wrong.contains("no series '7'") && wrong.contains("oblique"), "\(wrong)")
        #expect(throws: RegError.self) { try ImageFile.write(AnyImage(Image<UInt8>(geometry: try Geometry(size: SIMD3(2, 2, 2)))), to: empty.file("x.dcm")) }
    }

    /// A folder holding several series lists them and reads one when it is chosen by number or UID.
    @Test func severalSeriesAreChosenByNumberOrUID() throws {
        let both = TemporaryFolder()
        for name in ["oblique", "rle"] {
            try FileManager.default.copyItem(atPath: Self.folder + name, toPath: both.file(name))
        }
        let series = try DICOMSeries.scan(both.path)
        #expect(series.count == 2)
        do {
            _ = try ImageFile.read(both.path)
            Issue.record("a folder of two series was read without a choice")
        } catch {
            #expect("\(error)".contains("2 series") && "\(error)".contains(series[1].uid))
        }
        let byNumber = try ImageFile.read(both.path + "#2").image, byUID = try ImageFile.read(both.path + "#" + series[1].uid).image
        #expect(byNumber == byUID && byNumber.geometry.size == series[1].size)
    }

    static let samples = SharedData.packageRoot + "/data/dicom"
    static let liveAvailable = FileManager.default.fileExists(atPath: samples + "/pydicom/CT_small.dcm")
        && (try? PythonOracle.run("import SimpleITK", arguments: [])) != nil

    /// Files SimpleITK reads that SwiftReg reads differently, on purpose.
    static let knownDifferences: [String: String] = [
        "eCT_Supplemental.dcm": "frames stepping against the normal: SimpleITK reports |spacing| and mirrors them; we reverse the third axis",
        "J2K_pixelrep_mismatch.dcm": "the JPEG 2000 stream's signedness contradicts PixelRepresentation; GDCM versions resolve it differently",
        "SC_ybr_full_422_uncompressed.dcm": "uncompressed chroma-subsampled colour: refused",
    ]

    /// Every sample of pydicom and pydicom-data that SimpleITK reads: the same grid (within 1e-4)
    /// and the same voxels (identical; float output within 1e-6 of the value).
    @Test(.enabled(if: liveAvailable, "DICOM samples not fetched (scripts/fetch-data.sh) or python3 without SimpleITK"))
    func pydicomSamplesMatchSimpleITK() throws {
        let tmp = TemporaryFolder()
        let files = try ["pydicom", "pydicom-data"].flatMap { sub in
            try FileManager.default.contentsOfDirectory(atPath: Self.samples + "/" + sub).filter { $0.hasSuffix(".dcm") }.map { Self.samples + "/" + sub + "/" + $0 }
        }.sorted()
        let listing = try PythonOracle.run("""
        import sys, os, SimpleITK as sitk
        sitk.ProcessObject.SetGlobalWarningDisplay(False)
        out = sys.argv[1]
        for i, f in enumerate(sys.argv[2:]):
            try:
                image = sitk.ReadImage(f)
            except Exception:
                continue
            sitk.WriteImage(image, os.path.join(out, f"{i}.nrrd"))
            print(i, f)
        """, arguments: [tmp.path] + files)
        var compared = 0
        for line in listing.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2, let index = Int(parts[0]) else { continue }
            let name = (parts[1] as NSString).lastPathComponent
            if Self.knownDifferences[name] != nil { continue }
            let theirs = try ImageFile.read(tmp.file("\(index).nrrd")).image
            let ours: AnyImage
            do { ours = try ImageFile.read(parts[1]).image } catch {
                Issue.record("\(name): SimpleITK reads it, we do not: \(error)"); continue
            }
            let a = ours.geometry, b = theirs.geometry
            #expect(a.size.x == b.size.x && a.size.y == b.size.y && a.size.z == b.size.z && ours.components == theirs.components, "\(name): size")
            let n = b.dimension
            for i in 0..<n {
                #expect(abs(a.spacing[i] - b.spacing[i]) < 1e-4 && abs(a.origin[i] - b.origin[i]) < 1e-4, "\(name): spacing \(a.spacing) vs \(b.spacing), origin \(a.origin) vs \(b.origin)")
                for j in 0..<n { #expect(abs(a.direction[i, j] - b.direction[i, j]) < 1e-4, "\(name): direction") }
            }
            let x = ours.converted(to: Double.self).voxels, y = theirs.converted(to: Double.self).voxels
            guard x.count == y.count else { continue }
            let worst = zip(x, y).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            #expect(worst < 1e-6, "\(name): voxels differ by \(worst) (relative)")
            compared += 1
        }
        #expect(compared >= 60, "only \(compared) samples compared")
    }
}

extension DICOMSeriesTests {
    /// `--dicom-tilt resample`: the tilted fixture on an orthogonal grid with slices 3 mm apart
    /// along the normal; each slice keeps its mass and its physical centre of mass, which is where
    /// the stored slice lies in the patient (at the origin DICOM gives that slice). Values are
    /// offset by 3000 to make them positive weights; the offset is carried by resampling a slice of ones.
    @Test func tiltedSeriesResampledKeepsEachSliceWhereThePatientIs() throws {
        let series = try #require(try DICOMSeries.scan(Self.folder + "tilt").first)
        let kept = try DICOMSeries.read(Self.folder + "tilt", tilt: .keep).image.floatImage()
        let fixed = try DICOMSeries.read(Self.folder + "tilt", tilt: .resample)
        let image = fixed.image.floatImage(), g = image.geometry
        #expect(abs(g.spacing.z - 3) < 1e-4 && g.size.z == 5 && g.size.x > kept.geometry.size.x)
        #expect(fixed.info.faults.contains { $0.contains("resampled") })
        let coverage = try DICOMSeries.untilted(Image<Float>(geometry: kept.geometry, filledWith: 1), step: series.sliceStep)
        let k0 = kept.geometry
        for k in 0..<5 {
            var storedMass = 0.0, storedCentre = SIMD3<Double>.zero
            for y in 0..<k0.size.y {
                for x in 0..<k0.size.x {
                    let v = Double(kept[x, y, k]) + 3000
                    let p = k0.origin + k0.direction * (SIMD3(Double(x), Double(y), 0) * k0.spacing) + series.sliceStep * Double(k)
                    storedMass += v; storedCentre += v * p
                }
            }
            var mass = 0.0, centre = SIMD3<Double>.zero
            for y in 0..<g.size.y {
                for x in 0..<g.size.x {
                    let v = Double(image[x, y, k]) + 3000 * Double(coverage[x, y, k])
                    mass += v; centre += v * g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(k)))
                }
            }
            #expect(abs(mass - storedMass) < 1e-4 * storedMass, "slice \(k): mass \(mass) vs \(storedMass)")
            #expect(Approx.maxDifference(centre / mass, storedCentre / storedMass) < 0.01, "slice \(k): centre \(centre / mass) vs \(storedCentre / storedMass)")
        }
    }
}
