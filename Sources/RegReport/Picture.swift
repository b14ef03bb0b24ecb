import Foundation
import RegCore
import RegIO

/// An 8-bit RGB picture (row by row, top row first) built from slice panels: grey images,
/// checkerboards, differences, label contours, deformation grids and colour maps.
///
/// ```swift
/// let window = IntensityWindow(fixed)
/// var picture = Picture(grey: try plane.sample(fixed), window: window)
/// picture.drawContours(of: try plane.sample(labels, interpolation: .label), colors: LabelColors())
/// let png = try picture.png()
/// ```
public struct Picture: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var rgb: [UInt8]

    public init(width: Int, height: Int, rgb: [UInt8]) {
        precondition(rgb.count == 3 * width * height)
        self.width = width
        self.height = height
        self.rgb = rgb
    }

    /// A slice shown in grey through an intensity window.
    public init(grey slice: Image<Float>, window: IntensityWindow) {
        let g = slice.geometry
        var rgb = [UInt8](repeating: 0, count: 3 * g.size.x * g.size.y)
        for (i, v) in slice.voxels.prefix(g.size.x * g.size.y).enumerated() {
            let grey = window.byte(v)
            rgb[3 * i] = grey; rgb[3 * i + 1] = grey; rgb[3 * i + 2] = grey
        }
        self.init(width: g.size.x, height: g.size.y, rgb: rgb)
    }

    /// Squares of `a` and `b` alternating, `tiles` along the longer side.
    public static func checkerboard(_ a: Picture, _ b: Picture, tiles: Int = 8) -> Picture {
        var out = a
        let side = max(1, max(a.width, a.height) / tiles)
        for y in 0..<a.height { for x in 0..<a.width where (x / side + y / side) % 2 == 1 {
            let i = 3 * (x + a.width * y)
            out.rgb[i] = b.rgb[i]; out.rgb[i + 1] = b.rgb[i + 1]; out.rgb[i + 2] = b.rgb[i + 2]
        } }
        return out
    }

    /// |a − b| of two windowed slices, on a black-red-yellow-white scale (full scale = half the window).
    public static func difference(_ a: Image<Float>, _ aWindow: IntensityWindow, _ b: Image<Float>, _ bWindow: IntensityWindow) -> Picture {
        let n = a.geometry.size.x * a.geometry.size.y
        var rgb = [UInt8](repeating: 0, count: 3 * n)
        for i in 0..<n {
            let d = min(1, 2 * abs(aWindow.unit(a.voxels[i]) - bWindow.unit(b.voxels[i])))
            let c = ColorMap.heat(d)
            rgb[3 * i] = c.x; rgb[3 * i + 1] = c.y; rgb[3 * i + 2] = c.z
        }
        return Picture(width: a.geometry.size.x, height: a.geometry.size.y, rgb: rgb)
    }

    /// Paints the pixels where the label changes between 4-neighbours, in each label's colour.
    public mutating func drawContours(of labels: Image<Float>, colors: LabelColors) {
        let v = labels.voxels
        for y in 0..<height { for x in 0..<width {
            let i = x + width * y, l = v[i]
            guard l != 0 else { continue }
            let edge = x == 0 || y == 0 || x == width - 1 || y == height - 1
                || v[i - 1] != l || v[i + 1] != l || v[i - width] != l || v[i + width] != l
            if edge { set(i, colors.color(for: Int(l))) }
        } }
    }

    /// Draws the lines of a square grid (every `spacing` mm in the plane) carried by a
    /// displacement field sampled on the plane: a pixel at x lies on a line when x + u(x)
    /// crosses a grid line between it and its right or lower neighbour.
    public mutating func drawDeformedGrid(displacement: Image<Float>, plane: SlicePlane, spacing: Double,
                                          color: SIMD3<UInt8> = SIMD3(255, 210, 0)) {
        let g = plane.geometry, c = displacement.components
        let u = g.direction.column(0), v = g.direction.column(1)
        var cell = [SIMD2<Int>](repeating: .zero, count: width * height)
        for y in 0..<height { for x in 0..<width {
            let i = x + width * y
            var p = g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), 0)) - g.origin
            for k in 0..<min(3, c) { p[k] += Double(displacement.voxels[c * i + k]) }
            cell[i] = SIMD2(Int(((p * u).sum() / spacing).rounded(.down)), Int(((p * v).sum() / spacing).rounded(.down)))
        } }
        for y in 0..<height { for x in 0..<width {
            let i = x + width * y
            if (x + 1 < width && cell[i + 1].x != cell[i].x) || (y + 1 < height && cell[i + width].y != cell[i].y) { set(i, color) }
        } }
    }

    /// Overlays log det J on a blue-white-red scale (det J from e⁻¹ to e, clamped), folded
    /// pixels (det J ≤ 0) in bright green, over the pixels where `inside` is non-zero.
    public mutating func overlayJacobian(_ determinant: Image<Float>, inside: Image<Float>? = nil, opacity: Double = 0.7) {
        for i in 0..<(width * height) where inside.map({ $0.voxels[i] != 0 }) ?? true {
            let d = Double(determinant.voxels[i])
            blend(i, d <= 0 ? SIMD3<UInt8>(0, 255, 0) : ColorMap.diverging(log(d)), opacity: opacity)
        }
    }

    /// Overlays the pixels of `values` above `low` on the heat scale (`low` red to `high`
    /// and beyond white), leaving the others as they are.
    public mutating func overlayHeat(_ values: Image<Float>, from low: Float, to high: Float, opacity: Double = 0.75) {
        for i in 0..<(width * height) where values.voxels[i] > low {
            blend(i, ColorMap.heat(0.34 + 0.66 * Double(min(1, (values.voxels[i] - low) / max(high - low, 1e-6)))), opacity: opacity)
        }
    }

    private mutating func blend(_ i: Int, _ c: SIMD3<UInt8>, opacity: Double) {
        for k in 0..<3 {
            let under = Double(rgb[3 * i + k]), over = Double(c[k])
            rgb[3 * i + k] = UInt8((1 - opacity) * under + opacity * over)
        }
    }

    /// The picture as PNG bytes.
    public func png() throws -> [UInt8] { try RGBPNG.encode(width: width, height: height, rgb: rgb) }

    private mutating func set(_ i: Int, _ c: SIMD3<UInt8>) {
        rgb[3 * i] = c.x; rgb[3 * i + 1] = c.y; rgb[3 * i + 2] = c.z
    }
}

/// The grey window of an image: its 0.5th to 99.5th percentile of the non-zero voxels.
public struct IntensityWindow: Sendable, Equatable {
    public var low: Float
    public var high: Float

    public init(low: Float, high: Float) {
        self.low = low
        self.high = high > low ? high : low + 1
    }

    public init(_ image: Image<Float>) {
        let stride = max(1, image.voxels.count / 200_000)
        var values = Swift.stride(from: 0, to: image.voxels.count, by: stride).map { image.voxels[$0] }.filter { $0 != 0 && $0.isFinite }
        values.sort()
        guard let first = values.first else { self.init(low: 0, high: 1); return }
        self.init(low: min(first, values[values.count / 200]), high: values[values.count - 1 - values.count / 200])
    }

    /// 0 … 1 across the window, clamped.
    @inline(__always) func unit(_ v: Float) -> Double { min(1, max(0, Double((v - low) / (high - low)))) }
    @inline(__always) func byte(_ v: Float) -> UInt8 { UInt8((255 * unit(v)).rounded()) }
}

/// Colours of label ids: from a lookup table where it has them, else a fixed palette.
public struct LabelColors: Sendable {
    public var table: [Int: SIMD3<UInt8>]

    public init(_ table: [Int: SIMD3<UInt8>] = [:]) { self.table = table }

    static let palette: [SIMD3<UInt8>] = [
        SIMD3(230, 25, 75), SIMD3(60, 180, 75), SIMD3(255, 225, 25), SIMD3(0, 130, 200), SIMD3(245, 130, 48),
        SIMD3(145, 30, 180), SIMD3(70, 240, 240), SIMD3(240, 50, 230), SIMD3(210, 245, 60), SIMD3(250, 190, 212),
        SIMD3(0, 128, 128), SIMD3(220, 190, 255), SIMD3(170, 110, 40), SIMD3(255, 250, 200), SIMD3(128, 0, 0),
        SIMD3(170, 255, 195), SIMD3(128, 128, 0), SIMD3(255, 215, 180), SIMD3(0, 0, 128), SIMD3(128, 128, 128),
    ]

    public func color(for label: Int) -> SIMD3<UInt8> {
        if let c = table[label], c != SIMD3(0, 0, 0) { return c }
        return Self.palette[(label % Self.palette.count + Self.palette.count) % Self.palette.count]
    }
}

/// The colour scales of the report.
public enum ColorMap {
    /// Black → red → yellow → white over 0 … 1.
    public static func heat(_ t: Double) -> SIMD3<UInt8> {
        let r = min(1, 3 * t), g = min(1, max(0, 3 * t - 1)), b = min(1, max(0, 3 * t - 2))
        return SIMD3(UInt8(255 * r), UInt8(255 * g), UInt8(255 * b))
    }

    /// Blue (−1) → white (0) → red (+1), clamped.
    public static func diverging(_ t: Double) -> SIMD3<UInt8> {
        let s = min(1, max(-1, t))
        let fade = UInt8(255 * (1 - abs(s)))
        return s < 0 ? SIMD3(fade, fade, 255) : SIMD3(255, fade, fade)
    }
}
