/* Log-linear latency histogram: see common/hist.h for the index layout and the memory
 * model (chunks of HIST_CHUNK_LEN counters, allocated at first touch, kept by reset).
 *
 * Decisions the header leaves open, written down here:
 * - A value whose chunk cannot be allocated still counts in total, min, max and sum
 *   (so request totals stay true) and is counted in lost; its counter is missing, so
 *   percentiles rank over the stored samples, total - lost.
 * - hist_index_high/low of an index >= HIST_NCOUNTS answer as for the last index. */
#include "common/hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Index of a value <= HIST_MAX_US, without branches. With m the highest set bit of
 * v | 1024 (so m >= 10) and sh = m - 10, the index is sh * 1024 + (v >> sh): for
 * v < 1024 that is v itself (scale 0), otherwise it equals the header's
 * (m - 9) * 1024 + ((v >> (m - 10)) - 1024). */
static inline uint32_t hist_idx(uint64_t v)
{
    unsigned sh = (unsigned)(63 - __builtin_clzll(v | 1024)) - HIST_STEP_BITS;
    return (uint32_t)((sh << HIST_STEP_BITS) + (v >> sh));
}

/* The counter at idx, allocating its chunk at first touch; NULL if that fails. */
static inline uint64_t *hist_slot(hist *h, uint32_t idx)
{
    uint64_t *c = h->chunk[idx >> HIST_CHUNK_BITS];
    if (__builtin_expect(c == NULL, 0)) {
        c = calloc(HIST_CHUNK_LEN, sizeof *c);
        if (c == NULL)
            return NULL;
        h->chunk[idx >> HIST_CHUNK_BITS] = c;
    }
    return &c[idx & (HIST_CHUNK_LEN - 1)];
}

void hist_init(hist *h)
{
    memset(h, 0, sizeof *h);
    h->min_us = UINT64_MAX;
}

void hist_fini(hist *h)
{
    if (h == NULL)
        return;
    for (uint32_t c = 0; c < HIST_NCHUNKS; c++)
        free(h->chunk[c]);
    hist_init(h);
}

void hist_reset(hist *h)
{
    for (uint32_t c = 0; c < HIST_NCHUNKS; c++)
        if (h->chunk[c] != NULL)
            memset(h->chunk[c], 0, HIST_CHUNK_LEN * sizeof(uint64_t));
    h->total = h->clamped = h->lost = h->sum_us = h->max_us = 0;
    h->min_us = UINT64_MAX;
}

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
    uint64_t *slot = hist_slot(h, hist_idx(value_us));
    if (__builtin_expect(slot == NULL, 0))
        h->lost += n;
    else
        *slot += n;
}

int hist_add(hist *dst, const hist *src)
{
    int rv = 0;
    for (uint32_t c = 0; c < HIST_NCHUNKS; c++) {
        const uint64_t *sc = src->chunk[c];
        if (sc == NULL)
            continue;
        uint64_t *dc = dst->chunk[c];
        for (uint32_t i = 0; i < HIST_CHUNK_LEN; i++) {
            if (sc[i] == 0)
                continue;
            if (dc == NULL) {       /* allocate only for a chunk src really uses */
                dc = hist_slot(dst, c << HIST_CHUNK_BITS);
                if (dc == NULL) {
                    rv = -1;
                    break;
                }
            }
            dc[i] += sc[i];
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

int hist_add_at(hist *h, uint32_t idx, uint64_t n)
{
    if (idx >= HIST_NCOUNTS)
        return -1;
    if (n == 0)
        return 0;
    uint64_t *slot = hist_slot(h, idx);
    if (slot == NULL)
        return -1;
    *slot += n;
    return 0;
}

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
    size_t n = 0;
    for (uint32_t c = 0; c < HIST_NCHUNKS; c++)
        if (h->chunk[c] != NULL)
            n++;
    return n * HIST_CHUNK_LEN * sizeof(uint64_t);
}

size_t hist_nonzero(const hist *h)
{
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

/* Steps to the next non-zero counter; a missing chunk is skipped whole. */
bool hist_iter_next(hist_iter *it)
{
    uint32_t i = it->next;
    while (i < HIST_NCOUNTS) {
        const uint64_t *c = it->h->chunk[i >> HIST_CHUNK_BITS];
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
