/// The subword models behind `Tokenizer`: merge-rank BPE (Hugging Face `tokenizers`), score-ranked BPE
/// (SentencePiece and llama.cpp's SPM tokenizer) and Unigram (Viterbi over piece log-probabilities). Each
/// turns one pre-tokenized word, as UTF-8 bytes, into token ids.

/// UTF-8 sequence length from a leading byte (1 for stray continuation bytes, as llama.cpp's `unicode_len_utf8`).
@inline(__always)
func utf8SequenceLength(_ lead: UInt8) -> Int {
    if lead < 0x80 { return 1 }
    if lead >= 0xF0 { return 4 }
    if lead >= 0xE0 { return 3 }
    if lead >= 0xC0 { return 2 }
    return 1
}

/// Byte-fallback piece ids `<0x00>`…`<0xFF>` (-1 where the vocabulary lacks one).
func byteFallbackIDs(_ lookup: (String) -> Int32?) -> [Int32] {
    let hex = Array("0123456789ABCDEF")
    return (0..<256).map { byte in lookup("<0x\(hex[byte >> 4])\(hex[byte & 15])>") ?? -1 }
}

/// Hugging Face `tokenizers` BPE: the word starts as one symbol per byte (byte-level models) or per
/// character, and the adjacent pair with the lowest merge rank is merged until no pair has a merge; ties go
/// to the leftmost pair, which is what `tokenizers`' and llama.cpp's priority queues (rank, then position)
/// amount to.
struct MergeBPEModel: Sendable {
    /// Token bytes → id. Byte-level tokens are stored as the raw bytes their GPT-2 alphabet stands for.
    var vocab: ByteTable
    var merges: MergeTable
    /// Byte-level: symbols start as bytes, each mapped through this table.
    var byteLevel: Bool
    var byteIDs: [Int32]
    /// `byte_fallback`: unknown characters become `<0xXX>` pieces (ids in `fallbackIDs`).
    var byteFallback: Bool
    var fallbackIDs: [Int32]
    var unknownID: Int32?
    var fuseUnknown: Bool
    /// `ignore_merges`: a word that is itself a token is not split (Llama 3).
    var ignoreMerges: Bool

    /// Appends the ids of `word` to `output`. `symbols` and `ranks` are scratch buffers.
    func encode(
        _ word: UnsafeBufferPointer<UInt8>, into output: inout [Int32], symbols: inout [Int32], ranks: inout [Int32],
        results: inout [Int32]
    ) {
        if ignoreMerges, let id = vocab.find(word) {
            output.append(id)
            return
        }
        symbols.removeAll(keepingCapacity: true)
        if byteLevel {
            for byte in word {
                let id = byteIDs[Int(byte)]
                if id >= 0 { symbols.append(id) } else if let unknownID { appendUnknown(unknownID, &symbols) }
            }
        } else {
            var i = 0
            var lastWasUnknown = false
            while i < word.count {
                let length = min(utf8SequenceLength(word[i]), word.count - i)
                let char = UnsafeBufferPointer(rebasing: word[i..<(i + length)])
                if let id = vocab.find(char) {
                    symbols.append(id)
                    lastWasUnknown = false
                } else if byteFallback, char.allSatisfy({ fallbackIDs[Int($0)] >= 0 }) {
                    for byte in char { symbols.append(fallbackIDs[Int(byte)]) }
                    lastWasUnknown = false
                } else if let unknownID {
                    if !(fuseUnknown && lastWasUnknown) { symbols.append(unknownID) }
                    lastWasUnknown = true
                }
                i += length
            }
        }
        mergeSymbols(&symbols, ranks: &ranks, results: &results)
        output.append(contentsOf: symbols)
    }

    @inline(__always)
    private func appendUnknown(_ id: Int32, _ symbols: inout [Int32]) {
        if !(fuseUnknown && symbols.last == id) { symbols.append(id) }
    }

    private struct Candidate: Comparable {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftID: Int32
        var rightID: Int32
        static func < (a: Candidate, b: Candidate) -> Bool { a.rank != b.rank ? a.rank < b.rank : a.left < b.left }
    }

    /// The same merges for long words (e.g. a whole text when there is no pre-tokenizer) in O(n log n): a
    /// priority queue of (rank, position) over a linked list. A queued pair is stale when either side no longer
    /// holds the id it was queued with (symbols only ever grow, so an unchanged id means an unchanged symbol).
    func mergeSymbolsWithHeap(_ symbols: inout [Int32]) {
        let n = symbols.count
        var next = (0..<n).map { $0 + 1 < n ? Int32($0 + 1) : -1 }
        var prev = (0..<n).map { Int32($0) - 1 }
        var heap = BinaryHeap<Candidate>()
        func push(_ l: Int32, _ r: Int32) {
            guard l >= 0, r >= 0, let merge = merges.find(symbols[Int(l)], symbols[Int(r)]) else { return }
            heap.push(Candidate(rank: merge.rank, left: l, right: r, leftID: symbols[Int(l)], rightID: symbols[Int(r)]))
        }
        for i in 0..<(n - 1) { push(Int32(i), Int32(i + 1)) }
        while let top = heap.pop() {
            let l = Int(top.left), r = Int(top.right)
            guard symbols[l] == top.leftID, symbols[r] == top.rightID, next[l] == top.right,
                let merge = merges.find(top.leftID, top.rightID)
            else { continue }
            symbols[l] = merge.result
            symbols[r] = -1
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = top.left }
            push(prev[l], top.left)
            push(top.left, next[l])
        }
        symbols.removeAll { $0 < 0 }
    }

    /// Repeatedly merges the lowest-ranked adjacent pair (leftmost on ties).
    func mergeSymbols(_ symbols: inout [Int32], ranks: inout [Int32], results: inout [Int32]) {
        let n = symbols.count
        guard n > 1 else { return }
        if n > 256 {
            mergeSymbolsWithHeap(&symbols)
            return
        }
        ranks.removeAll(keepingCapacity: true)
        results.removeAll(keepingCapacity: true)
        for i in 0..<(n - 1) {
            if let merge = merges.find(symbols[i], symbols[i + 1]) {
                ranks.append(merge.rank); results.append(merge.result)
            } else {
                ranks.append(Int32.max); results.append(-1)
            }
        }
        var count = n
        symbols.withUnsafeMutableBufferPointer { sym in
            ranks.withUnsafeMutableBufferPointer { rank in
                results.withUnsafeMutableBufferPointer { result in
                    while count > 1 {
                        var best = -1
                        var bestRank = Int32.max
                        for i in 0..<(count - 1) where rank[i] < bestRank {
                            bestRank = rank[i]
                            best = i
                        }
                        if best < 0 { break }
                        sym[best] = result[best]
                        // Remove symbol best+1 and pair best (which is now gone).
                        var j = best + 1
                        while j < count - 1 {
                            sym[j] = sym[j + 1]
                            j += 1
                        }
                        j = best
                        while j < count - 2 {
                            rank[j] = rank[j + 1]
                            result[j] = result[j + 1]
                            j += 1
                        }
                        count -= 1
                        if best > 0 { update(sym, rank, result, best - 1) }
                        if best < count - 1 { update(sym, rank, result, best) }
                    }
                }
            }
        }
        symbols.removeLast(n - count)
    }

    @inline(__always)
    private func update(
        _ sym: UnsafeMutableBufferPointer<Int32>, _ rank: UnsafeMutableBufferPointer<Int32>,
        _ result: UnsafeMutableBufferPointer<Int32>, _ i: Int
    ) {
        if let merge = merges.find(sym[i], sym[i + 1]) {
            rank[i] = merge.rank; result[i] = merge.result
        } else {
            rank[i] = Int32.max; result[i] = -1
        }
    }
}

/// Score-ranked BPE, as SentencePiece's `bpe_model.cc` and llama.cpp's `llm_tokenizer_spm` do it: start from
/// characters, repeatedly merge the adjacent pair whose concatenation is a piece with the highest score
/// (leftmost on ties), then emit each symbol as its piece, or — for characters that are no piece — as
/// `<0xXX>` byte pieces (byte fallback) or the unknown piece.
struct ScoreBPEModel: Sendable {
    var vocab: ByteTable
    var scores: [Float]
    var fallbackIDs: [Int32]
    var byteFallback: Bool
    var unknownID: Int32?

    private struct Candidate: Comparable {
        var score: Float
        var left: Int32
        var right: Int32
        var length: Int32
        static func < (a: Candidate, b: Candidate) -> Bool {
            a.score != b.score ? a.score > b.score : a.left < b.left
        }
    }

    func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        guard !text.isEmpty else { return }
        var starts: [Int32] = []
        var lengths: [Int32] = []
        var i = 0
        while i < text.count {
            let length = min(utf8SequenceLength(text[i]), text.count - i)
            starts.append(Int32(i)); lengths.append(Int32(length))
            i += length
        }
        let n = starts.count
        var prev = (0..<n).map { Int32($0) - 1 }
        var next = (0..<n).map { $0 + 1 < n ? Int32($0 + 1) : -1 }
        var heap = BinaryHeap<Candidate>()
        func tryAdd(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let start = Int(starts[Int(left)])
            let length = Int(lengths[Int(left)] + lengths[Int(right)])
            guard let id = vocab.find(UnsafeBufferPointer(rebasing: text[start..<(start + length)])) else { return }
            heap.push(Candidate(score: scores[Int(id)], left: left, right: right, length: Int32(length)))
        }
        for k in 0..<(n - 1) { tryAdd(Int32(k), Int32(k + 1)) }
        while let top = heap.pop() {
            let l = Int(top.left), r = Int(top.right)
            // Stale: one side was merged away or grew since this candidate was queued.
            guard lengths[l] > 0, lengths[r] > 0, next[l] == top.right, lengths[l] + lengths[r] == top.length else {
                continue
            }
            lengths[l] += lengths[r]
            lengths[r] = 0
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = top.left }
            tryAdd(prev[l], top.left)
            tryAdd(top.left, next[l])
        }
        var k: Int32 = 0
        while k >= 0 {
            let start = Int(starts[Int(k)])
            let piece = UnsafeBufferPointer(rebasing: text[start..<(start + Int(lengths[Int(k)]))])
            if let id = vocab.find(piece) {
                output.append(id)
            } else if byteFallback, piece.allSatisfy({ fallbackIDs[Int($0)] >= 0 }) {
                for byte in piece { output.append(fallbackIDs[Int(byte)]) }
            } else if let unknownID {
                output.append(unknownID)
            }
            k = next[Int(k)]
        }
    }
}

/// SentencePiece Unigram: the segmentation with the highest total piece score (Viterbi). A character no
/// piece starts with gets the unknown piece with score `min score - 10` (`kUnkPenalty`), and becomes
/// `<0xXX>` pieces when byte fallback is on.
struct UnigramModel: Sendable {
    var vocab: ByteTable
    var scores: [Float]
    var maxPieceBytes: Int
    var unknownID: Int32
    var unknownScore: Float
    var byteFallback: Bool
    var fallbackIDs: [Int32]
    /// Consecutive unknown characters become one unknown piece (`tokenizers`' Unigram `fuse_unk`).
    var fuseUnknown: Bool

    func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let n = text.count
        guard n > 0 else { return }
        var best = [Float](repeating: -.infinity, count: n + 1)
        var backStart = [Int32](repeating: -1, count: n + 1)
        var backID = [Int32](repeating: -1, count: n + 1)
        best[0] = 0
        var start = 0
        while start < n {
            let charLength = min(utf8SequenceLength(text[start]), n - start)
            if best[start] == -.infinity { start += charLength; continue }
            var hasSingleChar = false
            var end = start + 1
            let limit = min(n, start + maxPieceBytes)
            while end <= limit {
                // Only whole characters: skip ends inside a UTF-8 sequence.
                if end < n, text[end] & 0xC0 == 0x80 { end += 1; continue }
                if let id = vocab.find(UnsafeBufferPointer(rebasing: text[start..<end])) {
                    if end - start == charLength { hasSingleChar = true }
                    let candidate = best[start] + scores[Int(id)]
                    if candidate > best[end] {
                        best[end] = candidate; backStart[end] = Int32(start); backID[end] = id
                    }
                }
                end += 1
            }
            if !hasSingleChar {
                let end = start + charLength
                let candidate = best[start] + unknownScore
                if candidate > best[end] {
                    best[end] = candidate; backStart[end] = Int32(start); backID[end] = unknownID
                }
            }
            start += charLength
        }
        var path: [(start: Int, end: Int, id: Int32)] = []
        var end = n
        while end > 0 {
            let s = Int(backStart[end])
            path.append((s, end, backID[end]))
            end = s
        }
        var lastUnknown = false
        for (s, e, id) in path.reversed() {
            if id == unknownID, byteFallback, text[s..<e].allSatisfy({ fallbackIDs[Int($0)] >= 0 }) {
                for byte in text[s..<e] { output.append(fallbackIDs[Int(byte)]) }
                lastUnknown = false
                continue
            }
            if id == unknownID {
                if !(fuseUnknown && lastUnknown) { output.append(id) }
                lastUnknown = true
            } else {
                output.append(id)
                lastUnknown = false
            }
        }
    }
}

/// A minimal binary min-heap.
struct BinaryHeap<Element: Comparable> {
    private var items: [Element] = []

    mutating func push(_ item: Element) {
        items.append(item)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < items.count, items[l] < items[smallest] { smallest = l }
                if r < items.count, items[r] < items[smallest] { smallest = r }
                if smallest == i { break }
                items.swapAt(i, smallest)
                i = smallest
            }
        }
        return first
    }
}
