/// Joint label fusion's weights from its matrix A = M + αI: w solving A w = 1 with negative
/// weights set to 0, or the non-negative least-squares solution of A w ≈ 1 (Lawson & Hanson
/// 1974); either scaled to sum 1 (equal weights when nothing is left).
struct WeightSolver {
    let count: Int
    private var scratch: [Double]

    init(count: Int) {
        self.count = count
        scratch = [Double](repeating: 0, count: count * (count + 1))
    }

    /// The weights for the row-major `count × count` matrix `a`.
    mutating func weights(_ a: [Double], nonNegative: Bool) -> [Double] {
        var w = nonNegative ? nonNegativeLeastSquares(a) : solve(a, columns: Array(0..<count), rhs: [Double](repeating: 1, count: count))
        for i in 0..<count where !(w[i] > 0) { w[i] = 0 }
        let total = w.reduce(0, +)
        return total > 0 ? w.map { $0 / total } : [Double](repeating: 1 / Double(count), count: count)
    }

    /// Solves the square system of `a`'s rows and `columns` (as many as rows when square, or the
    /// normal equations of the chosen columns otherwise) by Gaussian elimination with partial
    /// pivoting; a singular pivot leaves its unknown 0.
    private mutating func solve(_ a: [Double], columns: [Int], rhs: [Double]) -> [Double] {
        let n = columns.count, width = n + 1
        // Normal equations over the chosen columns: (AᵀA) x = Aᵀb; for all columns of a
        // symmetric A the system A x = b itself.
        let square = n == count
        for r in 0..<n {
            for c in 0..<n {
                if square {
                    scratch[r * width + c] = a[r * count + c]
                } else {
                    var s = 0.0
                    for k in 0..<count { s += a[k * count + columns[r]] * a[k * count + columns[c]] }
                    scratch[r * width + c] = s
                }
            }
            if square {
                scratch[r * width + n] = rhs[r]
            } else {
                var s = 0.0
                for k in 0..<count { s += a[k * count + columns[r]] * rhs[k] }
                scratch[r * width + n] = s
            }
        }
        for col in 0..<n {
            var pivot = col
            for r in col + 1..<max(col + 1, n) where abs(scratch[r * width + col]) > abs(scratch[pivot * width + col]) { pivot = r }
            if pivot != col { for c in 0...n { scratch.swapAt(col * width + c, pivot * width + c) } }
            let p = scratch[col * width + col]
            guard abs(p) > 1e-300 else { continue }
            for r in col + 1..<max(col + 1, n) {
                let f = scratch[r * width + col] / p
                if f == 0 { continue }
                for c in col...n { scratch[r * width + c] -= f * scratch[col * width + c] }
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = scratch[r * width + n]
            for c in r + 1..<max(r + 1, n) { s -= scratch[r * width + c] * x[c] }
            let p = scratch[r * width + r]
            x[r] = abs(p) > 1e-300 ? s / p : 0
        }
        var full = [Double](repeating: 0, count: count)
        for (k, c) in columns.enumerated() { full[c] = x[k] }
        return full
    }

    /// Lawson–Hanson active-set NNLS for min ‖A w − 1‖ with w ≥ 0 (at most 3n outer steps).
    private mutating func nonNegativeLeastSquares(_ a: [Double]) -> [Double] {
        let ones = [Double](repeating: 1, count: count), tolerance = 1e-10
        var w = [Double](repeating: 0, count: count)
        var passive = [Bool](repeating: false, count: count)
        func gradient() -> [Double] {
            var residual = ones
            for r in 0..<count { for c in 0..<count { residual[r] -= a[r * count + c] * w[c] } }
            return (0..<count).map { c in (0..<count).reduce(0.0) { $0 + a[$1 * count + c] * residual[$1] } }
        }
        for _ in 0..<(3 * count) {
            let g = gradient()
            guard let j = (0..<count).filter({ !passive[$0] && g[$0] > tolerance }).max(by: { g[$0] < g[$1] }) else { break }
            passive[j] = true
            while true {
                let columns = (0..<count).filter { passive[$0] }
                let s = solve(a, columns: columns, rhs: ones)
                let blocked = columns.filter { s[$0] <= tolerance }
                if blocked.isEmpty { w = s; break }
                let step = blocked.map { w[$0] / (w[$0] - s[$0]) }.min() ?? 0
                for c in columns { w[c] += step * (s[c] - w[c]) }
                for c in columns where w[c] <= tolerance { passive[c] = false; w[c] = 0 }
                if !passive.contains(true) { break }
            }
        }
        return w
    }
}
