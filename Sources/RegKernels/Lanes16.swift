// Lanes16: 16-lane SIMD load, store, deinterleave and row blocks.
import RegCore
import Synchronization

/// Row passes 16 lanes at a time.
enum Lanes16 {
    typealias F = SIMD16<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> F { UnsafeRawPointer(p).loadUnaligned(as: F.self) }

    @inline(__always) static func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<V.Scalar>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// The x, y and z parts of the 16 vectors of 3 interleaved floats from `p`.
    @inline(__always) static func deinterleave(_ p: UnsafePointer<Float>) -> (F, F, F) {
        let a = load(p), b = load(p + 16), c = load(p + 32)
        return (F(a[0], a[3], a[6], a[9], a[12], a[15], b[2], b[5], b[8], b[11], b[14], c[1], c[4], c[7], c[10], c[13]),
                F(a[1], a[4], a[7], a[10], a[13], b[0], b[3], b[6], b[9], b[12], b[15], c[2], c[5], c[8], c[11], c[14]),
                F(a[2], a[5], a[8], a[11], a[14], b[1], b[4], b[7], b[10], b[13], c[0], c[3], c[6], c[9], c[12], c[15]))
    }

    /// Calls `body` with the first index of each block of 16 covering `range` (16 or more long);
    /// the last block overlaps the one before unless the count is a multiple of 16.
    @inline(__always) static func blocks(_ range: Range<Int>, _ body: (Int) -> Void) {
        var x = range.lowerBound
        while x < range.upperBound {
            body(min(x, range.upperBound &- 16))
            x &+= 16
        }
    }
}
