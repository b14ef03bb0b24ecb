/// One of Winograd's minimal filtering algorithms F(m, 3) (Lavin & Gray 2016): m outputs of a
/// 3-tap correlation from α = m + 2 inputs d as y = Aᵀ[(G g) ⊙ (Bᵀ d)], with α multiplications
/// instead of 3m. `WinogradConvolution` applies it along x, y and z in turn.
///
/// The transforms work on rows of `count` values (one value per tile), 16 lanes at a time, and
/// on the lines of inputs split into m phases: phase r holds x[m·k + r − 1] for k = 0 … tiles
/// (zero outside the line), so that the α inputs of tile t are phases 0 … m−1 at k = t followed
/// by phases 0 and 1 at k = t + 1.
///
/// ```swift
/// let conv = WinogradConvolution<WinogradF4>(spatial: SIMD3(160, 192, 224))
/// ```
protocol WinogradTile {
    /// Outputs per tile and axis, m.
    static var outputs: Int { get }
    /// G, α × 3: the kernel's transform.
    static var kernelTransform: [[Double]] { get }
    /// Bᵀ on the lanes at column t of the α rows at `d + rows[i]` (i < α, so α ≤ 8): α rows
    /// written `step` apart from `out`.
    static func transformInput<L: WinogradLanes>(_: L.Type, _ d: UnsafePointer<Float>, rows: SIMD8<Int>, at t: Int,
                                                 into out: UnsafeMutablePointer<Float>, step: Int)
    /// Aᵀ on the lanes at column t of the α rows at `m + rows[i]`: m rows written `step` apart from `out`.
    static func transformOutput<L: WinogradLanes>(_: L.Type, _ m: UnsafePointer<Float>, rows: SIMD8<Int>, at t: Int,
                                                  into out: UnsafeMutablePointer<Float>, step: Int)
    /// Phases 1 … m−1 at k … k + 7 and phase 0 at k + 1 … k + 8 from the 8 · m values at `x`
    /// (= x[m·k …]); `phases` points at phase 0, k, and phases lie `stride` apart.
    static func splitBlock(_ x: UnsafePointer<Float>, into phases: UnsafeMutablePointer<Float>, stride: Int)
    /// The same for the line x[j] = coarse[j / 2], from the 4 · m values at `coarse` (= coarse[m·k / 2 …]).
    static func splitUpsampledBlock(_ coarse: UnsafePointer<Float>, into phases: UnsafeMutablePointer<Float>, stride: Int)
}

extension WinogradTile {
    /// Inputs per tile and axis, α = m + 2.
    static var inputs: Int { outputs + 2 }

    /// Bᵀ over `count` columns.
    @inline(__always)
    static func transformInput(_ d: UnsafePointer<Float>, rows: SIMD8<Int>, count: Int, into out: UnsafeMutablePointer<Float>,
                               step: Int) {
        transform(.input, d, rows: rows, count: count, into: out, step: step)
    }

    /// Aᵀ over `count` columns.
    @inline(__always)
    static func transformOutput(_ m: UnsafePointer<Float>, rows: SIMD8<Int>, count: Int, into out: UnsafeMutablePointer<Float>,
                                step: Int) {
        transform(.output, m, rows: rows, count: count, into: out, step: step)
    }

    /// Bᵀ or Aᵀ over `count` columns: 16 lanes, then 8, then one at a time (`pass` is a constant
    /// wherever this is inlined, so the choice costs nothing).
    @inline(__always)
    static func transform(_ pass: WinogradPass, _ d: UnsafePointer<Float>, rows: SIMD8<Int>, count: Int,
                          into out: UnsafeMutablePointer<Float>, step: Int) {
        @inline(__always)
        func columns<L: WinogradLanes>(_ lanes: L.Type, at t: Int) {
            switch pass {
            case .input: transformInput(lanes, d, rows: rows, at: t, into: out, step: step)
            case .output: transformOutput(lanes, d, rows: rows, at: t, into: out, step: step)
            }
        }
        var t = 0
        while t &+ 16 <= count { columns(SIMD16<Float>.self, at: t); t &+= 16 }
        if t &+ 8 <= count { columns(SIMD8<Float>.self, at: t); t &+= 8 }
        while t < count { columns(Float.self, at: t); t &+= 1 }
    }

    /// Splits the line x (`count` values) into the m phases of `tiles` + 1 values, `stride` apart.
    @inline(__always)
    static func split(_ x: UnsafePointer<Float>, count: Int, into phases: UnsafeMutablePointer<Float>, tiles: Int, stride: Int) {
        let m = outputs
        phases[0] = 0
        var k = 0
        while m &* (k &+ 8) <= count { splitBlock(x + m &* k, into: phases + k, stride: stride); k &+= 8 }
        for j in (m &* k &+ 1)..<(m &* (tiles &+ 1)) { phases[(j % m) &* stride &+ j / m] = j <= count ? x[j &- 1] : 0 }
    }

    /// Splits the line x[j] = coarse[j / 2] (`count` values, even) into the m phases.
    @inline(__always)
    static func splitUpsampled(_ coarse: UnsafePointer<Float>, count: Int, into phases: UnsafeMutablePointer<Float>, tiles: Int,
                               stride: Int) {
        let m = outputs
        phases[0] = 0
        var k = 0
        while m &* (k &+ 8) <= count { splitUpsampledBlock(coarse + m / 2 &* k, into: phases + k, stride: stride); k &+= 8 }
        for j in (m &* k &+ 1)..<(m &* (tiles &+ 1)) {
            phases[(j % m) &* stride &+ j / m] = j <= count ? coarse[(j &- 1) / 2] : 0
        }
    }
}

/// F(4, 3) on the points 0, ±1, ½, −2 and ∞: in 3-D, 216 multiplications for 64 outputs, 8×
/// fewer than the direct sum (F(2, 3): 3.4×). Of the point sets tried, this one rounds least in
/// Float: over 48 channels about 5e-6 of the values' scale on average and 1.2e-5 at worst,
/// against 1.3e-5 and 3.4e-5 for the usual 0, ±1, ±2 (F(2, 3): 4e-7 and 1.2e-6).
///
/// With the tiles of F(4, 3) instead of F(2, 3), 3-D VM-1 inference on 160×192×224 took 2.6 s
/// instead of 4.1 s, with the same Dice and folding on real brains.
enum WinogradF4: WinogradTile {
    static var outputs: Int { 4 }
    static let kernelTransform: [[Double]] = [[1, 0, 0], [1.0 / 3, 1.0 / 3, 1.0 / 3], [-1.0 / 3, 1.0 / 3, -1.0 / 3],
                                              [-16.0 / 15, -8.0 / 15, -4.0 / 15], [1.0 / 15, -2.0 / 15, 4.0 / 15], [0, 0, 1]]

    @inline(__always)
    static func transformInput<L: WinogradLanes>(_: L.Type, _ d: UnsafePointer<Float>, rows: SIMD8<Int>, at t: Int,
                                                 into out: UnsafeMutablePointer<Float>, step: Int) {
        let d0 = L.load(d + (rows[0] &+ t)), d1 = L.load(d + (rows[1] &+ t)), d2 = L.load(d + (rows[2] &+ t))
        let d3 = L.load(d + (rows[3] &+ t)), d4 = L.load(d + (rows[4] &+ t)), d5 = L.load(d + (rows[5] &+ t))
        (d0 + d4 - 2 * d2 + 1.5 * (d3 - d1)).store(out + t)
        (d4 - d1 + 0.5 * d2 + 2.5 * d3).store(out + (step &+ t))
        (d4 + d1 - 2.5 * d2 + 0.5 * d3).store(out + (2 &* step &+ t))
        (d4 - d2 + 2 * (d3 - d1)).store(out + (3 &* step &+ t))
        (d4 - d2 + 0.5 * (d1 - d3)).store(out + (4 &* step &+ t))
        (d5 + d1 - 2 * d3 + 1.5 * (d4 - d2)).store(out + (5 &* step &+ t))
    }

    @inline(__always)
    static func transformOutput<L: WinogradLanes>(_: L.Type, _ m: UnsafePointer<Float>, rows: SIMD8<Int>, at t: Int,
                                                  into out: UnsafeMutablePointer<Float>, step: Int) {
        let m0 = L.load(m + (rows[0] &+ t)), m1 = L.load(m + (rows[1] &+ t)), m2 = L.load(m + (rows[2] &+ t))
        let m3 = L.load(m + (rows[3] &+ t)), m4 = L.load(m + (rows[4] &+ t)), m5 = L.load(m + (rows[5] &+ t))
        let sum = m1 + m2, difference = m1 - m2
        (m0 + sum + m3 + m4).store(out + t)
        (difference + 0.5 * m3 - 2 * m4).store(out + (step &+ t))
        (sum + 0.25 * m3 + 4 * m4).store(out + (2 &* step &+ t))
        (difference + 0.125 * m3 - 8 * m4 + m5).store(out + (3 &* step &+ t))
    }

    @inline(__always)
    static func splitBlock(_ x: UnsafePointer<Float>, into phases: UnsafeMutablePointer<Float>, stride: Int) {
        let v = UnsafeRawPointer(x).loadUnaligned(as: SIMD32<Float>.self)
        let even = v.evenHalf, odd = v.oddHalf
        even.evenHalf.store(phases + stride)        // x[4k]
        odd.evenHalf.store(phases + 2 &* stride)    // x[4k + 1]
        even.oddHalf.store(phases + 3 &* stride)    // x[4k + 2]
        odd.oddHalf.store(phases + 1)               // x[4k + 3]
    }

    @inline(__always)
    static func splitUpsampledBlock(_ coarse: UnsafePointer<Float>, into phases: UnsafeMutablePointer<Float>, stride: Int) {
        let v = SIMD16<Float>.load(coarse)
        let even = v.evenHalf, odd = v.oddHalf      // x[4k] = x[4k + 1] = coarse[2k], x[4k + 2] = x[4k + 3] = coarse[2k + 1]
        even.store(phases + stride)
        even.store(phases + 2 &* stride)
        odd.store(phases + 3 &* stride)
        odd.store(phases + 1)
    }
}

/// The transform into Winograd's domain (Bᵀ) or back out of it (Aᵀ).
enum WinogradPass { case input, output }

/// Floats or vectors of them, so that one transform serves the vector body and the tail.
protocol WinogradLanes {
    static func load(_ p: UnsafePointer<Float>) -> Self
    func store(_ p: UnsafeMutablePointer<Float>)
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Float, b: Self) -> Self
}

extension Float: WinogradLanes {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Float { p.pointee }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) { p.pointee = self }
}

extension SIMD16: WinogradLanes where Scalar == Float {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self { UnsafeRawPointer(p).loadUnaligned(as: Self.self) }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self) }
}

extension SIMD8: WinogradLanes where Scalar == Float {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self { UnsafeRawPointer(p).loadUnaligned(as: Self.self) }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self) }
}
