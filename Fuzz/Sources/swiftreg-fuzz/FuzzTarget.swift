import Foundation
import RegCore
import RegIO
import SwiftRegKit

/// One reader under the fuzzer: the bytes libFuzzer makes are written to a file with the
/// reader's extension (the readers take paths, as users' files reach them) and read back. A
/// thrown error is a good outcome; a trap, a hang or a large allocation is a finding.
struct FuzzTarget: Sendable {
    let name: String
    /// The file name the bytes are written to (its extension chooses the reader).
    let fileName: String
    let read: @Sendable (String) throws -> Void

    static let all: [FuzzTarget] = [
        FuzzTarget(name: "nifti", fileName: "input.nii") { _ = try ImageFile.read($0) },
        FuzzTarget(name: "nifti-gz", fileName: "input.nii.gz") { _ = try ImageFile.read($0) },
        FuzzTarget(name: "metaimage", fileName: "input.mha") { _ = try ImageFile.read($0) },
        FuzzTarget(name: "nrrd", fileName: "input.nrrd") { _ = try ImageFile.read($0) },
        FuzzTarget(name: "png", fileName: "input.png") { _ = try ImageFile.read($0) },
        FuzzTarget(name: "jpeg", fileName: "input.jpg") { _ = try ImageFile.read($0) },
        FuzzTarget(name: "itk-transform", fileName: "input.txt") { _ = try TransformFile.read($0) },
        FuzzTarget(name: "matlab-transform", fileName: "input.mat") { _ = try TransformFile.read($0) },
        FuzzTarget(name: "displacement-field", fileName: "input.nii.gz") { _ = try TransformFile.readDisplacementField($0) },
        FuzzTarget(name: "landmarks-csv", fileName: "input.csv") { _ = try LandmarkFile.read($0) },
        FuzzTarget(name: "landmarks-fcsv", fileName: "input.fcsv") { _ = try LandmarkFile.read($0) },
        FuzzTarget(name: "landmarks-elastix", fileName: "input.txt") { _ = try LandmarkFile.read($0) },
        FuzzTarget(name: "landmarks-slicer-json", fileName: "input.mrk.json") { _ = try LandmarkFile.read($0) },
        FuzzTarget(name: "elastix-transform", fileName: "TransformParameters.0.txt") { _ = try ElastixParameterFile.read($0) },
        FuzzTarget(name: "plan", fileName: "input.yaml") { _ = try PlanFile.read($0) },
    ]

    static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}
