import CMalloc

/// glibc's allocator, set for a process that holds request bodies of megabytes for seconds.
///
/// By default glibc maps a large block (128 KiB at first) and unmaps it when freed, but raises
/// that threshold to the size of each mapped block freed, up to 32 MiB: after the first request
/// body, every later one came from the heap arenas, where freed memory stays resident. A gateway
/// that had served 64 bodies of 4 MB at once kept 600 MB after they ended. A fixed threshold
/// keeps every body-sized block mapped, so its memory goes back to the system when its request
/// ends; smaller blocks still come from the arenas. Measured in docs/benchmarks.md (Memory).
enum MallocTuning {
    /// Blocks at least this large are mapped on their own.
    static let mmapThreshold: Int32 = 256 << 10

    /// Before anything allocates much: the setting applies to allocations made after it.
    static func apply() {
        mallopt(M_MMAP_THRESHOLD, mmapThreshold)
    }
}
