/* The generator's own health, per worker and interval (issue 13): what each worker's
 * engine threads said of themselves in STATS's health block (common/stats.h
 * stats_health, with sched.cpu_us / wall_us), combined per worker and interval, written
 * to DIR/workers.csv as intervals close, summed up per worker for summary.json and the
 * report, and flagged when the worker may have been the bottleneck.
 *
 * Per worker and interval (health_fig), from the deltas of its engine threads:
 *   CPU %          the busiest engine thread's cpu_us / wall_us, % of one core: exactly
 *                  what merge_set.cpu_max takes over every thread of every worker
 *                  (master/results.h results_limited), here per worker; a delta of less
 *                  than STATS_LOAD_MIN_WALL_US (a run's final one, cut short) does not
 *                  count (0 when it is the only one), nor for Process CPU %
 *   Process CPU %  the worker process's CPU time in the interval / wall_us, % of one
 *                  core (every thread of the process: may exceed 100 with several
 *                  engines); the largest any of its threads measured
 *   RSS MiB        the process's resident set at the interval's end (the largest sent)
 *   Loop Lag Max   the latest firing of any engine's 100 ms loop timer, ms
 *   Loop Lag Mean  the mean lateness of every firing of its engines in the interval, ms
 *   Connections    the sum over its engines: HTTP sockets open + WebSocket connections up
 *   Retries        (issue 15) the sum over its engines: requests the lean HTTP client sent
 *                  again on a new connection in the interval (an idempotent request whose
 *                  reused keep-alive connection closed before any byte came back; each
 *                  is counted once in the request rows, the server may have seen it
 *                  twice); 0 with libcurl
 * Flagged: CPU % above RESULTS_CPU_LIMIT (90 %) or Loop Lag Max above
 * RESULTS_LAG_LIMIT_US (10 ms). The CPU criterion is results_limited's own, per worker:
 * an interval in which some worker is CPU-flagged is also a generator-limited interval
 * of the run (merge_set.limited_intervals counts intervals, the flags count worker
 * intervals; neither is added to the other). The loop-lag criterion is new with this
 * file and exists in both models (results_limited's lag is the open model's arrival
 * lag, a different figure).
 *
 * workers.csv (Locust-style: "\r\n" line ends, a field quoted only when it holds a
 * comma, a quote or a line break), one row per worker per closed interval, written and
 * flushed as the interval closes:
 *   Timestamp,Interval,Worker,Host,CPU %,Process CPU %,RSS MiB,Loop Lag Max ms,
 *   Loop Lag Mean ms,Connections,Flagged,Flag Reason,Retries
 * Timestamp whole seconds of the wall clock at the interval's end (as stats_history.csv),
 * Interval its 0-based index, percentages and MiB with 2 decimals, ms with 3 (the lag is
 * measured in us), Flagged 1 or 0, Flag Reason "", "cpu", "lag" or "cpu+lag", Retries a
 * whole number (the column issue 15 appended; the loader also reads a file of issue 13,
 * HEALTH_CSV_HEADER_13 and 12 fields, as retries 0).
 *
 * Summary (struct health_summary): per worker the intervals seen, the flagged ones (and
 * how many by CPU, by lag) and, for each figure above but Retries, its max and its mean
 * over the worker's intervals (the mean of Loop Lag Mean is the mean of the intervals'
 * means); Retries is summed over the run (saturating at UINT64_MAX).
 * Memory is bounded for any length of run: running max and sum per worker, a few open
 * intervals per worker (HEALTH_OPEN), at most HEALTH_MAX_WORKERS workers (more are not
 * tracked; counted in untracked). health_summary_load rebuilds the same summary from a
 * folder's workers.csv (the crash rebuild); figures then have the file's precision.
 *
 * Console: a flagged interval is logged by health_close: the first of each worker
 * always, later ones at most one line per HEALTH_LOG_MS, the skipped ones counted in the
 * next line.
 *
 * Threads: a `health` belongs to the coordinator thread (master/coord_run.c feeds it);
 * health_summary_* and health_json_* are pure and run on any thread.
 * Fails: a workers.csv that cannot be created or written: the reason is kept (h->err,
 * returned by health_start / health_finish), rows stop, the summary goes on; bad input to
 * the loader: -1 and a reason naming the line; ENOMEM: -1 (loader) or the worker not
 * tracked (counted in untracked). */
#ifndef MASTER_HEALTH_H
#define MASTER_HEALTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "proto/msg.h"

#define HEALTH_MAX_WORKERS 1024
#define HEALTH_OPEN        16       /* open intervals per worker (the ring's RING_SLOTS) */
#define HEALTH_LOG_MS      10000
#define HEALTH_CSV         "workers.csv"
#define HEALTH_LINE_MAX    4096     /* the loader's longest line */
#define HEALTH_CSV_HEADER_13 "Timestamp,Interval,Worker,Host,CPU %,Process CPU %,RSS MiB," \
                           "Loop Lag Max ms,Loop Lag Mean ms,Connections,Flagged,Flag Reason"
#define HEALTH_CSV_HEADER  HEALTH_CSV_HEADER_13 ",Retries"    /* issue 15 */

/* One worker's one interval. */
typedef struct health_fig {
    double   cpu_pct, proc_cpu_pct, rss_mib, lag_max_ms, lag_mean_ms;
    uint32_t conns;
    bool     flag_cpu, flag_lag;
    uint64_t retries;           /* the interval's, all its engines */
} health_fig;

typedef struct health_stat { double max, sum; } health_stat;   /* mean: sum / intervals */

typedef struct health_worker {
    char        id[PROTO_ID_MAX];
    char        host[PROTO_HOST_MAX];
    uint64_t    intervals;
    uint64_t    flagged, flagged_cpu, flagged_lag;
    health_stat cpu, proc_cpu, rss, lag_max, lag_mean, conns;
    uint64_t    retries;        /* summed over its intervals */
    health_fig  last;           /* its last closed interval (the dashboard) */
    uint64_t    last_idx;
} health_worker;

struct health_summary {
    health_worker *w;
    int            n, cap;
    uint64_t       untracked;   /* rows or deltas of workers beyond HEALTH_MAX_WORKERS */
};

/* A worker's interval being reported (its engines' deltas combined). */
typedef struct health_acc {
    bool     used;
    uint64_t idx;
    double   cpu_max, proc_max;
    uint64_t rss_max, lag_max_us, lag_sum_us, conns;
    uint64_t lag_n;
    uint64_t retries;           /* summed over its engines' deltas */
} health_acc;

typedef struct health {
    struct health_summary sum;
    health_acc (*open)[HEALTH_OPEN];    /* per worker, parallel to sum.w */
    FILE      *csv;
    char       path[1100];      /* DIR/workers.csv */
    char       err[1280];        /* non-empty once workers.csv failed: why */
    uint64_t   log_ms, log_quiet;
} health;

/* A zeroed struct is a valid empty health. health_start begins a run: what the last run
 * kept is dropped, DIR/workers.csv is created (exclusively) with its header; dir NULL:
 * no file. 0, or -1 with err (then no rows, the summary still kept). */
int  health_start(health *h, const char *dir, char *err, size_t errcap);
/* A delta of worker id (host) that was merged into its (open) interval s->interval. */
void health_add(health *h, const char *id, const char *host, const proto_stats *s);
/* Interval idx closed at wall_ms (its end): a row per worker that reported it, the
 * summary folded, flagged ones logged (rate-limited). */
void health_close(health *h, uint64_t idx, uint64_t wall_ms);
/* The run ends: intervals still open are closed (wall_ms for their rows), workers.csv
 * is closed. 0, or -1 with the first failure of the file in err. */
int  health_finish(health *h, uint64_t wall_ms, char *err, size_t errcap);
void health_fini(health *h);
const struct health_summary *health_summary_of(const health *h);

/* The combination of one worker's interval (pure): flags set by the limits. */
void health_fig_of(const health_acc *a, health_fig *f);
/* The summary's entry for id, NULL when none. */
const health_worker *health_summary_find(const struct health_summary *hs, const char *id);
/* Retries summed over every worker of the summary (saturating; 0 for NULL): what
 * summary.json's totals.retries says. Workers past HEALTH_MAX_WORKERS are not in it. */
uint64_t health_summary_retries(const struct health_summary *hs);
/* Folds one interval's figures of worker id into the summary (created when new). 0, or
 * -1 (ENOMEM or past HEALTH_MAX_WORKERS: counted in untracked). */
int  health_summary_fold(struct health_summary *hs, const char *id, const char *host,
                         uint64_t idx, const health_fig *f);
void health_summary_free(struct health_summary *hs);

/* Rebuilds the summary from DIR/workers.csv (the crash rebuild). A missing file is an
 * empty summary, 0. Bad content (another header, a row of the wrong shape, a number
 * that is not one, a line longer than HEALTH_LINE_MAX): -1 with a reason naming the line;
 * *out is then empty. */
int  health_summary_load(const char *dir, struct health_summary *out, char *err, size_t errcap);
/* The same from the file's text in memory (len bytes; the fuzz target's entry). */
int  health_summary_parse(const char *text, size_t len, struct health_summary *out,
                          char *err, size_t errcap);

/* summary.json (master/results_json.c): the "health" object of worker id's workers[]
 * entry (NULL when the summary has none for it; jansson's json_t, returned new):
 *   {"intervals": N, "flagged_intervals": N, "flagged_cpu_intervals": N,
 *    "flagged_lag_intervals": N, "cpu_pct": {"max", "mean"}, "process_cpu_pct": {...},
 *    "rss_mib": {...}, "loop_lag_max_ms": {...}, "loop_lag_mean_ms": {...},
 *    "connections": {...}, "retries": N}
 * (retries: the worker's sum over the run, issue 15)
 * and the verdict's part: a note per flagged worker (at most HEALTH_NOTES named, then one
 * note for the rest) appended to notes; returns the number of flagged workers (the
 * verdict is not clean when it is above 0). */
#define HEALTH_NOTES 8
struct json_t;
struct json_t *health_json_worker(const struct health_summary *hs, const char *id);
int  health_json_verdict(const struct health_summary *hs, struct json_t *notes);
#endif
