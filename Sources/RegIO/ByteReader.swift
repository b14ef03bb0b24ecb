import RegCore
/// Reads fixed-width fields from a byte buffer at given offsets, in either byte order.
struct ByteReader {
    let bytes: [UInt8]
    let bigEndian: Bool

    func u8(_ o: Int) -> UInt8 { bytes[o] }
    func i16(_ o: Int) -> Int16 { Int16(bitPattern: UInt16(truncatingIfNeeded: uint(o, 2))) }
    func i32(_ o: Int) -> Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: uint(o, 4))) }
    func i64(_ o: Int) -> Int64 { Int64(bitPattern: uint(o, 8)) }
    func f32(_ o: Int) -> Float { Float(bitPattern: UInt32(truncatingIfNeeded: uint(o, 4))) }
    func f64(_ o: Int) -> Double { Double(bitPattern: uint(o, 8)) }
    func string(_ o: Int, _ n: Int) -> String {
        let slice = bytes[o..<o + n]
        let end = slice.firstIndex(of: 0) ?? slice.endIndex
        return String(decoding: bytes[o..<end], as: UTF8.self)
    }

    private func uint(_ o: Int, _ n: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<n {
            let b = UInt64(bytes[o + (bigEndian ? k : n - 1 - k)])
            v = v << 8 | b
        }
        return v
    }
}

/// Builds a little-endian byte buffer field by field at fixed offsets.
struct ByteWriter {
    var bytes: [UInt8]
    init(count: Int) { bytes = [UInt8](repeating: 0, count: count) }

    mutating func put<T: FixedWidthInteger>(_ v: T, at o: Int) {
        withUnsafeBytes(of: v.littleEndian) { for (k, b) in $0.enumerated() { bytes[o + k] = b } }
    }
    mutating func put(_ v: Float, at o: Int) { put(v.bitPattern, at: o) }
    mutating func put(_ v: Double, at o: Int) { put(v.bitPattern, at: o) }
    mutating func put(_ s: String, at o: Int, max n: Int) {
        for (k, b) in s.utf8.prefix(n).enumerated() { bytes[o + k] = b }
    }
}
