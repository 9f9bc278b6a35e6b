// Counts the process's heap allocations, for the allocation-count tests (Tests/SwitchyardTests/
// AllocationTests.swift): linked into the test executable only, never into `switchyard`.
#ifndef SWITCHYARD_ALLOCATION_COUNTER_H
#define SWITCHYARD_ALLOCATION_COUNTER_H

/// New heap blocks handed out so far by malloc, calloc, realloc(NULL, …) and the aligned
/// allocators, in every thread of the process.
long long switchyard_allocations(void);

#endif
