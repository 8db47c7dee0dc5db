/* The interval ring: the intervals of a run that are still open on the master, and the
 * rule that closes them. Owned and used by the coordinator thread only (master/coord.c);
 * nothing locks, nothing here does I/O but a log line on ENOMEM.
 *
 * Workers send one delta per engine thread per interval (interval k covers
 * [start + k*interval_ms, start + (k+1)*interval_ms)). A delta merges into its
 * interval's set. Intervals close in order, the oldest open one first, when:
 *   - every engine thread expected reported it (reports - gone >= expected: the deltas
 *     of engines that are no longer expected do not count, see ring_forget), or
 *   - RING_LATE_MS have passed since its end (a slow or lost worker cannot hold the
 *     history back), or
 *   - a delta arrives for an interval RING_SLOTS or more past it (the ring is full), or
 *   - the caller closes everything (the run ends).
 * Closing folds the interval's set into the whole-run totals (once: one histogram add
 * per name rather than per delta), counts it in the totals' limited_intervals when it is
 * generator-limited (results_limited: merged lag p99 above 10 ms or an engine thread
 * above 90 % of a core; both models), and then calls the close callback with it
 * (history row, dashboard point: ring_point). An interval no delta reached closes
 * silently (and is not counted: nothing says the generator was late in it).
 * A delta for an interval that is already closed (late) goes to the totals only: it
 * counts in the run's figures, never in a written history row.
 *
 * Issue 12 (a worker leaving mid-run gave a history row with 0 users and a fraction of
 * its second's requests): `expected` drops as soon as a worker leaves, while the deltas
 * it sent before leaving (its final ones, users 0) stayed counted in the open intervals,
 * so an interval reached "reports >= expected" on the leaver's deltas alone and closed
 * before the survivors reported it; their deltas then came late and went to the totals
 * only. The rule now: only deltas of engines still expected count toward closing. The
 * coordinator remembers which open intervals each worker reported and, when a worker
 * stops being expected (left, lost, or DONE), calls ring_forget for them; the deltas
 * stay merged (their requests are in the row), they only stop counting.
 *
 * Fails: only on ENOMEM inside the merge (logged "out of memory merging stats"; the
 * delta or interval is then partly counted, as before this file existed). */
#ifndef MASTER_COORD_RING_H
#define MASTER_COORD_RING_H
#include <stdbool.h>
#include <stdint.h>
#include "master/coord_types.h"
#include "master/merge.h"
#include "proto/msg.h"

#define RING_SLOTS   16         /* intervals open at once */
#define RING_LATE_MS 2000       /* an interval closes this long after its end at the latest */

typedef struct ring_iv {
    bool      used;             /* holds interval idx, which got at least one delta */
    uint64_t  idx;
    uint32_t  reports;          /* deltas merged into it */
    uint32_t  gone;             /* of those, deltas of engines no longer expected
                                 * (ring_forget): they do not count toward closing */
    uint32_t  users;            /* sum of the deltas' users */
    bool      limited;          /* set when it closes: generator-limited (see above) */
    merge_set set;
} ring_iv;

/* Called once per closed interval that got deltas, in interval order, after its set was
 * folded into the totals. iv (and its set) is valid during the call only. */
typedef void (*ring_close_fn)(void *arg, const ring_iv *iv, const merge_set *totals);

typedef struct iv_ring {
    ring_iv       iv[RING_SLOTS];
    uint64_t      next_idx;     /* the oldest interval not closed yet */
    uint32_t      interval_ms;
    merge_set    *totals;       /* the run's totals (not owned) */
    ring_close_fn on_close;
    void         *arg;
} iv_ring;

/* totals: where closed intervals and late deltas go; it must outlive the ring. */
void ring_init(iv_ring *r, merge_set *totals, ring_close_fn on_close, void *arg);
void ring_fini(iv_ring *r);
/* A new run: every interval emptied (names of the last run forgotten), capped at
 * name_cap names with the totals' names known (master/merge.h merge_set_cap), the next
 * interval to close is 0. Call after the totals were emptied and capped. */
void ring_restart(iv_ring *r, uint32_t name_cap, uint32_t interval_ms);
/* Merges delta s into interval s->interval (closing the oldest intervals first when the
 * ring is full). Returns true when the interval was already closed: s went to the
 * totals only (a late delta). */
bool ring_add(iv_ring *r, const proto_stats *s);
/* n of the deltas merged into interval idx came from engines that are no longer
 * expected (their worker left, was lost or sent DONE): they stop counting toward
 * `expected` (the interval keeps their figures). Nothing when idx is closed (or was never
 * opened, or was recycled for a later interval). */
void ring_forget(iv_ring *r, uint64_t idx, uint32_t n);
/* Closes, oldest first, every interval that is due (see above) at now_ms for a run that
 * started at start_wall_ms with `expected` engine threads carrying load; all: close
 * every open interval whatever its state. Stops at the first interval not due. */
void ring_close_ready(iv_ring *r, uint64_t start_wall_ms, uint64_t now_ms, uint32_t expected, bool all);
/* The dashboard's point of a closed interval (master/coord_types.h coord_point), from its
 * merged set alone: t the interval's end in seconds since the start; rps, fps and the
 * latency percentiles (ms) of its HTTP aggregate, and s50/s95/s99 of that aggregate's
 * service histogram (stats_row_svc: latency in the closed model), NaN when it had no HTTP
 * request; rate_planned / rate_achieved: intended arrivals / started iterations per
 * second of the interval; backlog its backlog_max; dropped; lag_p99 in ms (NaN when no
 * arrival started); cpu_max; limited as the ring set it. Pure: any thread. */
void ring_point(const ring_iv *iv, uint32_t interval_ms, coord_point *pt);
#endif
