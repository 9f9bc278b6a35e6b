// The allocation counter the tests read, in the manner of swift-nio's allocation-counter tests:
// the test executable defines malloc and its kin, which the dynamic linker then binds every
// library of the process to (libswiftCore, libcurl, NIO's allocations alike); each counts and
// hands over to glibc's own allocator through its exported __libc_* entry points. Hand-written
// because no package of the catalogue counts allocations of a whole process: swift-nio keeps its
// counter in its own integration-test harness, not in a library. glibc only (Linux).
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "CAllocationCounter.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static _Atomic long long allocations;

static inline void count(void) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); }

long long switchyard_allocations(void) { return atomic_load_explicit(&allocations, memory_order_relaxed); }

__attribute__((visibility("default"))) void *malloc(size_t size) {
    count();
    return __libc_malloc(size);
}

__attribute__((visibility("default"))) void *calloc(size_t n, size_t size) {
    count();
    return __libc_calloc(n, size);
}

__attribute__((visibility("default"))) void *realloc(void *pointer, size_t size) {
    if (pointer == NULL) count();
    return __libc_realloc(pointer, size);
}

__attribute__((visibility("default"))) void free(void *pointer) { __libc_free(pointer); }

__attribute__((visibility("default"))) void *memalign(size_t alignment, size_t size) {
    count();
    return __libc_memalign(alignment, size);
}

__attribute__((visibility("default"))) void *aligned_alloc(size_t alignment, size_t size) {
    count();
    return __libc_memalign(alignment, size);
}

__attribute__((visibility("default"))) int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment == 0 || alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL && size != 0) return ENOMEM;
    count();
    *out = pointer;
    return 0;
}
