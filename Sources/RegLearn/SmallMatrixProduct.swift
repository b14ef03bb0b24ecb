/// C = A · B for the many small products of `WinogradConvolution` (a few dozen rows and inner
/// values, a few dozen columns), in 16-lane vectors held in registers: each 4 × 32 (or 4 × 16)
/// block of C is summed over the inner dimension in order, so the result does not depend on threads.
///
/// Builds tuned for the CPU (`scripts/build.sh`, which defines `SWIFTREG_NATIVE`) use fused
/// multiply–adds and take these products instead of OpenBLAS, without its per-call packing and
/// locking: with F(2, 3) tiles, 3-D VM-1 inference took 4.3–4.4 s with them against 5.1–5.7 s
/// with OpenBLAS's AVX2 kernels on this project's AVX-512 machine. Portable builds keep OpenBLAS (there a fused
/// multiply–add may be a library call).
///
/// ```swift
/// SmallMatrixProduct.multiply(rows: 32, columns: 80, inner: 48, a: u, b: v, ldb: 80, c: m, ldc: 80)
/// ```
enum SmallMatrixProduct {
    typealias Lanes = SIMD16<Float>

    #if SWIFTREG_NATIVE
    static let replacesBLAS = true
    #else
    static let replacesBLAS = false
    #endif

    /// C (rows × columns, row stride `ldc`) = A (rows × inner, rows contiguous) · B (inner ×
    /// columns, row stride `ldb`).
    static func multiply(rows: Int, columns: Int, inner: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int) {
        var j = 0
        while j &+ 32 <= columns {
            rowBlocks(rows: rows, inner: inner, a: a, b: b + j, ldb: ldb, c: c + j, ldc: ldc, lanes: 2)
            j &+= 32
        }
        if j &+ 16 <= columns {
            rowBlocks(rows: rows, inner: inner, a: a, b: b + j, ldb: ldb, c: c + j, ldc: ldc, lanes: 1)
            j &+= 16
        }
        while j < columns {
            for i in 0..<rows {
                // One column: the same multiply–adds, in every lane alike.
                var s = Lanes()
                for p in 0..<inner { s = multiplyAdd(s, Lanes(repeating: a[i &* inner &+ p]), Lanes(repeating: b[p &* ldb &+ j])) }
                c[i &* ldc &+ j] = s[0]
            }
            j &+= 1
        }
    }

    /// All rows of C over 16 · `lanes` columns (lanes 1 or 2): blocks of four rows, then single rows.
    @inline(__always)
    static func rowBlocks(rows: Int, inner: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                          c: UnsafeMutablePointer<Float>, ldc: Int, lanes: Int) {
        var i = 0
        while i &+ 4 <= rows {
            block4(inner: inner, a: a + i &* inner, b: b, ldb: ldb, c: c + i &* ldc, ldc: ldc, lanes: lanes)
            i &+= 4
        }
        while i < rows {
            row(inner: inner, a: a + i &* inner, b: b, ldb: ldb, c: c + i &* ldc, lanes: lanes)
            i &+= 1
        }
    }

    /// Four rows of C, 16 · `lanes` columns: 4 · `lanes` vector sums in registers.
    @inline(__always)
    static func block4(inner: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                       c: UnsafeMutablePointer<Float>, ldc: Int, lanes: Int) {
        var c00 = Lanes(), c01 = Lanes(), c10 = Lanes(), c11 = Lanes()
        var c20 = Lanes(), c21 = Lanes(), c30 = Lanes(), c31 = Lanes()
        let a0 = a, a1 = a0 + inner, a2 = a1 + inner, a3 = a2 + inner
        var bp = b
        for p in 0..<inner {
            let b0 = load(bp)
            let x0 = Lanes(repeating: a0[p]), x1 = Lanes(repeating: a1[p])
            let x2 = Lanes(repeating: a2[p]), x3 = Lanes(repeating: a3[p])
            c00 = multiplyAdd(c00, x0, b0); c10 = multiplyAdd(c10, x1, b0)
            c20 = multiplyAdd(c20, x2, b0); c30 = multiplyAdd(c30, x3, b0)
            if lanes == 2 {
                let b1 = load(bp + 16)
                c01 = multiplyAdd(c01, x0, b1); c11 = multiplyAdd(c11, x1, b1)
                c21 = multiplyAdd(c21, x2, b1); c31 = multiplyAdd(c31, x3, b1)
            }
            bp += ldb
        }
        store(c00, c); store(c10, c + ldc); store(c20, c + 2 &* ldc); store(c30, c + 3 &* ldc)
        if lanes == 2 { store(c01, c + 16); store(c11, c + (ldc &+ 16)); store(c21, c + (2 &* ldc &+ 16)); store(c31, c + (3 &* ldc &+ 16)) }
    }

    /// One row of C, 16 · `lanes` columns (lanes 1 or 2).
    @inline(__always)
    static func row(inner: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                    c: UnsafeMutablePointer<Float>, lanes: Int) {
        var s0 = Lanes(), s1 = Lanes()
        var bp = b
        for p in 0..<inner {
            let x = Lanes(repeating: a[p])
            s0 = multiplyAdd(s0, x, load(bp))
            if lanes == 2 { s1 = multiplyAdd(s1, x, load(bp + 16)) }
            bp += ldb
        }
        store(s0, c)
        if lanes == 2 { store(s1, c + 16) }
    }

    @inline(__always)
    static func multiplyAdd(_ s: Lanes, _ x: Lanes, _ y: Lanes) -> Lanes {
        #if SWIFTREG_NATIVE
        return s.addingProduct(x, y)
        #else
        return s + x * y
        #endif
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }

    @inline(__always)
    static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self) }
}
