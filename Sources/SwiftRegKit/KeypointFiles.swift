import Foundation
import RegCore
import RegIO
import RegKeypoints

/// Keypoints and matches as CSV files, LPS mm: points as `x,y,z,label,strength` (a landmark
/// file `register --landmarks` and `LandmarkFile` read), matches as
/// `fixed_x,fixed_y,fixed_z,moving_x,moving_y,moving_z,confidence` plus the two sides as
/// landmark files beside it (`STEM_fixed.csv`, `STEM_moving.csv`, labels `k1`, `k2`, …), so
/// `register --landmarks STEM_fixed.csv STEM_moving.csv` can use them.
///
/// ```swift
/// try KeypointFiles.write(points, to: "points.csv")
/// let sides = try KeypointFiles.write(found.kept, to: "pairs.csv")   // also pairs_fixed.csv, pairs_moving.csv
/// ```
public enum KeypointFiles {
    public static func write(_ points: [Keypoint], to path: String) throws {
        var s = "x,y,z,label,strength\n"
        for (i, k) in points.enumerated() {
            s += "\(number(k.position.x)),\(number(k.position.y)),\(number(k.position.z)),k\(i + 1),\(number(Double(k.strength)))\n"
        }
        try TextFile.write(s, to: path)
    }

    /// Writes the matches and returns the paths of the two landmark files written beside them.
    @discardableResult
    public static func write(_ matches: [KeypointMatch], to path: String) throws -> (fixed: String, moving: String) {
        let sides = sidePaths(of: path)
        var s = "fixed_x,fixed_y,fixed_z,moving_x,moving_y,moving_z,confidence\n"
        for m in matches {
            s += [m.fixed.x, m.fixed.y, m.fixed.z, m.moving.x, m.moving.y, m.moving.z, m.confidence].map(number).joined(separator: ",") + "\n"
        }
        let labels = matches.indices.map { "k\($0 + 1)" }
        try LandmarkFile.write(Landmarks(points: matches.map(\.fixed), labels: labels), to: sides.fixed)
        try LandmarkFile.write(Landmarks(points: matches.map(\.moving), labels: labels), to: sides.moving)
        try TextFile.write(s, to: path)
        return sides
    }

    /// `STEM_fixed.csv` and `STEM_moving.csv` beside a matches file `STEM.csv`.
    public static func sidePaths(of path: String) -> (fixed: String, moving: String) {
        let stem = path.lowercased().hasSuffix(".csv") ? String(path.dropLast(4)) : path
        return (stem + "_fixed.csv", stem + "_moving.csv")
    }

    static func number(_ v: Double) -> String { String(format: "%.10g", v) }
}
