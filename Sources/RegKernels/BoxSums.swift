import RegCore

/// Sums over cubic windows of radius `r` (side `2r + 1`, clipped at the image edges): running
/// sums along x, then sums of `2r + 1` rows along y and z.
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

    /// The same on raw memory of `channels` volumes of `size.x · size.y · size.z` values each,
    /// one after the other: all channels go through each pass together.
    ///
    /// ```swift
    /// BoxSums.sum(buffer, channels: 5, size: size, radius: 2)   // ΣI, ΣJ, ΣI², ΣJ², ΣIJ at once
    /// ```
    public static func sum(_ values: UnsafeMutablePointer<Float>, channels: Int = 1, size: SIMD3<Int>, radius r: Int) {
        sum(generic: values, channels: channels, size: size, radius: r)
    }

    /// The same on raw memory of doubles.
    public static func sum(_ values: UnsafeMutablePointer<Double>, channels: Int = 1, size: SIMD3<Int>, radius r: Int) {
        sum(generic: values, channels: channels, size: size, radius: r)
    }

    /// The x and y window sums of one slice of `width × height` values (the volume sum's first
    /// pass), from `src` into `dst` through `scratch` (one slice); `src` and `dst` may be the
    /// same slice only when both axes are longer than one value. For pipelines that sum slices
    /// as they are made; `sum(arrays:)` then adds the z window.
    ///
    /// ```swift
    /// BoxSums.sumSlice(products, into: ring + k * sliceSize, scratch: scratch, width: nx, height: ny, radius: 2)
    /// ```
    public static func sumSlice(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                width nx: Int, height ny: Int, radius r: Int) {
        sliceSums(src, into: dst, scratch: scratch, width: nx, height: ny, radius: r)
    }

    /// `out[x] = arrays[0][x] + arrays[1][x] + …` over `count` arrays, added in that order (the
    /// volume sum's z pass over lines held anywhere), 64 values at a time in registers.
    ///
    /// ```swift
    /// BoxSums.sum(arrays: ringSlices, count: 5, width: nx * ny, into: windowSums)   // z window of radius 2
    /// ```
    public static func sum(arrays: UnsafePointer<UnsafePointer<Float>>, count: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        sumArrays(arrays, count: count, width: width, into: out)
    }

    @inline(__always)
    static func sliceSums<T: BinaryFloatingPoint & SIMDScalar>(_ src: UnsafePointer<T>, into dst: UnsafeMutablePointer<T>,
                                                               scratch: UnsafeMutablePointer<T>, width nx: Int, height ny: Int, radius r: Int) {
        guard r > 0 else { if UnsafePointer(dst) != src { dst.update(from: src, count: nx * ny) }; return }
        switch (nx > 1, ny > 1) {
        case (true, true):
            runningSumsAlongRows(src, rows: ny, count: nx, radius: r, into: scratch)
            runningRows(scratch, into: dst, lines: ny, width: nx, radius: r)
        case (true, false): runningSumsAlongRows(src, rows: ny, count: nx, radius: r, into: dst)
        case (false, true): runningRows(src, into: dst, lines: ny, width: nx, radius: r)
        case (false, false): if UnsafePointer(dst) != src { dst.update(from: src, count: nx * ny) }
        }
    }

    /// Two passes over memory: x then y within each slice while it is in cache, then z in
    /// strips of columns. Every value is summed in a fixed order, whatever the thread count.
    static func sum<T: BinaryFloatingPoint & SIMDScalar>(generic values: UnsafeMutablePointer<T>, channels: Int, size: SIMD3<Int>,
                                                         radius r: Int) {
        let (nx, ny, nz) = (size.x, size.y, size.z)
        guard r > 0, channels > 0 else { return }
        let p = UnsafeSendable(values)
        let sliceSize = nx * ny, volume = sliceSize * nz
        if nx > 1 || ny > 1 {
            parallelFor(count: channels * nz, chunkSize: 1) { slices in
                let copy = UnsafeMutablePointer<T>.allocate(capacity: sliceSize)
                defer { copy.deallocate() }
                for index in slices {
                    let offset: Int = (index / nz) &* volume &+ (index % nz) &* sliceSize
                    let slice = p.value + offset
                    if nx > 1 && ny > 1 {
                        // x from the slice into the copy, y from the copy back.
                        sliceSums(slice, into: slice, scratch: copy, width: nx, height: ny, radius: r)
                    } else {
                        copy.update(from: slice, count: sliceSize)
                        sliceSums(copy, into: slice, scratch: copy, width: nx, height: ny, radius: r)
                    }
                }
            }
        }
        if nz > 1 {
            let chunk = 2048
            let strips = (sliceSize + chunk - 1) / chunk
            parallelFor(count: channels * strips, chunkSize: 1) { parts in
                let copy = UnsafeMutablePointer<T>.allocate(capacity: chunk * nz)
                defer { copy.deallocate() }
                for part in parts {
                    let base = p.value + (part / strips) &* volume
                    let start = (part % strips) * chunk, width = min(chunk, sliceSize - start)
                    for z in 0..<nz { (copy + z * width).update(from: base + z * sliceSize + start, count: width) }
                    for z in 0..<nz {
                        sumLines(copy, line: z, lines: nz, width: width, radius: r, into: base + z * sliceSize + start)
                    }
                }
            }
        }
    }

    /// Running sums along each of `rows` rows of `count` values, from `data` into `out`: four
    /// rows at a time, so that four independent chains of additions overlap.
    @inline(__always)
    static func runningSumsAlongRows<T: BinaryFloatingPoint>(_ data: UnsafePointer<T>, rows: Int, count nx: Int, radius r: Int,
                                                            into out: UnsafeMutablePointer<T>) {
        var row = 0
        while row < rows {
            let offset = row &* nx
            if row &+ 4 <= rows {
                runningSums4(data + offset, into: out + offset, count: nx, radius: r)
                row &+= 4
            } else {
                runningSum(data + offset, into: out + offset, count: nx, stride: 1, radius: r)
                row &+= 1
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

    /// `runningSum` of four consecutive rows of `n` values at once, each summed in the same
    /// order as alone; the loop is split where the window enters and leaves the row, so the
    /// middle runs without branches.
    @inline(__always)
    static func runningSums4<T: BinaryFloatingPoint>(_ src: UnsafePointer<T>, into dst: UnsafeMutablePointer<T>, count n: Int, radius r: Int) {
        let (a, b, c, d) = (src, src + n, src + 2 &* n, src + 3 &* n)
        let (da, db, dc, dd) = (dst, dst + n, dst + 2 &* n, dst + 3 &* n)
        var (sa, sb, sc, sd): (T, T, T, T) = (0, 0, 0, 0)
        for k in 0..<min(n, r + 1) { sa += a[k]; sb += b[k]; sc += c[k]; sd += d[k] }
        // i + r + 1 < n adds a value; i − r ≥ 0 drops one.
        let addEnd = max(0, n - r - 1), dropStart = min(n, r)
        var i = 0
        while i < min(addEnd, dropStart) {
            da[i] = sa; db[i] = sb; dc[i] = sc; dd[i] = sd
            let add = i &+ r &+ 1
            sa += a[add]; sb += b[add]; sc += c[add]; sd += d[add]
            i &+= 1
        }
        while i < addEnd {
            da[i] = sa; db[i] = sb; dc[i] = sc; dd[i] = sd
            let add = i &+ r &+ 1, drop = i &- r
            sa += a[add]; sb += b[add]; sc += c[add]; sd += d[add]
            sa -= a[drop]; sb -= b[drop]; sc -= c[drop]; sd -= d[drop]
            i &+= 1
        }
        while i < n {
            da[i] = sa; db[i] = sb; dc[i] = sc; dd[i] = sd
            if i &+ r &+ 1 < n { let add = i &+ r &+ 1; sa += a[add]; sb += b[add]; sc += c[add]; sd += d[add] }
            if i >= r { let drop = i &- r; sa -= a[drop]; sb -= b[drop]; sc -= c[drop]; sd -= d[drop] }
            i &+= 1
        }
    }

    /// Running sums across `lines` rows of `width` values each, row by row.
    @inline(__always)
    static func runningRows<T: BinaryFloatingPoint & SIMDScalar>(_ src: UnsafePointer<T>, into dst: UnsafeMutablePointer<T>, lines: Int, width: Int, radius r: Int) {
        for l in 0..<lines { sumLines(src, line: l, lines: lines, width: width, radius: r, into: dst + l &* width) }
    }

    /// Output line `l`: the sum of source lines `l − r … l + r` that exist, added in that order.
    @inline(__always)
    static func sumLines<T: BinaryFloatingPoint & SIMDScalar>(_ src: UnsafePointer<T>, line l: Int, lines: Int, width: Int, radius r: Int,
                                                 into out: UnsafeMutablePointer<T>) {
        let lo = max(0, l - r), hi = min(lines - 1, l + r)
        withUnsafeTemporaryAllocation(of: UnsafePointer<T>.self, capacity: hi - lo + 1) { arrays in
            for k in lo...hi { arrays[k - lo] = src + k &* width }
            sumArrays(arrays.baseAddress!, count: hi - lo + 1, width: width, into: out)
        }
    }

    @inline(__always)
    static func sumArrays<T: BinaryFloatingPoint & SIMDScalar>(_ arrays: UnsafePointer<UnsafePointer<T>>, count: Int, width: Int,
                                                               into out: UnsafeMutablePointer<T>) {
        let first = arrays[0]
        var x = 0
        // Four blocks of 16 at a time while they fit: each array's pointer serves 64 values.
        typealias Block = SIMD16<T>
        @inline(__always) func load(_ p: UnsafePointer<T>) -> Block { UnsafeRawPointer(p).loadUnaligned(as: Block.self) }
        while x &+ 64 <= width {
            var a0 = load(first + x), a1 = load(first + (x &+ 16)), a2 = load(first + (x &+ 32)), a3 = load(first + (x &+ 48))
            var k = 1
            while k < count {
                let p = arrays[k] + x
                a0 += load(p); a1 += load(p + 16); a2 += load(p + 32); a3 += load(p + 48)
                k &+= 1
            }
            let o = UnsafeMutableRawPointer(out + x), size = MemoryLayout<Block>.stride
            o.storeBytes(of: a0, as: Block.self)
            o.storeBytes(of: a1, toByteOffset: size, as: Block.self)
            o.storeBytes(of: a2, toByteOffset: 2 &* size, as: Block.self)
            o.storeBytes(of: a3, toByteOffset: 3 &* size, as: Block.self)
            x &+= 64
        }
        while x &+ 8 <= width {
            var acc = UnsafeRawPointer(first + x).loadUnaligned(as: SIMD8<T>.self)
            var k = 1
            while k < count { acc += UnsafeRawPointer(arrays[k] + x).loadUnaligned(as: SIMD8<T>.self); k &+= 1 }
            UnsafeMutableRawPointer(out + x).storeBytes(of: acc, as: SIMD8<T>.self)
            x &+= 8
        }
        while x < width {
            var acc = first[x]
            var k = 1
            while k < count { acc += arrays[k][x]; k &+= 1 }
            out[x] = acc
            x &+= 1
        }
    }
}
