/* Merged statistics: the sum of stats deltas from every engine thread of every worker,
 * keyed by (method, name), names capped per set (merge_set_cap below). Names, methods
 * and details are stored cut to their field, bytes as a peer sent them (they may not be
 * UTF-8: every output cleans or escapes them). Merging is addition (histograms add exactly), so a set fed
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

/* A merged row is the shard's and the wire's row type (common/stats.h); fig is set when
 * the merge makes the entry. */
typedef stats_row merge_entry;

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
    merge_entry  all;           /* "Aggregated": every HTTP entry added together (rows
                                 * whose stats_fig is a WebSocket one or ITERATION are
                                 * left out) */
    /* The schedule (common/stats.h stats_sched) of the deltas merged: counts, cpu_us and
     * wall_us add, lag adds exactly; backlog_max: merge_add adds the deltas' maxima (the
     * shards of one interval wait side by side: an upper bound of the pool's backlog at
     * once), merge_add_set keeps the larger (an interval folded into the totals). */
    stats_sched  sched;
    double       cpu_max;       /* the highest cpu_us / wall_us of any delta merged (0..1+):
                                 * the busiest engine thread */
    uint64_t     limited_intervals; /* the totals only: intervals marked generator-limited
                                 * (set by the coordinator when it closes one) */
    uint64_t     cancelled;
    uint64_t     names_folded;  /* a lower bound on the distinct names folded: the larger
                                 * of the most any shard reported and folds_here */
    /* The name cap (merge_set_cap; settings, kept by merge_reset, cleared by merge_fini). */
    uint32_t     name_cap;      /* 0: no cap */
    const struct merge_set *known; /* names it holds are never folded here (may be NULL) */
    uint32_t     named, overflows;  /* entries counted against the cap; overflow entries */
    uint64_t     shard_folded;  /* the most any merged delta or set reported */
    uint64_t     folds_here;    /* distinct (method, name) folded by this set (lower bound) */
    uint64_t    *fold_set;      /* private: their 64-bit hashes, allocated at the first fold */
} merge_set;

/* The name cap (issue 9 item 7: the README's "500 names per run" on the master, whatever
 * the workers send). With name_cap > 0, a row whose (method, name) is new while the set
 * already holds name_cap named entries, and that `known` does not hold, is folded into an
 * overflow entry named STATS_OVERFLOW_NAME, as the engine's shard folds (common/stats.h):
 *   - HTTP rows into method "*";
 *   - WebSocket rows (stats_is_ws_method) keep their method ("WS:connect", "WS:c:1000"),
 *     so a folded connection's figures stay WebSocket figures and out of the HTTP totals.
 *     WebSocket entries count toward the same cap as HTTP ones (one cap per run, as the
 *     shard's): a connection name costs one name per figure it has;
 *   - ITER rows (the open and closed models' iterations per profile, method
 *     STATS_ITERATION) count against the same cap too, and a folded one keeps its
 *     method: ("ITER", STATS_OVERFLOW_NAME), kept even past MERGE_OVERFLOW_MAX (never
 *     pushed into ("*", ...)), so iterations never join `all` (the decision is at the
 *     top of merge.c).
 * Overflow entries (the name STATS_OVERFLOW_NAME, from a shard or made here) are not
 * counted against the cap; at most MERGE_OVERFLOW_MAX of them are kept, a row for any
 * further one goes to ("*", STATS_OVERFLOW_NAME) (only a peer inventing methods gets
 * there). Error rows follow their entry into its overflow entry; beyond
 * MERGE_ERR_CAP(name_cap) error rows, a new one is counted in ("*", STATS_OVERFLOW_NAME,
 * ERR_OTHER, "(more error kinds)"). Totals stay exact: nothing is dropped, only names.
 * Each distinct folded (method, name) counts in folds_here (exact up to 3/4 of
 * MERGE_FOLD_SLOTS, a lower bound after), and names_folded = max(shard_folded,
 * folds_here).
 *
 * The master: the whole-run totals get merge_set_cap(&totals, run's name_cap, NULL) and
 * each interval set merge_set_cap(&iv, run's name_cap, &totals), so a name the totals
 * hold is never folded in an interval (its per-name figures stay exact) and an interval
 * holds at most 2 x name_cap + MERGE_OVERFLOW_MAX entries. known must outlive m's use
 * and must not be m. Call after merge_init (merge_fini forgets the cap). */
#define MERGE_OVERFLOW_MAX 32u
#define MERGE_FOLD_SLOTS   4096u
#define MERGE_ERR_CAP(cap) ((cap) * 4u > STATS_ERR_CAP ? (cap) * 4u : STATS_ERR_CAP)
#define MERGE_MORE_ERRORS  "(more error kinds)"
void merge_set_cap(merge_set *m, uint32_t name_cap, const merge_set *known);

void merge_init(merge_set *m);
void merge_fini(merge_set *m);
/* Zeroes counts and histograms (hist_reset), keeps entry names and the set's own
 * arrays, so an interval set reused all run stops growing; error rows are dropped, the
 * fold counts zeroed; the cap and known stay. */
void merge_reset(merge_set *m);
/* m += d. 0, or -1 on ENOMEM (m then holds part of d). */
int  merge_add(merge_set *m, const proto_stats *d);
/* m += other (for folding an interval into totals, or tests). other != m. */
int  merge_add_set(merge_set *m, const merge_set *other);
/* m's error row (method, name, kind, detail) += count, made when new, under the same
 * folding rules as merge_add's error rows (for a set rebuilt from a file:
 * master/checkpoint.h). 0, or -1 on ENOMEM. */
int  merge_add_err(merge_set *m, const char *method, const char *name, stats_err_kind kind,
                   const char *detail, uint64_t count);
/* The whole-run totals, after each fold: every histogram of m that has turned dense
 * (more than HIST_SPARSE_MAX distinct buckets) gets all its chunks at once (hist_fill),
 * so the totals' memory steps up once per busy name instead of creeping up with every
 * new stretch of latency a long run visits: at most 2 x 185 KiB per name. Interval sets
 * are not filled (they go back to sparse every interval). -1 on ENOMEM (logged by the
 * caller; the chunks then come at first touch). */
int  merge_fill_dense(merge_set *m);
const merge_entry *merge_find(const merge_set *m, const char *method, const char *name);
/* Sum of HTTP entries (stats_fig HTTP) whose name equals name (any method) into
 * out, which it initializes (method "*" when several methods matched): returns how many
 * entries matched, 0 when none, -1 on ENOMEM. The caller releases out with
 * merge_entry_fini in every case. */
int  merge_by_name(const merge_set *m, const char *name, merge_entry *out);
void merge_entry_fini(merge_entry *e);   /* frees the histogram's chunks */
#endif
