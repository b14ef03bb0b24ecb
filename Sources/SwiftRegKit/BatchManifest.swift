import Foundation
import RegCore
import RegIO
import Yams

/// One job of a batch: a `swiftreg` command and its arguments, as a manifest row gives them.
public struct BatchTask: Codable, Equatable, Sendable {
    /// Unique within the manifest; names the task's outputs (`DIR/results/ID…`), log and status.
    public var id: String
    /// `register`, `apply`, `segment`, `longitudinal` or `evaluate`.
    public var command: String
    /// The command's arguments, without the output (the batch names it).
    public var arguments: [String]
    /// The manifest line the task comes from (1-based), for error messages.
    public var line: Int
}

/// A manifest of jobs for `swiftreg batch`: a CSV with a header naming `command` and `arguments`
/// (and optionally `id`), or a YAML file with a `tasks:` list of `{id, command, arguments}` maps.
/// Arguments are written as on a command line (quotes group words) or, in YAML, as a list.
/// Relative paths in the arguments are relative to the manifest's folder. Blank lines and lines
/// starting with `#` are skipped.
///
/// ```swift
/// // manifest.csv:
/// // id,command,arguments
/// // sub01,register,-f template.nii.gz -m sub01.nii.gz --preset syn
/// let manifest = try BatchManifest.read("manifest.csv")
/// print(manifest.tasks[0].arguments)   // ["-f", "template.nii.gz", "-m", "sub01.nii.gz", "--preset", "syn"]
/// ```
public struct BatchManifest: Equatable, Sendable {
    /// The manifest file, as an absolute path.
    public var path: String
    public var tasks: [BatchTask]
    /// FNV-1a of the manifest's bytes: a batch folder belongs to one manifest.
    public var fingerprint: String

    /// The folder relative paths in the arguments start from.
    public var folder: String { URL(fileURLWithPath: path).deletingLastPathComponent().path }

    /// The commands a manifest row may run.
    public static let commands = ["register", "apply", "segment", "longitudinal", "evaluate"]

    public init(path: String, tasks: [BatchTask], fingerprint: String) {
        self.path = path
        self.tasks = tasks
        self.fingerprint = fingerprint
    }

    /// Reads and checks a manifest: every row has a known command, a unique id of letters,
    /// digits, `.`, `_` or `-`, and arguments that split; an error names the file and line.
    public static func read(_ path: String) throws -> BatchManifest {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let bytes = try BinaryFile.read(absolute)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw RegError.unreadableFile(path: path, reason: "not UTF-8 text") }
        let lower = absolute.lowercased()
        let tasks = lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") ? try parseYAML(text, path: path) : try parseCSV(text, path: path)
        guard !tasks.isEmpty else { throw RegError.invalidHeader(path: path, field: "tasks", reason: "the manifest lists no task") }
        var seen: [String: Int] = [:]
        for task in tasks {
            guard commands.contains(task.command) else {
                throw RegError.invalidHeader(path: path, field: "line \(task.line)",
                                             reason: "unknown command '\(task.command)'; a batch runs \(commands.joined(separator: ", "))")
            }
            guard !task.id.isEmpty, task.id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }), !task.id.hasPrefix(".") else {
                throw RegError.invalidHeader(path: path, field: "line \(task.line)", reason: "id '\(task.id)' must be letters, digits, '.', '_' or '-'")
            }
            if let first = seen[task.id] {
                throw RegError.invalidHeader(path: path, field: "line \(task.line)", reason: "id '\(task.id)' is also the id of line \(first)")
            }
            seen[task.id] = task.line
        }
        return BatchManifest(path: absolute, tasks: tasks, fingerprint: fnv1a(bytes))
    }

    static func parseCSV(_ text: String, path: String) throws -> [BatchTask] {
        var header: [String]?
        var tasks: [BatchTask] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = try csvFields(line, path: path, line: index + 1)
            guard let columns = header else {
                header = fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                guard header!.contains("command"), header!.contains("arguments") else {
                    throw RegError.invalidHeader(path: path, field: "line \(index + 1)", reason: "the header must name the columns command and arguments (and optionally id)")
                }
                continue
            }
            guard fields.count <= columns.count else {
                throw RegError.invalidHeader(path: path, field: "line \(index + 1)", reason: "\(fields.count) fields, the header has \(columns.count) (quote arguments that hold a comma)")
            }
            var row: [String: String] = [:]
            for (name, value) in zip(columns, fields) { row[name] = value.trimmingCharacters(in: .whitespaces) }
            let arguments = try shellWords(row["arguments"] ?? "", path: path, line: index + 1)
            tasks.append(BatchTask(id: row["id"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultID(tasks.count),
                                   command: row["command"] ?? "", arguments: arguments, line: index + 1))
        }
        return tasks
    }

    static func parseYAML(_ text: String, path: String) throws -> [BatchTask] {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw RegError.invalidHeader(path: path, field: "YAML", reason: "\(error)")
        }
        guard let list = root?.mapping?["tasks"]?.sequence ?? root?.sequence else {
            throw RegError.invalidHeader(path: path, field: "tasks", reason: "expected a list of tasks (under 'tasks:')")
        }
        return try list.enumerated().map { index, node in
            let line = (node.mark?.line ?? 0)
            guard let map = node.mapping else { throw RegError.invalidHeader(path: path, field: "line \(line)", reason: "a task must be a map with command and arguments") }
            let arguments: [String]
            if let words = map["arguments"]?.sequence {
                arguments = words.compactMap(\.string)
            } else {
                arguments = try shellWords(map["arguments"]?.string ?? "", path: path, line: line)
            }
            return BatchTask(id: map["id"]?.string ?? defaultID(index), command: map["command"]?.string ?? "", arguments: arguments, line: line)
        }
    }

    static func defaultID(_ index: Int) -> String { String(format: "task%04d", index + 1) }

    /// The fields of one CSV line; double quotes group a field and `""` is a quote inside one.
    static func csvFields(_ line: String, path: String, line number: Int) throws -> [String] {
        var fields: [String] = [], field = "", quoted = false
        var characters = line.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? characters.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    let next = characters.next()
                    if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                } else { field.append(c) }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(field); field = ""
            } else { field.append(c) }
        }
        guard !quoted else { throw RegError.invalidHeader(path: path, field: "line \(number)", reason: "a quote is not closed") }
        fields.append(field)
        return fields
    }

    /// Splits a command line into words as a POSIX shell does for plain words, '…' and "…".
    static func shellWords(_ text: String, path: String, line: Int) throws -> [String] {
        var words: [String] = [], word = "", inWord = false
        var quote: Character? = nil
        for c in text {
            if let q = quote {
                if c == q { quote = nil } else { word.append(c) }
            } else if c == "'" || c == "\"" {
                quote = c; inWord = true
            } else if c == " " || c == "\t" {
                if inWord { words.append(word); word = ""; inWord = false }
            } else {
                word.append(c); inWord = true
            }
        }
        guard quote == nil else { throw RegError.invalidHeader(path: path, field: "line \(line)", reason: "a quote in the arguments is not closed") }
        if inWord { words.append(word) }
        return words
    }

    static func fnv1a(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }

    /// The arguments' words that name files (a path separator, or a file extension SwiftReg
    /// reads), with ANTs' `[file,1]` and DICOM's `DIR#N` reduced to the file; every one must
    /// exist before a batch starts.
    public static func filesNamed(in arguments: [String]) -> [String] {
        let extensions = [".nii", ".nii.gz", ".mha", ".mhd", ".nrrd", ".nhdr", ".png", ".jpg", ".jpeg", ".txt", ".tfm", ".mat", ".h5", ".hdf5",
                          ".csv", ".fcsv", ".json", ".yaml", ".yml", ".lut", ".dcm"]
        return arguments.compactMap { word in
            guard !word.hasPrefix("-") else { return nil }
            var file = word
            if file.hasPrefix("["), file.hasSuffix("]") { file = String(file.dropFirst().dropLast().split(separator: ",").first ?? "") }
            if let hash = file.firstIndex(of: "#") { file = String(file[..<hash]) }
            let lower = file.lowercased()
            return file.contains("/") || extensions.contains(where: lower.hasSuffix) ? file : nil
        }
    }
}
