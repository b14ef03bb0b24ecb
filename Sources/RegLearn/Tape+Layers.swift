import RegCore

extension Tape {
    /// max(x, slope · x), elementwise (VoxelMorph's activation, slope 0.2).
    public func leakyReLU(_ x: Variable, slope: Float = 0.2) -> Variable {
        let y = values[x.id].map { $0 > 0 ? $0 : slope * $0 }
        return record(shape(x), y, inputs: [x]) { [unowned self] out in
            withGradient(out) { g in
                withValue(x) { xv in
                    accumulate(x) { gx in
                        for i in 0..<shapes[x.id].count { gx[i] += xv[i] > 0 ? g[i] : slope * g[i] }
                    }
                }
            }
        }
    }

    /// a + b, elementwise, for tensors of one shape.
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        precondition(shape(a) == shape(b), "add: \(shape(a)) and \(shape(b)) differ")
        let y = zip(values[a.id], values[b.id]).map { $0 + $1 }
        return record(shape(a), y, inputs: [a, b]) { [unowned self] out in
            withGradient(out) { g in
                for v in [a, b] { accumulate(v) { gv in for i in 0..<shapes[v.id].count { gv[i] += g[i] } } }
            }
        }
    }

    /// factor · x.
    public func scaled(_ x: Variable, by factor: Float) -> Variable {
        let y = values[x.id].map { $0 * factor }
        return record(shape(x), y, inputs: [x]) { [unowned self] out in
            withGradient(out) { g in accumulate(x) { gx in for i in 0..<shapes[x.id].count { gx[i] += factor * g[i] } } }
        }
    }

    /// Stacks tensors of one grid along the channel axis.
    public func concatenate(_ parts: [Variable]) -> Variable {
        let first = shape(parts[0])
        precondition(parts.allSatisfy { shape($0).with(channels: 1) == first.with(channels: 1) },
                     "concatenate: grids differ: \(parts.map { shape($0) })")
        let channels = parts.map { shape($0).channels }
        let ys = first.with(channels: channels.reduce(0, +)), n = first.spatialCount
        var y = [Float]()
        y.reserveCapacity(ys.count)
        for item in 0..<first.batch {
            for (p, c) in zip(parts, channels) { y += values[p.id][(item * c * n)..<((item + 1) * c * n)] }
        }
        return record(ys, y, inputs: parts) { [unowned self] out in
            withGradient(out) { g in
                var offset = 0
                for item in 0..<first.batch {
                    for (p, c) in zip(parts, channels) {
                        accumulate(p) { gp in for i in 0..<(c * n) { gp[item * c * n + i] += g[offset + i] } }
                        offset += c * n
                    }
                }
            }
        }
    }

    /// Maximum over 2×2 blocks, or 2×2×2 with `alongDepth` (default: when the grid has depth);
    /// odd trailing voxels are dropped.
    public func maxPool(_ x: Variable, alongDepth: Bool? = nil) -> Variable {
        let xs = shape(x), factor = SIMD3(2, 2, alongDepth ?? !xs.isPlanar ? 2 : 1)
        let size = xs.spatial / factor
        precondition(size.x > 0 && size.y > 0 && size.z > 0, "maxPool: \(xs) is too small to halve")
        let ys = xs.with(spatial: size), planes = xs.batch * xs.channels
        var y = [Float](repeating: 0, count: ys.count)
        // Where each maximum came from, kept only for a gradient.
        let tracking = needsGradient[x.id]
        var argmax = [Int32](repeating: 0, count: tracking ? ys.count : 0)
        let (inN, outN) = (xs.spatialCount, ys.spatialCount)
        withValue(x) { xv in
            y.withUnsafeMutableBufferPointer { yb in
                argmax.withUnsafeMutableBufferPointer { ab in
                    let (sx, sy, sa) = (UnsafeSendable(xv), UnsafeSendable(yb.baseAddress!), UnsafeSendable(ab.baseAddress!))
                    parallelFor(count: planes * size.z, chunkSize: 8) { slabs in
                        for slab in slabs {
                            let plane = slab / size.z, z = slab - plane * size.z
                            let source = sx.value + plane * inN
                            for yy in 0..<size.y {
                                for xx in 0..<size.x {
                                    var best = -Float.infinity, at = 0
                                    for a in 0..<factor.z {
                                        for b in 0..<2 {
                                            for c in 0..<2 {
                                                let i = ((z * factor.z + a) * xs.height + yy * 2 + b) * xs.width + xx * 2 + c
                                                if source[i] > best { best = source[i]; at = i }
                                            }
                                        }
                                    }
                                    let o = plane * outN + (z * size.y + yy) * size.x + xx
                                    sy.value[o] = best
                                    if tracking { sa.value[o] = Int32(at) }
                                }
                            }
                        }
                    }
                }
            }
        }
        return record(ys, y, inputs: [x]) { [unowned self] out in
            withGradient(out) { g in
                accumulate(x) { gx in
                    for plane in 0..<planes {
                        for o in 0..<outN { gx[plane * inN + Int(argmax[plane * outN + o])] += g[plane * outN + o] }
                    }
                }
            }
        }
    }

    /// Nearest-neighbour upsampling by 2 in-plane, and along depth with `alongDepth` (default: when the grid has depth).
    public func upsampleNearest(_ x: Variable, alongDepth: Bool? = nil) -> Variable {
        let xs = shape(x), factor = SIMD3(2, 2, alongDepth ?? !xs.isPlanar ? 2 : 1)
        let ys = xs.with(spatial: xs.spatial &* factor)
        var source = [Int32](repeating: 0, count: ys.spatialCount)
        for z in 0..<ys.depth {
            for yy in 0..<ys.height {
                for xx in 0..<ys.width {
                    source[(z * ys.height + yy) * ys.width + xx] = Int32(((z / factor.z) * xs.height + yy / 2) * xs.width + xx / 2)
                }
            }
        }
        return gathered(x, shape: ys, source: source)
    }

    /// Output voxel o of every channel reads input voxel `source[o]`; gradients add back there.
    private func gathered(_ x: Variable, shape ys: TensorShape, source: [Int32]) -> Variable {
        let xs = shape(x), planes = xs.batch * xs.channels
        let (inN, outN) = (xs.spatialCount, ys.spatialCount)
        var y = [Float](repeating: 0, count: ys.count)
        withValue(x) { xv in
            for plane in 0..<planes { for o in 0..<outN { y[plane * outN + o] = xv[plane * inN + Int(source[o])] } }
        }
        return record(ys, y, inputs: [x]) { [unowned self] out in
            withGradient(out) { g in
                accumulate(x) { gx in
                    for plane in 0..<planes { for o in 0..<outN { gx[plane * inN + Int(source[o])] += g[plane * outN + o] } }
                }
            }
        }
    }
}

extension Tape {
    /// Every second voxel, starting at the first: ⌈n/2⌉ voxels along each in-plane axis, and along
    /// depth with `alongDepth` (default: when the grid has depth). With a same-padded convolution
    /// before it, this is PyTorch's stride-2 convolution (kernel 3, padding 1).
    ///
    /// ```swift
    /// let half = tape.subsampled(x)   // N×C×80×96×112 → N×C×40×48×56
    /// ```
    public func subsampled(_ x: Variable, alongDepth: Bool? = nil) -> Variable {
        let xs = shape(x), factor = SIMD3(2, 2, alongDepth ?? !xs.isPlanar ? 2 : 1)
        let ys = xs.with(spatial: (xs.spatial &+ factor &- 1) / factor)
        var source = [Int32](repeating: 0, count: ys.spatialCount)
        for z in 0..<ys.depth {
            for yy in 0..<ys.height {
                for xx in 0..<ys.width {
                    source[(z * ys.height + yy) * ys.width + xx] = Int32(((z * factor.z) * xs.height + yy * 2) * xs.width + xx * 2)
                }
            }
        }
        return gathered(x, shape: ys, source: source)
    }
}
