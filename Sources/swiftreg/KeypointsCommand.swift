import ArgumentParser
import Foundation
import RegCore
import RegIO
import RegKeypoints
import SwiftRegKit

struct KeypointsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keypoints",
        abstract: "Distinctive points of an image (Förstner corners), and with --match their places in another image.",
        discussion: """
        Without --match, writes the points (x,y,z in LPS mm, a label and the Förstner strength), \
        strongest first, spread over the mask. With --match MOVING, finds each point in MOVING by \
        its MIND-SSC descriptor (contrast-independent) within --search-radius mm, keeps matches \
        that lead back to the point when searched the other way, filters them (--filter smooth: \
        each displacement near its neighbours' median; rigid or affine: RANSAC; none), and writes \
        the pairs with a confidence, plus OUT_fixed.csv and OUT_moving.csv for register --landmarks.
        Examples:
          swiftreg keypoints fixed.nii.gz -o points.csv --mask brain.nii.gz --count 1000
          swiftreg keypoints fixed.nii.gz --match moving.nii.gz -o pairs.csv --filter affine
          swiftreg register fixed.nii.gz moving.nii.gz --landmarks pairs_fixed.csv pairs_moving.csv -o reg/
        """)

    @OptionGroup var common: CommonOptions
    @Argument(help: "The image to find points in (the fixed image with --match).") var image: String
    @Option(name: .shortAndLong, help: "Output CSV: the points, or with --match the matched pairs.") var output: String
    @Option(help: "Mask (non-zero voxels) on the image's grid: points only inside.") var mask: String?
    @Option(help: "How many points at most.") var count: Int = 2000
    @Option(help: "Find the points in this (moving) image.") var match: String?
    @Option(name: .customLong("search-radius"), help: "How far a match may lie from the point, mm.") var searchRadius: Double = 15
    @Option(help: "Filter of matches: smooth, rigid, affine or none.") var filter: String = "smooth"
    @Option(help: "How far a kept match may lie from the filter's model, mm (default: twice the coarsest spacing, at least 2).")
    var tolerance: Double?
    @Option(name: .customLong("working-spacing"), help: "Axes coarser than this (mm) are resampled finer by a whole factor first.")
    var workingSpacing: Double = 1
    @Option(name: .customLong("patch-step"), help: "Voxels (of the working grid) between the descriptor patch's 3 samples per axis.")
    var patchStep: Int = 3

    func run() throws {
        try common.apply()
        guard let chosenFilter = KeypointCorrespondence.Filter(rawValue: filter) else {
            throw ValidationError("--filter takes \(KeypointCorrespondence.Filter.allCases.map(\.rawValue).joined(separator: ", ")); found '\(filter)'")
        }
        guard count >= 1 else { throw ValidationError("--count must be at least 1; found \(count)") }
        guard searchRadius > 0 else { throw ValidationError("--search-radius must be positive; found \(searchRadius)") }
        guard workingSpacing > 0 else { throw ValidationError("--working-spacing must be positive; found \(workingSpacing)") }
        guard patchStep >= 1 else { throw ValidationError("--patch-step must be at least 1; found \(patchStep)") }
        let sides = KeypointFiles.sidePaths(of: output)
        let inputs = [image, match, mask].compactMap { $0 }
        try OutputFolder.check(outputs: match == nil ? [output] : [output, sides.fixed, sides.moving], inputs: inputs)
        let fixed = try ImageFile.read(image).image.floatImage()
        let maskImage = try mask.map { try ImageFile.readMask($0, on: fixed.geometry, role: image) }
        let detector = ForstnerDetector(count: count)
        guard let match else {
            let points = try detector.detect(in: fixed, mask: maskImage)
            try KeypointFiles.write(points, to: output)
            print("\(points.count) keypoints written to \(output)")
            return
        }
        let moving = try ImageFile.read(match).image.floatImage()
        let finder = KeypointCorrespondence(detector: detector, matcher: KeypointMatcher(searchRadius: searchRadius, patchStep: patchStep),
                                            filter: chosenFilter, tolerance: tolerance, workingSpacing: workingSpacing)
        let found = try finder.find(fixed: fixed, moving: moving, fixedMask: maskImage)
        try KeypointFiles.write(found.kept, to: output)
        print("\(found.detected.count) keypoints, \(found.matched.count) matched both ways, \(found.kept.count) kept by the \(filter) filter: \(output), \(sides.fixed), \(sides.moving)")
    }
}
