/* Log-linear latency histogram: see common/hist.h for the index layout and the two
 * forms (sparse pairs, dense chunks) with the per-thread pool behind them.
 *
 * Invariants: a sparse histogram has chunk == NULL and pairs[0..npairs) sorted by idx
 * with every count >= 1; a dense one has chunk != NULL and npairs == 0 (its pair array
 * stays allocated for the next sparse phase). Chunks in the pool are dirty (their first
 * 8 bytes link the list) and are zeroed when taken; so are tables.
 *
 * Decisions the header leaves open, written down here:
 * - A value that cannot be stored (pair array, table or chunk allocation failed) still
 *   counts in total, min, max and sum (so request totals stay true) and is counted in
 *   lost; percentiles rank over the stored samples, total - lost. hist_add counts the
 *   src counters it could not store in dst->lost for the same reason.
 * - The switch to dense is all or nothing: if one of its chunks cannot be had, the
 *   histogram stays sparse with every count it had, and the new value is lost.
 * - The pair array starts at HIST_PAIRS_MIN pairs and doubles up to HIST_SPARSE_MAX.
 * - hist_add(h, h) is not supported (dst and src must differ).
 * - hist_iter.next is a position in the pair array while h is sparse, a counter index
 *   while it is dense (the struct's fields are the iterator's own).
 * - hist_index_high/low of an index >= HIST_NCOUNTS answer as for the last index. */
#include "common/hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HIST_PAIRS_MIN    8u
#define HIST_CHUNK_BYTES  (HIST_CHUNK_LEN * sizeof(uint64_t))             /* 1 KiB */
#define HIST_TABLE_BYTES  (HIST_NCHUNKS * sizeof(uint64_t *))             /* 1472 B */

/* ---- per-thread pool of chunks and tables -------------------------------------- */

/* Free lists linked through each block's first pointer-sized bytes. */
typedef struct hist_pool {
    void  *chunks, *tables;
    size_t nchunks, ntables;
} hist_pool;
static __thread hist_pool hist_tls_pool;

static void *hist_pool_pop(void **head)
{
    void *b = *head;
    if (b != NULL)
        memcpy(head, b, sizeof *head);
    return b;
}

static void hist_pool_push(void **head, void *b)
{
    memcpy(b, head, sizeof *head);
    *head = b;
}

/* A zeroed chunk: this thread's pool first, then the heap. NULL if neither has one. */
static uint64_t *hist_chunk_take(void)
{
    hist_pool *pl = &hist_tls_pool;
    uint64_t *c = hist_pool_pop(&pl->chunks);
    if (c == NULL)
        return calloc(HIST_CHUNK_LEN, sizeof(uint64_t));
    pl->nchunks--;
    memset(c, 0, HIST_CHUNK_BYTES);
    return c;
}

static void hist_chunk_give(uint64_t *c)
{
    hist_pool_push(&hist_tls_pool.chunks, c);
    hist_tls_pool.nchunks++;
}

static uint64_t **hist_table_take(void)
{
    hist_pool *pl = &hist_tls_pool;
    uint64_t **t = hist_pool_pop(&pl->tables);
    if (t == NULL)
        return calloc(HIST_NCHUNKS, sizeof(uint64_t *));
    pl->ntables--;
    memset(t, 0, HIST_TABLE_BYTES);
    return t;
}

static void hist_table_give(uint64_t **t)
{
    hist_pool_push(&hist_tls_pool.tables, t);
    hist_tls_pool.ntables++;
}

/* Returns a dense histogram's chunks and table to the pool; h->chunk becomes NULL. */
static void hist_give_dense(hist *h)
{
    for (uint32_t c = 0; c < HIST_NCHUNKS; c++)
        if (h->chunk[c] != NULL)
            hist_chunk_give(h->chunk[c]);
    hist_table_give(h->chunk);
    h->chunk = NULL;
}

int hist_fill(hist *h)
{
    if (h->chunk == NULL)
        return 0;
    for (uint32_t c = 0; c < HIST_NCHUNKS; c++)
        if (h->chunk[c] == NULL && (h->chunk[c] = hist_chunk_take()) == NULL)
            return -1;
    return 0;
}

void hist_pool_drain(void)
{
    hist_pool *pl = &hist_tls_pool;
    void *b;
    while ((b = hist_pool_pop(&pl->chunks)) != NULL)
        free(b);
    while ((b = hist_pool_pop(&pl->tables)) != NULL)
        free(b);
    pl->nchunks = pl->ntables = 0;
}

size_t hist_pool_bytes(void)
{
    return hist_tls_pool.nchunks * HIST_CHUNK_BYTES + hist_tls_pool.ntables * HIST_TABLE_BYTES;
}

/* ---- index arithmetic ---------------------------------------------------------- */

/* Index of a value <= HIST_MAX_US, without branches. With m the highest set bit of
 * v | 1024 (so m >= 10) and sh = m - 10, the index is sh * 1024 + (v >> sh): for
 * v < 1024 that is v itself (scale 0), otherwise it equals the header's
 * (m - 9) * 1024 + ((v >> (m - 10)) - 1024). */
static inline uint32_t hist_idx(uint64_t v)
{
    unsigned sh = (unsigned)(63 - __builtin_clzll(v | 1024)) - HIST_STEP_BITS;
    return (uint32_t)((sh << HIST_STEP_BITS) + (v >> sh));
}

uint32_t hist_index(uint64_t value_us)
{
    return hist_idx(value_us > HIST_MAX_US ? HIST_MAX_US : value_us);
}

uint64_t hist_index_low(uint32_t idx)
{
    if (idx >= HIST_NCOUNTS)
        idx = HIST_NCOUNTS - 1;
    if (idx < (1u << HIST_STEP_BITS))
        return idx;
    unsigned sh = (idx >> HIST_STEP_BITS) - 1;
    return (uint64_t)(idx - (sh << HIST_STEP_BITS)) << sh;
}

uint64_t hist_index_high(uint32_t idx)
{
    if (idx >= HIST_NCOUNTS)
        idx = HIST_NCOUNTS - 1;
    unsigned sh = idx < (1u << HIST_STEP_BITS) ? 0 : (idx >> HIST_STEP_BITS) - 1;
    return hist_index_low(idx) + (UINT64_C(1) << sh) - 1;
}

/* ---- the two forms --------------------------------------------------------------- */

/* Dense: the counter at idx += n, allocating its chunk at first touch. */
static inline int hist_dense_add(hist *h, uint32_t idx, uint64_t n)
{
    uint64_t *c = h->chunk[idx >> HIST_CHUNK_BITS];
    if (__builtin_expect(c == NULL, 0)) {
        if ((c = hist_chunk_take()) == NULL)
            return -1;
        h->chunk[idx >> HIST_CHUNK_BITS] = c;
    }
    c[idx & (HIST_CHUNK_LEN - 1)] += n;
    return 0;
}

/* Sparse: the last pair whose idx <= the wanted one, or pairs[0] when every pair is
 * above it (npairs >= 1). Branch-free halving: at most 10 steps over 512 pairs. */
static inline hist_pair *hist_pair_floor(hist_pair *p, uint32_t n, uint32_t idx)
{
    while (n > 1) {
        uint32_t half = n >> 1;
        p = p[half].idx <= idx ? p + half : p;
        n -= half;
    }
    return p;
}

/* Grows the pair array to hold at least need pairs (need <= HIST_SPARSE_MAX). */
static int hist_pairs_reserve(hist *h, uint32_t need)
{
    if (need <= h->cappairs)
        return 0;
    uint32_t cap = h->cappairs ? h->cappairs : HIST_PAIRS_MIN;
    while (cap < need)
        cap *= 2;
    if (cap > HIST_SPARSE_MAX)
        cap = HIST_SPARSE_MAX;
    hist_pair *p = realloc(h->pairs, cap * sizeof *p);
    if (p == NULL)
        return -1;
    h->pairs = p;
    h->cappairs = cap;
    return 0;
}

/* Sparse to dense: the pairs move into chunks of a new table; npairs becomes 0 and the
 * array stays. All or nothing: on failure h is unchanged. */
static int hist_to_dense(hist *h)
{
    uint64_t **t = hist_table_take();
    if (t == NULL)
        return -1;
    for (uint32_t k = 0; k < h->npairs; k++) {
        uint32_t idx = h->pairs[k].idx;
        uint64_t *c = t[idx >> HIST_CHUNK_BITS];
        if (c == NULL) {
            if ((c = hist_chunk_take()) == NULL) {
                hist undo = { .chunk = t };     /* table and chunks so far to the pool */
                hist_give_dense(&undo);
                return -1;
            }
            t[idx >> HIST_CHUNK_BITS] = c;
        }
        c[idx & (HIST_CHUNK_LEN - 1)] = h->pairs[k].count;
    }
    h->chunk = t;
    h->npairs = 0;
    return 0;
}

/* Sparse slow path: a new bucket (an insertion, or the switch to dense when the pairs
 * are full or n does not fit a uint32), or a count that would pass UINT32_MAX. pos is
 * where idx belongs; hit says pairs[pos] already holds it. */
static int hist_sparse_slow(hist *h, uint32_t idx, uint64_t n, uint32_t pos, bool hit)
{
    if (hit || n > UINT32_MAX || h->npairs >= HIST_SPARSE_MAX) {
        if (hist_to_dense(h) != 0)
            return -1;
        return hist_dense_add(h, idx, n);
    }
    if (hist_pairs_reserve(h, h->npairs + 1) != 0)
        return -1;
    hist_pair *p = h->pairs;
    memmove(&p[pos + 1], &p[pos], (h->npairs - pos) * sizeof *p);
    p[pos].idx = idx;
    p[pos].count = (uint32_t)n;
    h->npairs++;
    return 0;
}

/* counter[idx] += n in either form; 0, or -1 if memory was missing (nothing added).
 * The hot path of hist_record: forced inline, as a call here costs as much as the
 * search (measured ~7 ns sparse-hit and ~8 ns dense per record, ~16 ns with 500
 * pairs; ~10 ns and ~33 ns when called). */
static inline __attribute__((always_inline)) int hist_add_idx(hist *h, uint32_t idx,
                                                              uint64_t n)
{
    if (h->chunk != NULL)
        return hist_dense_add(h, idx, n);
    if (h->npairs == 0)
        return hist_sparse_slow(h, idx, n, 0, false);
    hist_pair *p = hist_pair_floor(h->pairs, h->npairs, idx);
    if (p->idx == idx) {
        if (__builtin_expect(n <= UINT32_MAX - p->count, 1)) {
            p->count += (uint32_t)n;
            return 0;
        }
        return hist_sparse_slow(h, idx, n, (uint32_t)(p - h->pairs), true);
    }
    return hist_sparse_slow(h, idx, n, (uint32_t)(p - h->pairs) + (p->idx < idx), false);
}

/* ---- lifecycle ------------------------------------------------------------------- */

void hist_init(hist *h)
{
    memset(h, 0, sizeof *h);
    h->min_us = UINT64_MAX;
}

void hist_fini(hist *h)
{
    if (h == NULL)
        return;
    if (h->chunk != NULL) {
        for (uint32_t c = 0; c < HIST_NCHUNKS; c++)
            free(h->chunk[c]);
        free(h->chunk);
    }
    free(h->pairs);
    hist_init(h);
}

void hist_reset(hist *h)
{
    if (h->chunk != NULL)
        hist_give_dense(h);
    h->npairs = 0;
    h->total = h->clamped = h->lost = h->sum_us = h->max_us = 0;
    h->min_us = UINT64_MAX;
}

/* ---- recording and merging --------------------------------------------------------- */

void hist_record(hist *h, uint64_t value_us)
{
    hist_record_n(h, value_us, 1);
}

void hist_record_n(hist *h, uint64_t value_us, uint64_t n)
{
    if (n == 0)
        return;
    if (__builtin_expect(value_us > HIST_MAX_US, 0)) {
        value_us = HIST_MAX_US;
        h->clamped += n;
    }
    h->total += n;
    h->sum_us += value_us * n;
    if (value_us < h->min_us)
        h->min_us = value_us;
    if (value_us > h->max_us)
        h->max_us = value_us;
    if (__builtin_expect(hist_add_idx(h, hist_idx(value_us), n) != 0, 0))
        h->lost += n;
}

int hist_add_at(hist *h, uint32_t idx, uint64_t n)
{
    if (idx >= HIST_NCOUNTS)
        return -1;
    if (n == 0)
        return 0;
    return hist_add_idx(h, idx, n);
}

/* Sparse dst += sparse src by one backward merge in place, when the union of their
 * buckets fits HIST_SPARSE_MAX pairs and no count passes UINT32_MAX. 1 when it does
 * not fit (dst unchanged: the caller adds pair by pair, turning dst dense), -1 when
 * the array could not grow (dst unchanged), 0 when done. */
static int hist_merge_sparse(hist *dst, const hist *src)
{
    const hist_pair *s = src->pairs;
    hist_pair *d = dst->pairs;
    uint32_t nd = dst->npairs, ns = src->npairs, i = 0, j = 0, k = 0;
    while (i < nd || j < ns) {
        if (j == ns || (i < nd && d[i].idx < s[j].idx)) {
            i++;
        } else if (i == nd || s[j].idx < d[i].idx) {
            j++;
        } else {
            if (s[j].count > UINT32_MAX - d[i].count)
                return 1;
            i++;
            j++;
        }
        if (++k > HIST_SPARSE_MAX)
            return 1;
    }
    if (hist_pairs_reserve(dst, k) != 0)
        return -1;
    d = dst->pairs;
    dst->npairs = k;
    /* from the tail down: the write position k never falls below the read position i */
    while (j > 0) {
        if (i > 0 && d[i - 1].idx > s[j - 1].idx) {
            d[--k] = d[--i];
        } else if (i > 0 && d[i - 1].idx == s[j - 1].idx) {
            --i;
            --j;
            d[--k] = (hist_pair){ d[i].idx, d[i].count + s[j].count };
        } else {
            d[--k] = s[--j];
        }
    }
    return 0;
}

int hist_add(hist *dst, const hist *src)
{
    int rv = 0, m = 1;
    if (dst->chunk == NULL && src->chunk == NULL && src->npairs > 0)
        m = hist_merge_sparse(dst, src);
    if (m != 0) {
        hist_iter it;
        hist_iter_init(&it, src);
        while (hist_iter_next(&it))
            if (hist_add_idx(dst, it.idx, it.count) != 0) {
                dst->lost += it.count;
                rv = -1;
            }
    }
    if (src->total > 0) {
        if (src->min_us < dst->min_us)
            dst->min_us = src->min_us;
        if (src->max_us > dst->max_us)
            dst->max_us = src->max_us;
    }
    dst->total += src->total;
    dst->clamped += src->clamped;
    dst->lost += src->lost;
    dst->sum_us += src->sum_us;
    return rv;
}

/* ---- reading ------------------------------------------------------------------------ */

/* Rank ceil(p/100 * stored) (1-based), then the first counter where the running sum
 * reaches it. p*n/100 rather than p/100*n: for integral p it is exact. */
uint64_t hist_percentile(const hist *h, double p)
{
    if (h->total == 0)
        return 0;
    if (!(p > 0))                   /* p <= 0, or NaN */
        return h->min_us;
    if (p >= 100)
        return h->max_us;
    uint64_t stored = h->total - h->lost;
    uint64_t rank = (uint64_t)ceil(p * (double)stored / 100.0);
    if (rank < 1)
        rank = 1;
    if (rank > stored)
        rank = stored;
    uint64_t seen = 0, v = h->max_us;
    hist_iter it;
    hist_iter_init(&it, h);
    while (hist_iter_next(&it)) {
        seen += it.count;
        if (seen >= rank) {
            v = hist_index_high(it.idx);
            break;
        }
    }
    if (v < h->min_us)
        v = h->min_us;
    if (v > h->max_us)
        v = h->max_us;
    return v;
}

double hist_mean(const hist *h)
{
    return h->total == 0 ? 0.0 : (double)h->sum_us / (double)h->total;
}

size_t hist_bytes(const hist *h)
{
    size_t n = (size_t)h->cappairs * sizeof(hist_pair);
    if (h->chunk != NULL) {
        n += HIST_TABLE_BYTES;
        for (uint32_t c = 0; c < HIST_NCHUNKS; c++)
            if (h->chunk[c] != NULL)
                n += HIST_CHUNK_BYTES;
    }
    return n;
}

bool hist_is_dense(const hist *h)
{
    return h->chunk != NULL;
}

size_t hist_nonzero(const hist *h)
{
    if (h->chunk == NULL)
        return h->npairs;
    size_t n = 0;
    hist_iter it;
    hist_iter_init(&it, h);
    while (hist_iter_next(&it))
        n++;
    return n;
}

void hist_iter_init(hist_iter *it, const hist *h)
{
    it->h = h;
    it->next = 0;
    it->idx = 0;
    it->count = 0;
}

/* Steps to the next non-zero counter. Sparse: next is a position in the pair array.
 * Dense: next is a counter index; a missing chunk is skipped whole. */
bool hist_iter_next(hist_iter *it)
{
    const hist *h = it->h;
    if (h->chunk == NULL) {
        if (it->next >= h->npairs)
            return false;
        it->idx = h->pairs[it->next].idx;
        it->count = h->pairs[it->next].count;
        it->next++;
        return true;
    }
    uint32_t i = it->next;
    while (i < HIST_NCOUNTS) {
        const uint64_t *c = h->chunk[i >> HIST_CHUNK_BITS];
        if (c == NULL) {
            i = (i | (HIST_CHUNK_LEN - 1)) + 1;
            continue;
        }
        uint64_t n = c[i & (HIST_CHUNK_LEN - 1)];
        if (n != 0) {
            it->idx = i;
            it->count = n;
            it->next = i + 1;
            return true;
        }
        i++;
    }
    it->next = HIST_NCOUNTS;
    return false;
}
