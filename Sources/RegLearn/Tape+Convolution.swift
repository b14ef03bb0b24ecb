extension Tape {
    /// A same-padded, stride-1 convolution with side-3 kernels. `weight` has shape
    /// (out, in, kz, ky, kx) as PyTorch lays it out — kz = 1 for a planar network — and `bias` (1, out, 1, 1, 1).
    /// Kernel extents are odd; a 3-D kernel also runs on a grid one voxel deep (zeros beyond it).
    ///
    /// ```swift
    /// let y = tape.convolution(x, weight: w, bias: b)   // x: N×in×D×H×W → y: N×out×D×H×W
    /// ```
    public func convolution(_ x: Variable, weight: Variable, bias: Variable) -> Variable {
        let xs = shape(x), ws = shape(weight)
        precondition(ws.channels == xs.channels, "convolution weight \(ws) does not fit input \(xs)")
        let kernels = ConvolutionKernels(spatial: xs.spatial, kernel: ws.spatial)
        let cin = xs.channels, cout = ws.batch, n = xs.spatialCount
        let ys = xs.with(channels: cout)
        var y = [Float](repeating: 0, count: ys.count)
        withValue(x) { xp in
            withValue(weight) { wp in
                withValue(bias) { bp in
                    y.withUnsafeMutableBufferPointer { yp in
                        for item in 0..<xs.batch {
                            kernels.forward(input: xp + item * cin * n, inChannels: cin, weights: wp, bias: bp,
                                            outChannels: cout, output: yp.baseAddress! + item * cout * n)
                        }
                    }
                }
            }
        }
        return record(ys, y, inputs: [x, weight, bias]) { [unowned self] out in
            withGradient(out) { g in
                withValue(x) { xp in
                    withValue(weight) { wp in
                        accumulate(x) { gx in
                            for item in 0..<xs.batch {
                                kernels.backwardInput(outputGradient: g + item * cout * n, outChannels: cout, weights: wp,
                                                      inChannels: cin, inputGradient: gx + item * cin * n)
                            }
                        }
                        accumulate(weight) { gw in
                            for item in 0..<xs.batch {
                                kernels.backwardWeights(input: xp + item * cin * n, inChannels: cin,
                                                        outputGradient: g + item * cout * n, outChannels: cout,
                                                        weightGradient: gw)
                            }
                        }
                        accumulate(bias) { gb in
                            for co in 0..<cout {
                                var s: Double = 0
                                for item in 0..<xs.batch {
                                    let row = g + (item * cout + co) * n
                                    for j in 0..<n { s += Double(row[j]) }
                                }
                                gb[co] += Float(s)
                            }
                        }
                    }
                }
            }
        }
    }
}
