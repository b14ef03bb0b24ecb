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
                    let p = source.value, plane = s.x * s.y
                    for z in slabs { for y in 0..<s.y {
                        let row = s.x * (y + s.y * z)
                        let below = y > 0 ? -s.x : 0, above = y < s.y - 1 ? s.x : 0
                        let back = z > 0 ? -plane : 0, front = z < s.z - 1 ? plane : 0
                        for x in 0..<s.x {
                            let v = row + x, c = 2 * Double(p[v])
                            let left = x > 0 ? -1 : 0, right = x < s.x - 1 ? 1 : 0
                            target.value[v] = weight.x * (Double(p[v + left]) - c + Double(p[v + right]))
                                + weight.y * (Double(p[v + below]) - c + Double(p[v + above]))
                                + weight.z * (Double(p[v + back]) - c + Double(p[v + front]))
                        }
                    } }
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
