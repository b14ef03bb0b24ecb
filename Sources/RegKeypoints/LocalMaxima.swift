import RegCore

/// The largest value over a box window about each voxel (radius per axis, clipped at the
/// edges): one pass per axis, parallel across lines, so it is the same for any thread count.
///
/// ```swift
/// let peaks = LocalMaxima.filter(values, size: g.size, radius: [3, 3, 3])
/// let isPeak = values[i] == peaks[i]
/// ```
enum LocalMaxima {
    static func filter(_ values: [Float], size: SIMD3<Int>, radius: SIMD3<Int>) -> [Float] {
        var a = values, b = values
        for axis in 0..<3 where radius[axis] > 0 && size[axis] > 1 {
            pass(from: a, into: &b, size: size, axis: axis, radius: radius[axis])
            swap(&a, &b)
        }
        return a
    }

    private static func pass(from src: [Float], into dst: inout [Float], size: SIMD3<Int>, axis: Int, radius r: Int) {
        let stride = axis == 0 ? 1 : (axis == 1 ? size.x : size.x * size.y)
        let n = size[axis]
        let lineCount = size.x * size.y * size.z / n
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { d in
                let sp = UnsafeSendable(s.baseAddress!), dp = UnsafeSendable(d.baseAddress!)
                parallelFor(count: lineCount, chunkSize: 256) { lines in
                    for line in lines {
                        // The first voxel of line `line` along `axis`.
                        let start: Int
                        switch axis {
                        case 0: start = line * size.x
                        case 1: start = (line % size.x) + (line / size.x) * size.x * size.y
                        default: start = line
                        }
                        for i in 0..<n {
                            var m = -Float.infinity
                            for j in max(0, i - r)...min(n - 1, i + r) { m = max(m, sp.value[start + j * stride]) }
                            dp.value[start + i * stride] = m
                        }
                    }
                }
            }
        }
    }
}
