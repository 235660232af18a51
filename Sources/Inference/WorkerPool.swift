import Foundation
import Synchronization

/// Persistent worker threads for the forward pass's parallel loops.
///
/// Decoding one token runs a few hundred small parallel loops; waking a thread for each through Dispatch
/// costs tens of microseconds every time. Workers here spin on a generation counter for a while after each
/// job, so back-to-back loops start at once, and sleep on a condition when the pool has been idle.
@usableFromInline
final class WorkerPool: @unchecked Sendable {
    @usableFromInline static let shared = WorkerPool(workers: max(0, ProcessInfo.processInfo.activeProcessorCount - 1))

    @usableFromInline let workerCount: Int
    private let generation = Atomic<Int>(0)
    private let nextPart = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let active = Atomic<Bool>(false)
    /// Workers between taking the job and dropping their reference to it.
    private let inside = Atomic<Int>(0)
    private let condition = NSCondition()
    private let job = Mutex<UncheckedBox<(body: (Int) -> Void, parts: Int)>?>(nil)
    /// Spin iterations before a worker sleeps (roughly a millisecond).
    private let spinLimit = 200_000

    init(workers: Int) {
        workerCount = workers
        for i in 0..<workers {
            let t = Thread { [unowned self] in self.workerLoop() }
            t.name = "kiln-worker-\(i)"
            t.start()
        }
    }

    /// Runs `body(k)` for k in 0..<parts on the calling thread and the workers; returns when all are done.
    /// A nested or concurrent call runs serially on the caller.
    @usableFromInline
    func run(parts: Int, _ body: @escaping (Int) -> Void) {
        guard active.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for k in 0..<parts { body(k) }
            return
        }
        nextPart.store(0, ordering: .relaxed)
        finished.store(0, ordering: .relaxed)
        let box = UncheckedBox((body: body, parts: parts))
        job.withLock { $0 = box }
        generation.add(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            condition.lock()
            condition.broadcast()
            condition.unlock()
        }
        work(body, parts)
        var spins = 0
        while finished.load(ordering: .acquiring) < parts { Self.pause(&spins) }
        // The closure must not outlive this call (it is only "escaping" for the workers' sake).
        job.withLock { $0 = nil }
        while inside.load(ordering: .sequentiallyConsistent) > 0 { Self.pause(&spins) }
        active.store(false, ordering: .releasing)
    }

    /// Takes parts until none is left.
    private func work(_ body: (Int) -> Void, _ n: Int) {
        while true {
            let k = nextPart.add(1, ordering: .relaxed).oldValue
            if k >= n { break }
            body(k)
            finished.add(1, ordering: .releasing)
        }
    }

    private func workerLoop() {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                Self.pause(&spins)
                if spins >= spinLimit {
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    condition.lock()
                    while generation.load(ordering: .sequentiallyConsistent) == seen { condition.wait() }
                    condition.unlock()
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                }
            }
            seen = generation.load(ordering: .acquiring)
            inside.add(1, ordering: .sequentiallyConsistent)
            takeJob()
            inside.subtract(1, ordering: .sequentiallyConsistent)
        }
    }

    @inline(never)
    private func takeJob() {
        guard let box = job.withLock({ $0 }) else { return }
        work(box.value.body, box.value.parts)
    }

    /// A spin-wait step: busy for the first iterations, then yielding the core on every one, so a waiting
    /// thread does not starve the one it waits for when other processes compete for the cores.
    @inline(__always)
    static func pause(_ spins: inout Int) {
        spins += 1
        if spins > 2_000 { sched_yield() }
    }
}
