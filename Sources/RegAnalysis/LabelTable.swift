import Foundation
import RegCore

/// Names (and colours) of label ids, from a FreeSurfer-style lookup table
/// (`id name r g b a` per line, `#` comments) or a CSV (`id,name[,r,g,b]`, optional header).
///
/// ```swift
/// let table = try LabelTable(parsing: "2 Left-Cerebral-White-Matter 245 245 245 0\n3 Left-Cerebral-Cortex 205 62 78 0",
///                            source: "FreeSurferColorLUT.txt")
/// table.names[2]        // "Left-Cerebral-White-Matter"
/// ```
public struct LabelTable: Sendable, Equatable {
    public var names: [Int: String]
    public var colors: [Int: SIMD3<UInt8>]

    public init(names: [Int: String] = [:], colors: [Int: SIMD3<UInt8>] = [:]) {
        self.names = names
        self.colors = colors
    }

    /// - Throws: `RegError.invalidHeader` naming the source and line of a malformed entry.
    public init(parsing text: String, source: String) throws {
        var names: [Int: String] = [:], colors: [Int: SIMD3<UInt8>] = [:]
        for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let fields = line.contains(",")
                ? line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                : line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = fields.first, !first.isEmpty else { continue }
            guard let id = Int(first) else {
                if n == 0 { continue }   // a CSV header
                throw RegError.invalidHeader(path: source, field: "line \(n + 1)", reason: "expected a label id, found '\(first)'")
            }
            guard fields.count >= 2, !fields[1].isEmpty else {
                throw RegError.invalidHeader(path: source, field: "line \(n + 1)", reason: "label \(id) has no name")
            }
            guard names[id] == nil else {
                throw RegError.invalidHeader(path: source, field: "line \(n + 1)", reason: "label \(id) is listed twice")
            }
            names[id] = fields[1]
            if fields.count >= 5, let r = UInt8(fields[2]), let g = UInt8(fields[3]), let b = UInt8(fields[4]) {
                colors[id] = SIMD3(r, g, b)
            }
        }
        guard !names.isEmpty else { throw RegError.invalidHeader(path: source, field: "contents", reason: "no 'id name' entries") }
        self.names = names
        self.colors = colors
    }

    /// Checks that every id is named.
    /// - Throws: `RegError.invalidArgument` naming the first id missing from the table.
    public func validate(ids: [Int], source: String) throws {
        if let unknown = ids.first(where: { names[$0] == nil }) {
            throw RegError.invalidArgument(name: source, reason: "label \(unknown) is not in the lookup table")
        }
    }
}
