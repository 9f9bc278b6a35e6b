import CMalloc

/// glibc's allocator, set for a process that holds request bodies of megabytes for seconds.
///
/// By default glibc maps a large block (128 KiB at first) and unmaps it when freed, but raises
/// that threshold to the size of each mapped block freed, up to 32 MiB: after the first request
/// body, every later one came from the heap arenas, where freed memory stays resident. A gateway
/// that had served 64 bodies of 4 MB at once kept 900 MB after they ended. A fixed threshold keeps
/// every body-sized block mapped, so its memory goes back to the system when its request ends.
/// What a burst leaves in the arenas (the small blocks of its reads, parses and answers, freed
/// but scattered: some 30–60 MB after 64 bodies) is given back when the burst is over
/// (`returnFreeMemory`, called by `BodyBudget`). Measured in docs/benchmarks.md (Memory).
public enum MallocTuning {
    /// Blocks at least this large are mapped on their own.
    static let mmapThreshold: Int32 = 256 << 10

    /// At start-up, before anything allocates much: the setting applies to later allocations.
    public static func apply() {
        mallopt(M_MMAP_THRESHOLD, mmapThreshold)
    }

    /// Hands the free pages of every arena back to the system: a few milliseconds, so only after
    /// a burst of large bodies has ended, not per request.
    static func returnFreeMemory() {
        malloc_trim(0)
    }
}
