import Foundation
import RegCore
import RegIO
import RegMethods
import Yams

/// Registration plans and training configurations as YAML or JSON files (`register --plan`,
/// `train --config`); plans print as YAML (`--print-plan`).
enum PlanFile {
    enum Format {
        case yaml, json
        init(path: String) { self = path.lowercased().hasSuffix(".json") ? .json : .yaml }
    }

    static func read(_ path: String) throws -> RegistrationPlan { try read(RegistrationPlan.self, from: path) }

    /// Decodes `type` from a YAML or JSON file (by extension); errors name the file and the key.
    static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw RegError.unreadableFile(path: path, reason: "cannot read it (\(error.localizedDescription))")
        }
        do {
            switch Format(path: path) {
            case .json: return try JSONDecoder().decode(T.self, from: Data(text.utf8))
            case .yaml: return try YAMLDecoder().decode(T.self, from: text)
            }
        } catch let error as DecodingError {
            throw RegError.invalidHeader(path: path, field: Self.field(of: error), reason: Self.reason(of: error))
        } catch let error as YamlError {
            throw RegError.invalidHeader(path: path, field: "YAML", reason: "\(error)")
        }
    }

    /// The plan as YAML (what `--print-plan` shows).
    static func yaml(_ plan: RegistrationPlan) throws -> String { try YAMLEncoder().encode(plan) }

    static func field(of error: DecodingError) -> String {
        let path: [CodingKey]
        switch error {
        case .keyNotFound(let key, let c): path = c.codingPath + [key]
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
        @unknown default: path = []
        }
        let names = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        return names.isEmpty ? "plan" : names.joined(separator: ".")
    }

    static func reason(of error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): return "missing key '\(key.stringValue)'"
        case .typeMismatch(let type, let c): return "expected \(type): \(c.debugDescription)"
        case .valueNotFound(let type, let c): return "missing \(type): \(c.debugDescription)"
        case .dataCorrupted(let c): return c.debugDescription
        @unknown default: return "\(error)"
        }
    }
}
