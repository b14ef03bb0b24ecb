import RegCore

/// Sums over cubic windows of radius `r` (side `2r + 1`, clipped at the image edges), by running
/// sums along x, then y, then z: three passes whatever the radius.
///
/// ```swift
/// var values = image.voxels
/// BoxSums.sum(&values, size: image.geometry.size, radius: 2)   // Σ over each 5×5×5 window
/// let n = BoxSums.windowCount(x: 0, y: 0, z: 0, size: size, radius: 2)   // 27 at a corner
/// ```
public enum BoxSums {
    /// Replaces every value of a scalar volume by the sum over its window. Serial along each line,
    /// parallel across lines, so the result is bitwise identical for any thread count.
    public static func sum(_ values: inout [Float], size: SIMD3<Int>, radius r: Int) {
        precondition(values.count == size.x * size.y * size.z)
        values.withUnsafeMutableBufferPointer { sum($0.baseAddress!, size: size, radius: r) }
    }

    /// The same in double precision, for sums whose differences matter more than their speed
    /// (a local variance Σ I² − (Σ I)²/n over a large window cancels badly in `Float`).
    public static func sum(_ values: inout [Double], size: SIMD3<Int>, radius r: Int) {
        precondition(values.count == size.x * size.y * size.z)
        values.withUnsafeMutableBufferPointer { sum($0.baseAddress!, size: size, radius: r) }
    }

    /// The same on raw memory of `size.x · size.y · size.z` values.
    public static func sum(_ values: UnsafeMutablePointer<Float>, size: SIMD3<Int>, radius r: Int) {
        sum(generic: values, size: size, radius: r)
    }

    /// The same on raw memory of doubles.
    public static func sum(_ values: UnsafeMutablePointer<Double>, size: SIMD3<Int>, radius r: Int) {
        sum(generic: values, size: size, radius: r)
    }

    static func sum<T: BinaryFloatingPoint>(generic values: UnsafeMutablePointer<T>, size: SIMD3<Int>, radius r: Int) {
        let (nx, ny, nz) = (size.x, size.y, size.z)
        guard r > 0 else { return }
        do {
            let p = UnsafeSendable(values)
            // x: running sum along each row, through a copy of the row.
            if nx > 1 {
                parallelFor(count: ny * nz, chunkSize: max(1, ny / 2)) { rows in
                    let line = UnsafeMutablePointer<T>.allocate(capacity: nx)
                    defer { line.deallocate() }
                    for row in rows {
                        let data = p.value + row &* nx
                        line.update(from: data, count: nx)
                        runningSum(line, into: data, count: nx, stride: 1, radius: r)
                    }
                }
            }
            // y within each slice, and z across slices: whole rows at a time, vectorised along x.
            if ny > 1 {
                parallelFor(count: nz, chunkSize: 1) { zs in
                    let copy = UnsafeMutablePointer<T>.allocate(capacity: nx * ny)
                    defer { copy.deallocate() }
                    for z in zs {
                        let slice = p.value + z &* nx &* ny
                        copy.update(from: slice, count: nx * ny)
                        runningRows(copy, into: slice, lines: ny, width: nx, radius: r)
                    }
                }
            }
            if nz > 1 {
                let sliceSize = nx * ny
                let chunk = 2048
                parallelFor(count: (sliceSize + chunk - 1) / chunk, chunkSize: 1) { parts in
                    let copy = UnsafeMutablePointer<T>.allocate(capacity: chunk * nz)
                    defer { copy.deallocate() }
                    for part in parts {
                        let start = part * chunk, width = min(chunk, sliceSize - start)
                        for z in 0..<nz { (copy + z * width).update(from: p.value + z * sliceSize + start, count: width) }
                        for z in 0..<nz {
                            sumLines(copy, line: z, lines: nz, width: width, radius: r, into: p.value + z * sliceSize + start)
                        }
                    }
                }
            }
        }
    }

    /// The number of voxels in the clipped window of voxel `(x, y, z)`.
    @inlinable public static func windowCount(x: Int, y: Int, z: Int, size: SIMD3<Int>, radius r: Int) -> Int {
        axisCount(x, size.x, r) * axisCount(y, size.y, r) * axisCount(z, size.z, r)
    }

    @inlinable public static func axisCount(_ i: Int, _ n: Int, _ r: Int) -> Int { min(n - 1, i + r) - max(0, i - r) + 1 }

    /// Running sums of one strided line.
    @inline(__always)
    static func runningSum<T: BinaryFloatingPoint>(_ src: UnsafePointer<T>, into dst: UnsafeMutablePointer<T>, count n: Int, stride: Int, radius r: Int) {
        var s: T = 0
        for k in 0..<min(n, r + 1) { s += src[k &* stride] }
        for i in 0..<n {
            dst[i &* stride] = s
            let add = i &+ r &+ 1, drop = i &- r
            if add < n { s += src[add &* stride] }
            if drop >= 0 { s -= src[drop &* stride] }
        }
    }

    /// Running sums across `lines` rows of `width` values each, row by row.
    @inline(__always)
    static func runningRows<T: BinaryFloatingPoint>(_ src: UnsafePointer<T>, into dst: UnsafeMutablePointer<T>, lines: Int, width: Int, radius r: Int) {
        for l in 0..<lines { sumLines(src, line: l, lines: lines, width: width, radius: r, into: dst + l &* width) }
    }

    /// Output line `l`: the sum of source lines `l − r … l + r` that exist, summed in a fixed order.
    @inline(__always)
    static func sumLines<T: BinaryFloatingPoint>(_ src: UnsafePointer<T>, line l: Int, lines: Int, width: Int, radius r: Int,
                                                 into out: UnsafeMutablePointer<T>) {
        let lo = max(0, l - r), hi = min(lines - 1, l + r)
        out.update(from: src + lo &* width, count: width)
        if hi > lo {
            for k in (lo + 1)...hi {
                let row = src + k &* width
                for x in 0..<width { out[x] += row[x] }
            }
        }
    }
}
