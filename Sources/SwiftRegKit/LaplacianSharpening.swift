import RegCore

/// Laplacian sharpening as ITK's `LaplacianSharpeningImageFilter` (ANTs' `ImageMath Sharpen`)
/// defines it: the Laplacian (second differences along each axis, scaled by 1/spacing², the
/// edge voxels repeated), rescaled from its range to the image's, subtracted from the image; the
/// result shifted so its mean is the image's, and clamped to the image's range.
///
/// ```swift
/// let crisper = LaplacianSharpening.sharpened(template)
/// ```
public enum LaplacianSharpening {
    public static func sharpened(_ image: Image<Float>) -> Image<Float> {
        let g = image.geometry, s = g.size, n = image.voxels.count
        guard n > 0 else { return image }
        let weight = SIMD3<Double>(1, 1, 1) / (g.spacing * g.spacing)
        var laplacian = [Double](repeating: 0, count: n)
        image.voxels.withUnsafeBufferPointer { input in
            laplacian.withUnsafeMutableBufferPointer { out in
                let source = UnsafeSendable(input.baseAddress!), target = UnsafeSendable(out.baseAddress!)
                parallelFor(count: s.z) { slabs in
                    for z in slabs { for y in 0..<s.y { for x in 0..<s.x {
                        let v = x + s.x * (y + s.y * z)
                        let c = Double(source.value[v])
                        func second(_ i: Int, _ size: Int, _ stride: Int) -> Double {
                            let lo = Double(source.value[i > 0 ? v - stride : v]), hi = Double(source.value[i < size - 1 ? v + stride : v])
                            return lo - 2 * c + hi
                        }
                        target.value[v] = weight.x * second(x, s.x, 1) + weight.y * second(y, s.y, s.x) + weight.z * second(z, s.z, s.x * s.y)
                    } } }
                }
            }
        }
        let (inLow, inHigh) = (Double(image.voxels.min()!), Double(image.voxels.max()!))
        let (lapLow, lapHigh) = (laplacian.min()!, laplacian.max()!)
        let lapScale = lapHigh > lapLow ? (inHigh - inLow) / (lapHigh - lapLow) : 0
        var enhanced = [Double](repeating: 0, count: n)
        var inputSum = 0.0, enhancedSum = 0.0
        for v in 0..<n {
            let value = Double(image.voxels[v]) - ((laplacian[v] - lapLow) * lapScale + inLow)
            enhanced[v] = value
            inputSum += Double(image.voxels[v])
            enhancedSum += value
        }
        let shift = (inputSum - enhancedSum) / Double(n)
        var out = image
        for v in 0..<n { out.voxels[v] = Float(min(max(enhanced[v] + shift, inLow), inHigh)) }
        return out
    }
}
