/// The image similarity measures: one vocabulary for every stage of a plan. Linear stages
/// minimise a cost built from the measure (`ImageMetric`: the mean squared or absolute difference,
/// minus the correlation, minus the mutual information); dense stages (SyN, demons, B-spline)
/// maximise a voxel-wise similarity (`evaluate(fixed:moving:mask:)`: minus the mean squared
/// difference, the local correlation, the mutual information). `isLinear` and `isDense` say
/// which stages take a measure.
///
/// ```swift
/// let mi = Metric(name: "mi", bins: 32)!     // .mutualInformation(bins: 32)
/// print(mi.name, mi.isLinear, mi.isDense)     // "mi true true"
/// ```
public enum Metric: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Mean of squared differences (mono-modal).
    case meanSquares
    /// Mean of absolute differences (mono-modal, robust to outliers; linear stages).
    case meanAbsoluteDifference
    /// The global Pearson correlation (linear intensity relation; linear stages).
    case normalizedCorrelation
    /// Local normalised cross-correlation over windows of side `2·radius + 1` (ANTs' `CC`;
    /// dense stages).
    case localCorrelation(radius: Int)
    /// Mutual information of a joint histogram: Mattes' (zero-order fixed and cubic B-spline
    /// moving Parzen windows) in linear stages, cubic B-spline windows on both axes in dense ones.
    case mutualInformation(bins: Int)
    /// Studholme's normalised mutual information `(H(F) + H(M)) / H(F, M)` (linear stages).
    case normalizedMutualInformation(bins: Int)

    /// The names plans and `--metric` use.
    public static let names = ["mse", "mad", "ncc", "lncc", "mi", "nmi"]
    /// The names a linear stage takes.
    public static let linearNames = ["mse", "mad", "ncc", "mi", "nmi"]
    /// The names a dense (deformable) stage takes.
    public static let denseNames = ["lncc", "mse", "mi"]

    /// The short name: `mse`, `mad`, `ncc`, `lncc`, `mi`, `nmi`.
    public var name: String {
        switch self {
        case .meanSquares: return "mse"
        case .meanAbsoluteDifference: return "mad"
        case .normalizedCorrelation: return "ncc"
        case .localCorrelation: return "lncc"
        case .mutualInformation: return "mi"
        case .normalizedMutualInformation: return "nmi"
        }
    }

    /// The name with its parameter, as progress lines show it: `lncc(radius 2)`, `mi(32 bins)`.
    public var description: String {
        switch self {
        case .localCorrelation(let r): return "lncc(radius \(r))"
        case .mutualInformation(let b), .normalizedMutualInformation(let b): return "\(name)(\(b) bins)"
        default: return name
        }
    }

    public var isLinear: Bool { Self.linearNames.contains(name) }
    public var isDense: Bool { Self.denseNames.contains(name) }

    /// Parses a name (or an ANTs/ITK alias: `meansquares`, `ssd`, `cc`, `mattes`), with `bins`
    /// for the histogram measures and `radius` for local correlation.
    public init?(name: String, bins: Int = 32, radius: Int = 2) {
        switch name.lowercased() {
        case "mse", "meansquares", "ssd": self = .meanSquares
        case "mad": self = .meanAbsoluteDifference
        case "ncc", "cc", "correlation": self = .normalizedCorrelation
        case "lncc", "localcc": self = .localCorrelation(radius: radius)
        case "mi", "mattes": self = .mutualInformation(bins: bins)
        case "nmi": self = .normalizedMutualInformation(bins: bins)
        default: return nil
        }
    }
}

/// A metric with its weight in a stage's sum of metrics (ANTs' repeated `--metric`).
///
/// ```swift
/// let terms = [WeightedMetric(.localCorrelation(radius: 2)), WeightedMetric(.mutualInformation(bins: 32), weight: 0.5)]
/// ```
public struct WeightedMetric: Equatable, Sendable {
    public var metric: Metric
    public var weight: Double
    public init(_ metric: Metric, weight: Double = 1) {
        self.metric = metric
        self.weight = weight
    }
}
