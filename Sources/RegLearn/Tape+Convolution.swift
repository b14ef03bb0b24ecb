extension Tape {
    /// A same-padded convolution with side-3 kernels. `weight` has shape (out, in, kz, ky, kx) as
    /// PyTorch lays it out — kz = 1 for a planar network — and `bias` (1, out, 1, 1, 1). Kernel
    /// extents are odd; a 3-D kernel also runs on a grid one voxel deep (zeros beyond it).
    /// `stride: 2` gives PyTorch's stride-2 convolution (padding 1, ⌈n/2⌉ outputs per axis) as the
    /// stride-1 one read at every second voxel: exact, with the cost of the stride-1 convolution.
    ///
    /// ```swift
    /// let y = tape.convolution(x, weight: w, bias: b)              // x: N×in×D×H×W → y: N×out×D×H×W
    /// let h = tape.convolution(x, weight: w, bias: b, stride: 2)   // → N×out×⌈D/2⌉×⌈H/2⌉×⌈W/2⌉
    /// ```
    public func convolution(_ x: Variable, weight: Variable, bias: Variable, stride: Int) -> Variable {
        precondition(stride == 1 || stride == 2, "convolution stride must be 1 or 2, found \(stride)")
        let y = convolution(x, weight: weight, bias: bias)
        return stride == 1 ? y : subsampled(y, alongDepth: shape(weight).depth > 1)
    }

    /// The stride-1 convolution; with `leakyReLUSlope`, followed by `leakyReLU(_:slope:)` in the
    /// same pass (the same values, one tensor fewer).
    ///
    /// ```swift
    /// let h = tape.convolution(x, weight: w, bias: b, leakyReLUSlope: 0.2)
    /// ```
    public func convolution(_ x: Variable, weight: Variable, bias: Variable, leakyReLUSlope slope: Float? = nil) -> Variable {
        let xs = shape(x), ws = shape(weight)
        precondition(ws.channels == xs.channels, "convolution weight \(ws) does not fit input \(xs)")
        let kernels = ConvolutionKernels(spatial: xs.spatial, kernel: ws.spatial)
        let cin = xs.channels, cout = ws.batch, n = xs.spatialCount
        let ys = xs.with(channels: cout)
        // Every output is written, each page first by the worker that computes it.
        let y = [Float](unsafeUninitializedCapacity: ys.count) { yp, count in
            withValue(x) { xp in
                withValue(weight) { wp in
                    withValue(bias) { bp in
                        for item in 0..<xs.batch {
                            kernels.forward(input: xp + item * cin * n, inChannels: cin, weights: wp, bias: bp,
                                            outChannels: cout, output: yp.baseAddress! + item * cout * n,
                                            leakyReLUSlope: slope)
                        }
                    }
                }
            }
            count = ys.count
        }
        return record(ys, y, inputs: [x, weight, bias]) { [unowned self] out in
            withGradient(out) { activated in
                guard let slope else {
                    return convolutionBackward(x, weight: weight, bias: bias, kernels: kernels, outputGradient: activated)
                }
                // Through the activation first: y > 0 exactly where its input is.
                let masked = withValue(out) { yv in (0..<ys.count).map { yv[$0] > 0 ? activated[$0] : slope * activated[$0] } }
                masked.withUnsafeBufferPointer {
                    convolutionBackward(x, weight: weight, bias: bias, kernels: kernels, outputGradient: $0.baseAddress!)
                }
            }
        }
    }

    /// `convolution(concatenate([upsampleNearest(coarse), skip]), …)`: a U-Net decoder step.
    /// In a volume with no gradient to record (inference), the Winograd tiles read `coarse`
    /// through its upsampling and both inputs in place, so neither the upsampled nor the
    /// concatenated tensor is built (the same values to the bit); otherwise the three layers are
    /// recorded.
    ///
    /// ```swift
    /// let y = tape.convolution(upsampling: x, concatenatedWith: skip, weight: w, bias: b, leakyReLUSlope: 0.2)
    /// ```
    public func convolution(upsampling coarse: Variable, concatenatedWith skip: Variable, weight: Variable,
                            bias: Variable, leakyReLUSlope slope: Float? = nil) -> Variable {
        let cs = shape(coarse), ss = shape(skip), ws = shape(weight)
        let inPlace = !cs.isPlanar && ws.spatial == SIMD3(3, 3, 3) && cs.batch == 1 && ss.batch == 1
            && ss.spatial == cs.spatial &* 2 && ![coarse, skip, weight, bias].contains { needsGradient[$0.id] }
        guard inPlace else {
            let up = upsampleNearest(coarse)
            let x = concatenate([up, skip])
            release(up)
            defer { release(x) }
            return convolution(x, weight: weight, bias: bias, leakyReLUSlope: slope)
        }
        precondition(ws.channels == cs.channels + ss.channels, "convolution weight \(ws) does not fit inputs \(cs) and \(ss)")
        let ys = ss.with(channels: ws.batch)
        let y = [Float](unsafeUninitializedCapacity: ys.count) { yp, count in
            withValue(coarse) { cp in
                withValue(skip) { sp in
                    withValue(weight) { wp in
                        withValue(bias) { bp in
                            let inputs = [VolumeConvolution.Input(values: cp, channels: cs.channels, upsampled: true),
                                          VolumeConvolution.Input(values: sp, channels: ss.channels)]
                            VolumeConvolution(spatial: ss.spatial).forward(inputs: inputs, weights: wp, bias: bp, outChannels: ws.batch,
                                                                           output: yp.baseAddress!, leakyReLUSlope: slope)
                        }
                    }
                }
            }
            count = ys.count
        }
        return record(ys, y, inputs: [coarse, skip, weight, bias]) { _ in }
    }

    /// Gradients of x, the weights and the bias of a stride-1 convolution from the gradient of its output.
    private func convolutionBackward(_ x: Variable, weight: Variable, bias: Variable, kernels: ConvolutionKernels,
                                     outputGradient g: UnsafePointer<Float>) {
        let xs = shape(x), cin = xs.channels, cout = shape(weight).batch, n = xs.spatialCount
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
