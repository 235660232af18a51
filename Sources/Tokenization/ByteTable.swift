import Foundation

/// An open-addressing hash map from byte strings to `Int32`, compared byte for byte.
///
/// The tokenizer keys its vocabulary and its word cache by raw UTF-8 bytes: Swift `String` keys would compare
/// by canonical equivalence (two different tokens such as "é" and "e\u{301}" would collide) and hash slowly.
struct ByteTable: Sendable {
    private var slots: [Int32]
    private var mask: Int
    private var starts: [Int32] = []
    private var lengths: [Int32] = []
    private var hashes: [UInt64] = []
    private(set) var values: [Int32] = []
    private var storage: [UInt8] = []

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    var count: Int { values.count }

    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return h ^ (h >> 29)
    }

    /// The value stored for `key`, or nil.
    @inline(__always)
    func find(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        let h = Self.hash(key)
        var slot = Int(truncatingIfNeeded: h) & mask
        return slots.withUnsafeBufferPointer { slots in
            storage.withUnsafeBufferPointer { storage in
                while true {
                    let entry = Int(slots[slot])
                    if entry < 0 { return nil }
                    if hashes[entry] == h, Int(lengths[entry]) == key.count {
                        let start = Int(starts[entry])
                        if key.count == 0
                            || memcmp(storage.baseAddress! + start, key.baseAddress!, key.count) == 0
                        {
                            return values[entry]
                        }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    func find(_ key: [UInt8]) -> Int32? { key.withUnsafeBufferPointer { find($0) } }

    /// Stores `value` for `key` unless the key is already present (the first value wins, as the vocabulary
    /// loaders expect). Returns whether it was inserted.
    @discardableResult
    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, _ value: Int32) -> Bool {
        if find(key) != nil { return false }
        if (values.count + 1) * 2 > slots.count { grow() }
        let h = Self.hash(key)
        var slot = Int(truncatingIfNeeded: h) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(values.count)
        starts.append(Int32(storage.count))
        lengths.append(Int32(key.count))
        hashes.append(h)
        values.append(value)
        storage.append(contentsOf: key)
        return true
    }

    @discardableResult
    mutating func insert(_ key: [UInt8], _ value: Int32) -> Bool { key.withUnsafeBufferPointer { insert($0, value) } }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        for entry in 0..<values.count {
            var slot = Int(truncatingIfNeeded: hashes[entry]) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(entry)
        }
    }
}

/// An open-addressing hash map from a pair of token ids to a merge (its rank and the merged id).
struct MergeTable: Sendable {
    private var keys: [UInt64]
    private var ranks: [Int32]
    private var merged: [Int32]
    private var mask: Int
    private(set) var count = 0
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        ranks = [Int32](repeating: 0, count: size)
        merged = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    @inline(__always)
    private static func slot(_ key: UInt64) -> Int {
        var x = key &* 0x9E37_79B9_7F4A_7C15
        x ^= x >> 31
        return Int(truncatingIfNeeded: x)
    }

    /// Adds the merge `a b → result` with `rank` unless the pair already has one (the first merge listed wins,
    /// as in `tokenizers`).
    mutating func insert(_ a: Int32, _ b: Int32, rank: Int32, result: Int32) {
        let k = Self.key(a, b)
        var slot = Self.slot(k) & mask
        while keys[slot] != Self.empty {
            if keys[slot] == k { return }
            slot = (slot + 1) & mask
        }
        keys[slot] = k
        ranks[slot] = rank
        merged[slot] = result
        count += 1
    }

    /// The rank and merged id of the pair, or nil.
    @inline(__always)
    func find(_ a: Int32, _ b: Int32) -> (rank: Int32, result: Int32)? {
        let k = Self.key(a, b)
        var slot = Self.slot(k) & mask
        while true {
            let stored = keys[slot]
            if stored == k { return (ranks[slot], merged[slot]) }
            if stored == Self.empty { return nil }
            slot = (slot + 1) & mask
        }
    }
}
