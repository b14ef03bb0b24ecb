/// The voxel storage of an `Image`: a fixed-size, contiguous, copy-on-write buffer that either owns
/// its memory or borrows a caller's (an array handed over the C ABI, adopted without a copy).
///
/// It reads like an `Array` (indexing, `count`, `withUnsafeBufferPointer`, every `Sequence` and
/// `Collection` method); writing through a copy that shares the memory, or into borrowed memory,
/// first copies it, so a borrowed buffer is never written.
///
/// ```swift
/// var a = VoxelBuffer<Float>(repeating: 0, count: 4)
/// let b = a                 // shares the memory
/// a[1] = 2                  // a copies first; b is still all zero
/// let owned = VoxelBuffer([1, 2, 3] as [Float])
/// ```
///
/// Like `Array` it is eager-move: a variable holding one may end its lifetime at its last use, so
/// a field that is no longer read is freed before the next one is made.
@_eagerMove
public struct VoxelBuffer<Element>: RandomAccessCollection, MutableCollection, @unchecked Sendable {
    @usableFromInline var storage: VoxelStorage<Element>

    /// `count` copies of `value`.
    @inlinable public init(repeating value: Element, count: Int) {
        storage = VoxelStorage(count: count)
        storage.base.initialize(repeating: value, count: count)
    }

    /// The elements of `array`, copied.
    @inlinable public init(_ array: [Element]) {
        storage = VoxelStorage(count: array.count)
        let base = storage.base
        array.withUnsafeBufferPointer { source in
            if let s = source.baseAddress { base.initialize(from: s, count: source.count) }
        }
    }

    /// `capacity` elements that `initializer` writes, as `Array(unsafeUninitializedCapacity:)`
    /// does; it must initialise every one of them and set the count to `capacity`.
    @inlinable public init(unsafeUninitializedCapacity capacity: Int,
                           initializingWith initializer: (inout UnsafeMutableBufferPointer<Element>, inout Int) throws -> Void) rethrows {
        storage = VoxelStorage(count: capacity)
        var buffer = UnsafeMutableBufferPointer(start: storage.base, count: capacity)
        var initialized = 0
        try initializer(&buffer, &initialized)
        precondition(initialized == capacity, "VoxelBuffer: \(initialized) of \(capacity) elements initialised")
    }

    /// Borrows `count` elements at `base`, which must stay valid and unchanged until `release`
    /// runs (when the last copy of the buffer is gone). The buffer never writes them: a write
    /// copies them first.
    public init(borrowing base: UnsafeMutablePointer<Element>, count: Int, release: @escaping @Sendable () -> Void) {
        storage = VoxelStorage(borrowing: base, count: count, release: release)
    }

    /// Whether the elements are a caller's memory, borrowed (see `init(borrowing:count:release:)`).
    public var isBorrowed: Bool { storage.release != nil }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { storage.count }
    @inlinable public var count: Int { storage.count }

    @inlinable public subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < storage.count, "VoxelBuffer index out of range")
            return storage.base[index]
        }
        set {
            precondition(index >= 0 && index < storage.count, "VoxelBuffer index out of range")
            makeUnique()
            storage.base[index] = newValue
        }
    }

    /// Calls `body` with the elements' memory.
    @inlinable public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(UnsafeBufferPointer(start: storage.base, count: storage.count)) }
    }

    /// Calls `body` with the elements' memory, writable (copied first when shared or borrowed).
    @inlinable public mutating func withUnsafeMutableBufferPointer<R>(_ body: (inout UnsafeMutableBufferPointer<Element>) throws -> R) rethrows -> R {
        makeUnique()
        let storage = self.storage
        var buffer = UnsafeMutableBufferPointer(start: storage.base, count: storage.count)
        return try withExtendedLifetime(storage) { try body(&buffer) }
    }

    /// Calls `body` with the elements' bytes.
    @inlinable public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBufferPointer { try body(UnsafeRawBufferPointer($0)) }
    }

    @inlinable public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R? {
        try withUnsafeBufferPointer(body)
    }

    /// Copies the elements into storage of its own unless this buffer is their only owner.
    @inlinable mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) || storage.release != nil {
            storage = storage.copy()
        }
    }
}

extension VoxelBuffer: Equatable where Element: Equatable {
    @inlinable public static func == (a: VoxelBuffer, b: VoxelBuffer) -> Bool {
        if a.storage === b.storage { return true }
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a.storage.base[i] != b.storage.base[i] { return false }
        return true
    }

    /// Whether the buffer holds `array`'s elements.
    @inlinable public static func == (a: VoxelBuffer, b: [Element]) -> Bool { a.elementsEqual(b) }
    @inlinable public static func == (a: [Element], b: VoxelBuffer) -> Bool { a.elementsEqual(b) }
    @inlinable public static func != (a: VoxelBuffer, b: [Element]) -> Bool { !a.elementsEqual(b) }
    @inlinable public static func != (a: [Element], b: VoxelBuffer) -> Bool { !a.elementsEqual(b) }
}

extension VoxelBuffer: ExpressibleByArrayLiteral {
    @inlinable public init(arrayLiteral elements: Element...) { self.init(elements) }
}

extension Array {
    /// The buffer's elements, copied into an array.
    @inlinable public init(_ buffer: VoxelBuffer<Element>) {
        self = buffer.withUnsafeBufferPointer { Array($0) }
    }
}

/// The memory behind a `VoxelBuffer`: allocated here (and freed at deinit) or a caller's
/// (`release` runs at deinit instead).
@usableFromInline final class VoxelStorage<Element> {
    @usableFromInline let base: UnsafeMutablePointer<Element>
    @usableFromInline let count: Int
    @usableFromInline let release: (@Sendable () -> Void)?

    /// Room for `count` elements, uninitialised (plain `malloc`: an over-aligned block would leave
    /// the heap blocks it frees too small for the next volume of the same size).
    @usableFromInline init(count: Int) {
        precondition(count >= 0)
        base = UnsafeMutablePointer<Element>.allocate(capacity: max(1, count))
        self.count = count
        release = nil
    }

    init(borrowing base: UnsafeMutablePointer<Element>, count: Int, release: @escaping @Sendable () -> Void) {
        self.base = base
        self.count = count
        self.release = release
    }

    /// The same elements in storage of their own.
    @usableFromInline func copy() -> VoxelStorage {
        let copy = VoxelStorage(count: count)
        copy.base.initialize(from: base, count: count)
        return copy
    }

    deinit {
        if let release {
            release()
        } else {
            base.deinitialize(count: count)
            base.deallocate()
        }
    }
}

/// Values in one contiguous block that code can read through a pointer: `Array` and
/// `VoxelBuffer`, so a kernel takes either without a copy.
///
/// ```swift
/// func total(_ v: some ContiguousValues<Float>) -> Float { v.withUnsafeBufferPointer { $0.reduce(0, +) } }
/// ```
public protocol ContiguousValues<Element>: RandomAccessCollection where Index == Int {
    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R
}

extension Array: ContiguousValues {}
extension VoxelBuffer: ContiguousValues {}
