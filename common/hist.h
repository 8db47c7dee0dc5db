/* Log-linear latency histogram (HDR-style): microseconds, 1 us to 2^32-1 us (~71 min),
 * 3 significant digits (1024 linear steps per power of two, error < 0.1%). Two
 * histograms merge exactly by adding counts, so a master's merged percentiles equal
 * those of one histogram fed every sample.
 *
 * Index layout: values 0..1023 map to themselves (scale 0, exact). A value v >= 1024
 * with highest set bit m (10 <= m <= 31) falls in scale s = m - 9, step 2^(m-10):
 * index = s * 1024 + ((v >> (m - 10)) - 1024). 23 scales x 1024 = 23552 counters.
 *
 * Memory: a dense histogram is 184 KiB; a worker holds one per (thread, name) and
 * 16 threads x 200 names must stay under 64 MiB, whatever the run's length. So a
 * histogram has two forms:
 *   sparse  a sorted array of (index, count) pairs, 8 bytes per distinct bucket, while
 *           at most HIST_SPARSE_MAX buckets are non-zero (binary search to record;
 *           a new bucket is an insertion into the array);
 *   dense   1 KiB chunks of 128 uint64 counters, allocated at a chunk's first touch,
 *           through a table of HIST_NCHUNKS pointers allocated on the switch.
 * hist_reset (once per interval in a shard) returns a dense histogram's chunks and table
 * to a pool kept per thread and goes back to sparse, keeping the pair array. So a
 * shard's memory follows one interval's samples, not the run's whole spread, and steady
 * state allocates nothing: chunks come from the pool, the pair array keeps its capacity.
 * Merged whole-run totals on the master simply turn dense.
 *
 * Sparse counts are uint32: a count that would pass 2^32-1 switches the histogram to
 * dense first, so no count is ever lost to width.
 *
 * One thread owns a histogram; nothing here locks. Wire form: proto/msg.c. */
#ifndef COMMON_HIST_H
#define COMMON_HIST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_STEP_BITS  10
#define HIST_SCALES     23
#define HIST_NCOUNTS    (HIST_SCALES << HIST_STEP_BITS)            /* 23552 */
#define HIST_CHUNK_BITS 7
#define HIST_CHUNK_LEN  (1u << HIST_CHUNK_BITS)                     /* 128 counters */
#define HIST_NCHUNKS    (HIST_NCOUNTS >> HIST_CHUNK_BITS)           /* 184 */
#define HIST_MAX_US     ((UINT64_C(1) << 32) - 1)
#define HIST_SPARSE_MAX 512                                         /* pairs before dense */

typedef struct hist_pair { uint32_t idx, count; } hist_pair;

typedef struct hist {
    uint64_t total;              /* values recorded (including clamped) */
    uint64_t clamped;            /* values above HIST_MAX_US, stored as HIST_MAX_US */
    uint64_t lost;               /* values not stored because a chunk allocation failed */
    uint64_t min_us, max_us;     /* exact; min_us is UINT64_MAX while empty */
    uint64_t sum_us;             /* exact sum of recorded values (clamped at HIST_MAX_US) */
    hist_pair *pairs;            /* sparse form: sorted by idx; owned; kept by reset */
    uint32_t   npairs, cappairs;
    uint64_t **chunk;            /* dense form: HIST_NCHUNKS pointers, or NULL while sparse */
} hist;

/* hist_init prepares memory the caller owns; hist_fini frees everything it holds (the
 * struct stays the caller's). hist_reset empties it: a dense histogram's chunks and
 * table go to this thread's pool and it turns sparse again; the pair array is kept. */
void hist_init(hist *h);
void hist_fini(hist *h);
void hist_reset(hist *h);
/* Frees this thread's pool; call before a thread that used histograms ends. */
void hist_pool_drain(void);
size_t hist_pool_bytes(void);               /* bytes parked in this thread's pool */

/* Hot path: no failure visible to the caller (an allocation failure counts the value
 * in lost). Values above HIST_MAX_US are stored as
 * the max and counted in clamped, so totals still match what was recorded. */
void hist_record(hist *h, uint64_t value_us);
void hist_record_n(hist *h, uint64_t value_us, uint64_t n);

/* dst += src (counts, total, clamped, lost, min, max, sum). 0, or -1 if a chunk could
 * not be allocated (dst then holds a partial sum). */
int hist_add(hist *dst, const hist *src);

/* Index arithmetic, for the wire codec: hist_index(v) for v <= HIST_MAX_US;
 * hist_index_high(i) is the highest value stored at index i. */
uint32_t hist_index(uint64_t value_us);
uint64_t hist_index_high(uint32_t idx);
uint64_t hist_index_low(uint32_t idx);
/* Adds n at index idx (idx < HIST_NCOUNTS), without touching total/min/max/sum: the
 * decoder restores those from the wire. 0, or -1 on a bad index or allocation failure. */
int hist_add_at(hist *h, uint32_t idx, uint64_t n);

/* p in [0, 100]: the highest value of the bucket holding the p-th percentile sample,
 * clamped into [min_us, max_us]; 0 when empty. */
uint64_t hist_percentile(const hist *h, double p);
double   hist_mean(const hist *h);          /* sum_us / total; 0 when empty */
size_t   hist_bytes(const hist *h);         /* heap bytes held (pairs, table, chunks) */
bool     hist_is_dense(const hist *h);
/* A dense histogram gets every chunk it still lacks (zeroed: HIST_NCHUNKS of them, 185
 * KiB in all), so it allocates nothing more whatever values come; a sparse one is left
 * alone. For whole-run totals (master/merge.h merge_fill_dense): a chunk taken at a
 * latency's first visit makes a long run's memory creep up with every new stretch of
 * its tail; filled at once, it is flat. 0, or -1 when a chunk could not be had (those
 * had are kept; the rest come at first touch, as before). */
int      hist_fill(hist *h);
size_t   hist_nonzero(const hist *h);       /* number of non-zero counters */

/* Non-zero counters in value order. Borrows h, which must not change meanwhile. */
typedef struct hist_iter {
    const hist *h;
    uint32_t    next;            /* next index to look at */
    uint32_t    idx;             /* current index */
    uint64_t    count;           /* current count */
} hist_iter;
void hist_iter_init(hist_iter *it, const hist *h);
bool hist_iter_next(hist_iter *it);
#endif /* COMMON_HIST_H */
