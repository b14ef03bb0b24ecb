import Foundation
import RegCore
import RegIO
import RegReport

/// The outputs a batch names for a task, and the summary it reads back from them.
extension BatchTask {
    /// The output options the batch adds to the task's arguments: every output lies under
    /// `DIR/results`, named by the task's id.
    public func outputArguments(in folder: BatchFolder) -> [String] {
        let base = folder.resultsFolder + "/" + id
        switch command {
        case "apply": return ["-o", base + ".nii.gz"]
        case "evaluate": return ["--json", base + "_evaluation.json"]
        default: return ["-o", base]
        }
    }

    /// The options a manifest row may not give, because the batch names the outputs.
    public var outputOptions: [String] {
        command == "evaluate" ? ["--json", "--csv"] : ["-o", "--output"]
    }

    /// The JSON file whose numbers the batch's summary table collects (none for `apply`).
    public func summaryPath(in folder: BatchFolder) -> String? {
        let base = folder.resultsFolder + "/" + id
        switch command {
        case "apply": return nil
        case "evaluate": return base + "_evaluation.json"
        default: return base + "_summary.json"
        }
    }
}

/// The batch's aggregate: one CSV row and one HTML table row per task (id, command, state,
/// seconds, and every number of the task's summary JSON, named by its path, e.g.
/// `jacobianInsideFixed.foldedFraction`), written as `DIR/batch_summary.csv` and
/// `DIR/batch_report.html`.
///
/// ```swift
/// let table = try BatchSummary(BatchFolder("out/batch"))
/// try table.write()
/// ```
public struct BatchSummary: Sendable {
    public let folder: BatchFolder
    public private(set) var columns: [String] = ["id", "command", "state", "wallSeconds", "attempts", "log"]
    public private(set) var rows: [[String]] = []
    public private(set) var counts: [BatchTaskState: Int] = [:]

    public init(_ folder: BatchFolder) throws {
        self.folder = folder
        var measures: [[String: Double]] = []
        var names = Set<String>()
        let states = try folder.states()
        for (task, state, status) in states {
            counts[state, default: 0] += 1
            rows.append([task.id, task.command, state.rawValue, status?.seconds.map { String(format: "%.2f", $0) } ?? "",
                         status.map { String($0.attempt) } ?? "0", state == .failed || state == .vanished ? folder.logPath(task.id) : ""])
            var numbers: [String: Double] = [:]
            if state == .done, let path = task.summaryPath(in: folder), let data = FileManager.default.contents(atPath: path),
               let tree = try? JSONDecoder().decode(NumberTree.self, from: data) {
                Self.collect(tree, prefix: "", depth: 0, into: &numbers)
            }
            names.formUnion(numbers.keys)
            measures.append(numbers)
        }
        let measureNames = names.sorted()
        columns += measureNames
        for i in rows.indices {
            rows[i] += measureNames.map { name in measures[i][name].map { String(format: "%.6g", $0) } ?? "" }
        }
    }

    /// Numbers (not booleans) of nested objects, up to three levels; lists and the plan (its
    /// settings, not results) are left out.
    static func collect(_ value: NumberTree, prefix: String, depth: Int, into numbers: inout [String: Double]) {
        switch value {
        case let .number(n): numbers[prefix] = n
        case let .object(members) where depth < 3:
            for (key, item) in members where !(depth == 0 && key == "plan") { collect(item, prefix: prefix.isEmpty ? key : prefix + "." + key, depth: depth + 1, into: &numbers) }
        default: break
        }
    }

    /// A JSON document reduced to its numbers and the objects that hold them.
    enum NumberTree: Decodable {
        case number(Double), object([String: NumberTree]), other

        init(from decoder: Decoder) throws {
            let value = try decoder.singleValueContainer()
            if (try? value.decode(Bool.self)) != nil { self = .other }
            else if let n = try? value.decode(Double.self) { self = .number(n) }
            else if let members = try? value.decode([String: NumberTree].self) { self = .object(members) }
            else { self = .other }
        }
    }

    public var csvPath: String { folder.path + "/batch_summary.csv" }
    public var htmlPath: String { folder.path + "/batch_report.html" }

    public var csv: String {
        ([columns] + rows).map { $0.map(AtlasSegmentation.csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    public var html: String {
        var page = HTMLReport(title: "Batch \(URL(fileURLWithPath: folder.path).lastPathComponent)")
        page.facts = [("folder", folder.path)] + BatchTaskState.allCases.compactMap { state in
            counts[state].map { (state.rawValue, String($0)) }
        }
        page.tables = [("Tasks", [columns] + rows)]
        return page.html
    }

    public func write() throws {
        try TextFile.write(csv, to: csvPath)
        try TextFile.write(html, to: htmlPath)
    }
}
