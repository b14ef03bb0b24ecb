import Foundation

/// The JSON the commands write: pretty-printed, keys sorted, ending in a newline.
///
/// ```swift
/// try TextFile.write(try JSONText.encode(result.summary), to: "out/reg_summary.json")
/// ```
public enum JSONText {
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }
}
