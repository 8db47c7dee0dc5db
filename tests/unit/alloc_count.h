/* Counting allocations in a unit test binary: "the hot path allocates nothing" checked
 * by a test (test_check.c: a response's checks and captures; test_cookie.c: a jar in
 * steady state). Included by exactly one source file of a test binary (it defines
 * malloc, calloc and realloc over glibc's own); not under ASan, which owns malloc: there
 * COUNTING is 0 and a test skips its counts. nallocs counts calls since the start; a
 * test reads it before and after the code it measures. One thread only. */
#ifndef STAMPEDE_TESTS_UNIT_ALLOC_COUNT_H
#define STAMPEDE_TESTS_UNIT_ALLOC_COUNT_H
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define COUNTING 0
#else
#define COUNTING 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t m, size_t n);
extern void *__libc_realloc(void *p, size_t n);
static size_t nallocs;
void *malloc(size_t n) { nallocs++; return __libc_malloc(n); }
void *calloc(size_t m, size_t n) { nallocs++; return __libc_calloc(m, n); }
void *realloc(void *p, size_t n) { nallocs++; return __libc_realloc(p, n); }
#endif
#endif
