// Counts heap allocations of a process, for scripts/bench-proxy's
// "allocations per request": LD_PRELOAD the shared object built from this
// file (`cc -O2 -shared -fPIC -o malloc-counter.so malloc-counter.c`) and set
// MALLOC_COUNTER_OUT to a file; at exit the process writes
// "allocations N" there. The real allocator is glibc's own (`__libc_*`), so
// no dlsym is needed and nothing allocates while counting.
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_ulong allocations;

void *malloc(size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    // A realloc of NULL is an allocation; growing a block in place is counted too (it costs a call).
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_realloc(pointer, size);
}

void *memalign(size_t alignment, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) { return memalign(alignment, size); }

int posix_memalign(void **result, size_t alignment, size_t size) {
    void *pointer = memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}

void free(void *pointer) { __libc_free(pointer); }

__attribute__((destructor)) static void report(void) {
    const char *path = getenv("MALLOC_COUNTER_OUT");
    if (path == NULL) return;
    FILE *file = fopen(path, "w");
    if (file == NULL) return;
    fprintf(file, "allocations %lu\n", atomic_load(&allocations));
    fclose(file);
}
