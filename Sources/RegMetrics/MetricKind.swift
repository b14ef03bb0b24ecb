/// The image similarity measures, each used as a cost (lower is better).
///
/// ```swift
/// let kind = MetricKind.mattesMutualInformation(bins: 32)
/// print(kind.name)    // "mi"
/// ```
public enum MetricKind: Equatable, Sendable, Codable {
    /// Mean of squared differences (mono-modal).
    case meanSquares
    /// Mean of absolute differences (mono-modal, robust to outliers).
    case meanAbsoluteDifference
    /// Minus the global Pearson correlation (linear intensity relation).
    case normalizedCorrelation
    /// Minus Mattes' mutual information: joint histogram with a zero-order fixed and a cubic
    /// B-spline moving Parzen window (multi-modal).
    case mattesMutualInformation(bins: Int)
    /// Minus Studholme's normalised mutual information `(H(F) + H(M)) / H(F, M)`, same histogram.
    case normalizedMutualInformation(bins: Int)

    /// The CLI name: `mse`, `mad`, `ncc`, `mi`, `nmi`.
    public var name: String {
        switch self {
        case .meanSquares: return "mse"
        case .meanAbsoluteDifference: return "mad"
        case .normalizedCorrelation: return "ncc"
        case .mattesMutualInformation: return "mi"
        case .normalizedMutualInformation: return "nmi"
        }
    }

    /// Parses a CLI name, with `bins` for the histogram metrics.
    public init?(name: String, bins: Int = 32) {
        switch name.lowercased() {
        case "mse", "meansquares", "ssd": self = .meanSquares
        case "mad": self = .meanAbsoluteDifference
        case "ncc", "cc": self = .normalizedCorrelation
        case "mi", "mattes": self = .mattesMutualInformation(bins: bins)
        case "nmi": self = .normalizedMutualInformation(bins: bins)
        default: return nil
        }
    }
}
