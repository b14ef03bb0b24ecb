import RegCore
import CZlib

/// zlib inflate and deflate of whole buffers (gzip or zlib framing, detected on read).
enum Gzip {
    /// True when `bytes` start with the gzip magic.
    static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b }

    /// Decompresses a gzip or zlib stream (concatenated gzip members included).
    /// - Parameters:
    ///   - limit: stop once this many bytes are out (the caller knows how many it needs).
    ///   - sizeHint: expected output size, to allocate once.
    static func inflate(_ input: [UInt8], path: String, limit: Int = .max, sizeHint: Int = 0) throws -> [UInt8] {
        var hint = sizeHint
        if hint == 0, isGzip(input), input.count >= 8 {
            // gzip trailer ISIZE: uncompressed size mod 2^32.
            let n = input.count
            hint = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24
            // A truncated file ends in arbitrary bytes: deflate never expands more than 1032:1.
            hint = min(hint, 1032 * n)
        }
        // Deflate never expands more than 1032:1, so neither may the first buffer: a tiny file that
        // declares a huge size costs no more than its data can fill.
        let bound = input.count.multipliedReportingOverflow(by: 1032)
        let ceiling = bound.overflow ? Int.max : bound.partialValue + (1 << 16)
        var out = [UInt8](repeating: 0, count: max(min(hint, limit, ceiling), 1 << 16))
        var produced = 0
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw RegError.unreadableFile(path: path, reason: "zlib initialisation failed")
        }
        defer { inflateEnd(&stream) }
        try input.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = UInt32(inBuf.count)
            while produced < limit {
                if produced == out.count { out.append(contentsOf: [UInt8](repeating: 0, count: min(out.count, limit - produced))) }
                let status: Int32 = out.withUnsafeMutableBufferPointer { o in
                    let room = min(o.count - produced, limit - produced, Int(UInt32.max))
                    stream.next_out = o.baseAddress! + produced
                    stream.avail_out = UInt32(room)
                    let s = CZlib.inflate(&stream, Z_NO_FLUSH)
                    produced += room - Int(stream.avail_out)
                    return s
                }
                if status == Z_STREAM_END {
                    // Another gzip member may follow.
                    if stream.avail_in > 0, inflateReset(&stream) == Z_OK { continue }
                    break
                }
                if status == Z_BUF_ERROR && stream.avail_in == 0 { break }   // input ended early
                if status != Z_OK && status != Z_BUF_ERROR {
                    let msg = stream.msg.map { String(cString: $0) } ?? "code \(status)"
                    throw RegError.unreadableFile(path: path, reason: "corrupt compressed data (\(msg))")
                }
            }
        }
        // The gzip size field fills the buffer exactly; otherwise a tight copy releases the rest.
        return produced == out.count ? out : Array(out[..<produced])
    }

    /// One gzip member of stored (uncompressed) deflate blocks around the bytes that `produce`
    /// hands to its `write` function, passed on to `sink` about a megabyte at a time as they
    /// come: no copy of the whole data and no compression, for float fields that deflate
    /// shrinks by under 10 %. Every gzip reader opens it.
    ///
    /// ```swift
    /// try FileBytes.writeAtomically(to: "field.raw.gz") { sink in
    ///     try Gzip.stored(into: sink) { write in try bytes.withUnsafeBytes(write) }
    /// }
    /// ```
    static func stored(into sink: (UnsafeRawBufferPointer) throws -> Void,
                       _ produce: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        try withoutActuallyEscaping(sink) { try storedMember(into: $0, produce) }
    }

    private static func storedMember(into sink: @escaping (UnsafeRawBufferPointer) throws -> Void,
                                     _ produce: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let blockLimit = 65535, capacity = 16 * (5 + blockLimit)
        let out = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { out.deallocate() }
        var used = 0, crc = crc32_z(0, nil, 0), size: UInt32 = 0
        func flush() throws {
            try sink(UnsafeRawBufferPointer(start: out, count: used))
            used = 0
        }
        func put(_ bytes: [UInt8]) {
            for b in bytes { out.storeBytes(of: b, toByteOffset: used, as: UInt8.self); used += 1 }
        }
        func blockHeader(length n: Int, final: Bool) {
            put([final ? 1 : 0, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)])
        }
        put([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3])   // gzip, deflate, no flags or time, Unix
        try produce { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            crc = crc32_z(crc, base.assumingMemoryBound(to: UInt8.self), bytes.count)
            size &+= UInt32(truncatingIfNeeded: bytes.count)
            var done = 0
            while done < bytes.count {
                let n = min(blockLimit, bytes.count - done)
                if used + 5 + n > capacity { try flush() }
                blockHeader(length: n, final: false)
                (out + used).copyMemory(from: base + done, byteCount: n)
                used += n
                done += n
            }
        }
        if used + 13 > capacity { try flush() }
        blockHeader(length: 0, final: true)
        for shift in stride(from: 0, to: 32, by: 8) { put([UInt8(truncatingIfNeeded: UInt32(crc) >> UInt32(shift))]) }
        for shift in stride(from: 0, to: 32, by: 8) { put([UInt8(truncatingIfNeeded: size >> UInt32(shift))]) }
        try flush()
    }

    /// Bytes per gzip member when a large gzip stream is compressed in parallel.
    static let memberSize = 8 << 20

    /// Compresses `chunks` as gzip (or as one zlib stream when `zlibFraming`). Gzip data larger
    /// than `memberSize` is cut into members of that size, compressed in parallel and
    /// concatenated, as pigz does: every gzip reader (zlib's `gzread`, ITK, nibabel) reads
    /// concatenated members as one stream. The cut depends only on the size, so the bytes are
    /// the same for any thread count.
    /// `strategy` is zlib's (`Z_HUFFMAN_ONLY`: entropy coding alone, for data without repeats).
    static func deflate(_ chunks: [[UInt8]], level: Int32 = 6, strategy: Int32 = Z_DEFAULT_STRATEGY, zlibFraming: Bool = false) -> [UInt8] {
        zlibFraming ? deflateMember(chunks, level: level, strategy: strategy, zlibFraming: true)
            : Array(gzipMembers(chunks, level: level, strategy: strategy).joined())
    }

    /// The gzip members of `chunks` (one when they are small), ready to be written one after another.
    static func gzipMembers(_ chunks: [[UInt8]], level: Int32 = 6, strategy: Int32 = Z_DEFAULT_STRATEGY) -> [[UInt8]] {
        let total = chunks.reduce(0) { $0 + $1.count }
        guard total > memberSize else { return [deflateMember(chunks, level: level, strategy: strategy, zlibFraming: false)] }
        let starts = chunks.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        let count = (total + memberSize - 1) / memberSize
        var members = [[UInt8]](repeating: [], count: count)
        members.withUnsafeMutableBufferPointer { m in
            let out = UnsafeSendable(m.baseAddress!)
            parallelFor(count: count) { range in
                for k in range {
                    // The pieces of the chunks that fall in this member's byte range.
                    let (lo, hi) = (k * memberSize, min(total, (k + 1) * memberSize))
                    let pieces = chunks.indices.compactMap { c -> [UInt8]? in
                        let a = max(lo, starts[c]), b = min(hi, starts[c + 1])
                        return a < b ? Array(chunks[c][(a - starts[c])..<(b - starts[c])]) : nil
                    }
                    out.value[k] = deflateMember(pieces, level: level, strategy: strategy, zlibFraming: false)
                }
            }
        }
        return members
    }

    /// Compresses `chunks` as one gzip member (or a zlib stream when `zlibFraming`).
    static func deflateMember(_ chunks: [[UInt8]], level: Int32, strategy: Int32, zlibFraming: Bool) -> [UInt8] {
        var stream = z_stream()
        let windowBits: Int32 = zlibFraming ? 15 : 15 + 16
        deflateInit2_(&stream, level, Z_DEFLATED, windowBits, 8, strategy, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        defer { deflateEnd(&stream) }
        let total = chunks.reduce(0) { $0 + $1.count }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(total))) + 64)
        var produced = 0
        for (k, chunk) in chunks.enumerated() {
            chunk.withUnsafeBufferPointer { inBuf in
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
                stream.avail_in = UInt32(inBuf.count)
                let flush = k == chunks.count - 1 ? Z_FINISH : Z_NO_FLUSH
                repeat {
                    if produced == out.count { out.append(contentsOf: [UInt8](repeating: 0, count: 1 << 20)) }
                    out.withUnsafeMutableBufferPointer { o in
                        let room = o.count - produced
                        stream.next_out = o.baseAddress! + produced
                        stream.avail_out = UInt32(room)
                        _ = CZlib.deflate(&stream, flush)
                        produced += room - Int(stream.avail_out)
                    }
                } while stream.avail_in > 0 || (flush == Z_FINISH && stream.avail_out == 0)
            }
        }
        if chunks.isEmpty {
            out.withUnsafeMutableBufferPointer { o in
                stream.next_out = o.baseAddress!
                stream.avail_out = UInt32(o.count)
                _ = CZlib.deflate(&stream, Z_FINISH)
                produced = o.count - Int(stream.avail_out)
            }
        }
        // The gzip size field fills the buffer exactly; otherwise a tight copy releases the rest.
        return produced == out.count ? out : Array(out[..<produced])
    }
}
