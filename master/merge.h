/* Merged statistics: the sum of stats deltas from every engine thread of every worker,
 * keyed by (method, name). Merging is addition (histograms add exactly), so a set fed
 * every delta of a run holds the same numbers as one shard fed every request.
 *
 * A merge_set is used twice by the master: once for the whole-run totals, once per
 * interval (reset after its history row is written). Owned and used by the master's
 * coordinator thread; nothing locks. */
#ifndef MASTER_MERGE_H
#define MASTER_MERGE_H
#include <stdint.h>
#include "common/hist.h"
#include "common/stats.h"
#include "proto/msg.h"

typedef struct merge_entry {
    char     method[STATS_METHOD_MAX];
    char     name[STATS_NAME_MAX];
    uint64_t requests, failures, bytes;
    hist     lat;
} merge_entry;

typedef struct merge_err {
    char           method[STATS_METHOD_MAX];
    char           name[STATS_NAME_MAX];
    stats_err_kind kind;
    char           detail[STATS_DETAIL_MAX];
    uint64_t       count;
} merge_err;

typedef struct merge_set {
    merge_entry *entries;       /* owned, grows; in first-seen order */
    uint32_t     n, cap;
    merge_err   *errs;          /* owned, grows */
    uint32_t     nerrs, errcap;
    /* Private to merge.c: open-addressing hash indexes (slot holds row + 1, 0 empty),
     * allocated at the first merge_add, so a lookup per delta row costs O(1). */
    uint32_t    *ent_index, *err_index;
    uint32_t     ent_mask, err_mask;
    merge_entry  all;           /* "Aggregated": every HTTP entry added together (methods
                                 * that stats_is_ws_method are left out) */
    uint64_t     cancelled;
    uint64_t     names_folded;  /* max reported by any shard (a lower bound overall) */
} merge_set;

void merge_init(merge_set *m);
void merge_fini(merge_set *m);
/* Zeroes counts and histograms (hist_reset), keeps entry names and the set's own
 * arrays, so an interval set reused all run stops growing; error rows are dropped. */
void merge_reset(merge_set *m);
/* m += d. 0, or -1 on ENOMEM (m then holds part of d). */
int  merge_add(merge_set *m, const proto_stats *d);
/* m += other (for folding an interval into totals, or tests). other != m. */
int  merge_add_set(merge_set *m, const merge_set *other);
const merge_entry *merge_find(const merge_set *m, const char *method, const char *name);
/* Sum of HTTP entries (not stats_is_ws_method) whose name equals name (any method) into
 * out, which it initializes (method "*" when several methods matched): returns how many
 * entries matched, 0 when none, -1 on ENOMEM. The caller releases out with
 * merge_entry_fini in every case. */
int  merge_by_name(const merge_set *m, const char *name, merge_entry *out);
void merge_entry_fini(merge_entry *e);   /* frees the histogram's chunks */
#endif
