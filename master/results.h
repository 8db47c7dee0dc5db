/* The results folder of a run (DESIGN.md "Results"): written as the run goes
 * (stats_history.csv gets a row per interval, flushed, so an interrupted 24 h run keeps
 * everything up to its last interval) and completed at the end (summary.json, stats.csv,
 * failures.csv, junit.xml, then report.html from those files: master/report.h). The
 * coordinator also keeps scenario.yaml and checkpoint.msgpack there (master/checkpoint.h),
 * from which `stampede report` rebuilds the end files of a run that died
 * (master/rebuild.h). Column names and order of the CSVs are Locust's (2.x):
 *   stats.csv:         Type,Name,Request Count,Failure Count,Median Response Time,
 *                      Average Response Time,Min Response Time,Max Response Time,
 *                      Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,
 *                      95%,98%,99%,99.9%,99.99%,100%   (one row per name, then Aggregated)
 *   stats_history.csv: Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,...,100%,
 *                      Total Request Count,Total Failure Count,Total Median Response Time,
 *                      Total Average Response Time,Total Min Response Time,
 *                      Total Max Response Time,Total Average Content Size
 *                      (one Aggregated row per interval; percentiles of that interval)
 *   failures.csv:      Method,Name,Error,Occurrences
 * written as Python's csv.writer writes Locust's: "\r\n" line ends, a field quoted only
 * when it holds a comma, a quote or a line break.
 * Times in ms. Coordinator thread; the folder is the caller's to choose.
 *
 * WebSocket (entries with STATS_WS_* methods, common/stats.h): stats.csv gets one row
 * per "WS" entry (Type "WS", Name the connection name: message latency, expects and
 * receives as requests), after the HTTP rows and before Aggregated; Aggregated and
 * summary.json's totals cover HTTP only. failures.csv lists ws errors with Method "WS".
 * summary.json "ws" is an array, one object per connection name (sorted by name):
 *   { "name": N,
 *     "connects": successful connects (first and re-), "connect_failures": N,
 *     "reconnects": N, "messages_sent": N, "messages_received": N,
 *     "bytes_sent": N, "bytes_received": N,
 *     "expects": N (expects + receives done), "expect_failures": N,
 *     "sequenced": N, "out_of_order": N, "fanout_messages": N, "pings": N,
 *     "closes": { "1000": N, "1012": N, ... },
 *     "connect_ms": L, "message_ms": L, "fanout_ms": L, "reconnect_ms": L, "ping_ms": L }
 * where L is the latency object of "requests" ({min, mean, p50, p90, p95, p99, p999,
 * max}, all 0 when it has no samples); absent entries count 0. The "ws" key is always
 * present ([] without WebSocket steps).
 *
 * The open model (issue 11), both models alike where it makes sense:
 * - every requests[] entry and totals carry "service_ms" beside "latency_ms" (same
 *   keys; stats_row_svc: equal to latency_ms in the closed model);
 * - "iterations": [{profile, count, failures, latency_ms}], one per profile's ITER row
 *   (STATS_FIG_ITERATION; sorted by profile; never in requests[], totals or the CSVs);
 *   latency_ms from the intended start (open) or the actual start (closed) to the end;
 * - "schedule": {model ("open"|"closed"), intended, started, dropped, backlog_max,
 *   lag_ms: {p50, p99, max}, rate_planned, rate_achieved, generator_limited_intervals,
 *   cpu_max, covered_s}: rates are intended / covered_s and started / covered_s
 *   (master/thresholds.h thresholds_covered_s);
 * - "verdict": {clean, thresholds_failed, generator_limited_intervals, notes: [text]}:
 *   clean when every threshold held, the run finished and no interval was
 *   generator-limited; notes say why not ("the generator did not keep the schedule in
 *   N intervals" in the open model, "the generator may have been the bottleneck in N
 *   intervals" in the closed one, "3 thresholds failed", "stopped: ...");
 * - issue 13 (master/health.h): each workers[] entry the health summary knows gets a
 *   "health" object (max and mean of CPU %, process CPU %, RSS MiB, loop lag max and
 *   mean, connections; flagged interval counts); "verdict" gets "workers_flagged" (workers
 *   with an interval above 90 % CPU or with its event loop over 10 ms late) and a note
 *   per flagged worker, and is not clean when it is above 0;
 * - issue 15: "totals" gets "retries" and each workers[] "health" its own "retries":
 *   requests the lean HTTP client sent again on a new connection after their reused
 *   keep-alive connection closed before any byte came back (idempotent requests only,
 *   counted once in requests: the server may have seen requests + retries). From the
 *   health summary (workers.csv's Retries column in a rebuilt run); 0 without one;
 *   totals.retries is always present.
 * - thresholds[] objects get "note" when value is null (th_result.note).
 * - "monitor": [{target, metric, samples, first, last, min, mean, max, growth_pct}] and
 *   "monitor_targets": [{target, url, scrapes, failures, last_error}] (issue 13; written
 *   by master/monitor.h monitor_summary_json from results_meta.monitor; both [] without
 *   a monitor section); monitor.csv is the monitor's own file (master/monitor.h).
 * - "interrupted" (issue 13): true only in a summary rebuilt by `stampede report DIR`
 *   from the checkpoint of a run that died (master/rebuild.h; stop_reason "interrupted",
 *   duration_s = covered_s); "covered_s": the seconds the closed intervals cover (the
 *   run's duration_s for a run that ended).
 * - schedule.csv (results_open_ex with RESULTS_SCHEDULE: the open model): one row per
 *   interval, written and flushed with the history row:
 *     Timestamp,Planned Rate,Achieved Rate,Intended,Started,Dropped,Backlog Max,
 *     Lag p50,Lag p99,Lag Max,Service p50,Service p95,Service p99,CPU Max,Limited
 *   rates per second of the interval, lag and service in ms (integers rounded as the
 *   Locust columns, "N/A" when nothing started / no request), CPU Max the busiest
 *   engine thread's CPU as a fraction of one core, Limited 1 or 0 (results_limited). */
#ifndef MASTER_RESULTS_H
#define MASTER_RESULTS_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "common/scenario.h"
#include "master/merge.h"
#include "master/thresholds.h"
struct health_summary;

typedef struct results_worker {
    char     id[64];
    char     host[128];
    uint32_t threads;
    uint64_t requests;
    const char *state;          /* "finished", "lost", "left", "stopped", "missing", ... */
    uint64_t lost_at_ms;        /* wall clock when it was lost or left, 0 if it stayed */
    double   lost_at_s;         /* the same, seconds since the start */
    uint64_t missing_requests_max; /* bound on requests it completed but never reported */
} results_worker;

typedef struct results_meta {
    const scenario *sc;
    const char *target;         /* effective base URL */
    uint64_t    start_wall_ms, end_wall_ms;
    double      duration_s;
    uint32_t    peak_users;
    const char *stop_reason;    /* "finished", "interrupted", "aborted: ..." */
    const th_result *th;        /* sc->nthresholds results */
    int         nth;
    const results_worker *workers;
    int         nworkers;
    uint64_t    missing_requests_max; /* bound on requests lost with workers that died */
    const struct monitor_summary *monitor;  /* master/monitor.h: summary.json "monitor"
                                 * and "monitor_targets"; NULL: none (empty arrays) */
    /* A run rebuilt from its checkpoint after it died (master/rebuild.h): summary.json's
     * "interrupted" (false for a run that ended, however it ended) and "covered_s", the
     * seconds its closed intervals cover (0 here: the run's duration_s). */
    bool        interrupted;
    double      covered_s;
    const struct health_summary *health; /* the workers' own health (master/health.h): a
                                 * "health" object in each workers[] entry it knows and
                                 * the verdict's flagged workers; NULL: none */
} results_meta;

typedef struct results {
    char  dir[1024];            /* the folder actually used (RESULTS_UNIQUE may add "-N") */
    FILE *history;              /* stats_history.csv, open during the run */
    FILE *schedule;             /* schedule.csv (RESULTS_SCHEDULE), open during the run */
    char  history_err[512];     /* non-empty once a history row could not be written: why */
    bool  full_history;         /* RESULTS_FULL_HISTORY */
} results;

/* Every write is checked (fprintf/fputs/fflush/fsync/fclose/rename: ENOSPC, EIO, ...):
 * a failure is never only logged, it returns -1 with a reason naming the file and the
 * system's error ("cannot write DIR/stats.csv.tmp: No space left on device"). Files
 * written at the end go to NAME.tmp in the folder, are fsync'd and renamed into place
 * (then the folder is fsync'd), so a reader never sees half a file and a file that
 * exists is whole.
 *
 * The run's folder is created exclusively (mkdir of its last component, parents may
 * exist) and stats_history.csv with O_EXCL, so two runs never share a folder:
 * - RESULTS_UNIQUE (the default name, results_default_dir): on a clash the folder gets
 *   a suffix, DIR-2, DIR-3, ... up to DIR-RESULTS_MAX_SUFFIX; r->dir is the one used
 *   (the caller reports r->dir, never its own dir).
 * - without it (an explicit --out): a folder that does not exist is created; one that
 *   exists and is empty (mktemp -d) is used; one that exists and is not empty is refused
 *   ("... exists and is not empty: choose another folder"), as are a file in its place
 *   and a folder another run took at the same moment. */
#define RESULTS_UNIQUE 1
/* The open model: schedule.csv is created beside stats_history.csv and gets a row per
 * interval (the format above); its failures count as the history's. */
#define RESULTS_SCHEDULE 2
/* --csv-full-history (Locust's): stats_history.csv gets, before each interval's
 * Aggregated row, one row per name seen so far (Type the method, "WS" rows after the
 * HTTP ones, each sorted as stats.csv): that interval's rates and percentiles (N/A when
 * the name had no request in it), its run-so-far Total columns. */
#define RESULTS_FULL_HISTORY 4
#define RESULTS_MAX_SUFFIX 1000

/* Creates the folder (and parents) and stats_history.csv with its header. 0, or -1
 * with err. results_open(r, dir, ...) is results_open_ex(r, dir, 0, ...). */
int  results_open_ex(results *r, const char *dir, int flags, char *err, size_t errcap);
int  results_open(results *r, const char *dir, char *err, size_t errcap);
/* One Aggregated row for an interval: its merged delta, the run totals so far, users.
 * 0, or -1 with r->history_err set. The first failure ends the history (no later row
 * is written, so a half-written row is never followed by whole ones); results_finish
 * then fails with that reason. */
int  results_history(results *r, uint64_t wall_ms, uint32_t users, double interval_s,
                     const merge_set *interval, const merge_set *totals);
/* Writes stats.csv, failures.csv, junit.xml, summary.json (results_summary_text),
 * closes the history, then report.html. Every file is attempted; 0, or -1 with the
 * first failure in err (a history that failed during the run counts). */
int  results_finish(results *r, const results_meta *meta, const merge_set *totals,
                    char *err, size_t errcap);
void results_close(results *r);
/* A generator-limited interval (issue 11): its merged lag p99 above
 * RESULTS_LAG_LIMIT_US, or its busiest engine thread above RESULTS_CPU_LIMIT of one core
 * (merge_set.cpu_max). Both models (the closed model has no lag, only CPU). iv is one
 * interval's merged set; pure, any thread. */
#define RESULTS_LAG_LIMIT_US 10000
#define RESULTS_CPU_LIMIT    0.9
bool results_limited(const merge_set *iv);
/* Default folder: results/<name>-<YYYYmmdd-HHMMSS> into buf. */
void results_default_dir(const char *name, uint64_t wall_ms, char *buf, size_t cap);

/* summary.json's text (the format above, JSON_INDENT(2), a final newline) from the
 * same inputs as results_finish, which writes exactly this text: malloc'd (the caller
 * frees), NULL only on ENOMEM. Any thread (no globals); meta and totals are only read.
 * The master keeps it in memory when the disk refuses the folder. Names, methods and
 * details that are not valid UTF-8 are cleaned ('?' per bad byte): no key is dropped. */
char *results_summary_text(const results_meta *meta, const merge_set *totals);

/* Shared by results.c and results_json.c (not for other callers): sorted views of the
 * entries (by name, method) and error rows (caller frees both; -1 on ENOMEM), and
 * "2024-05-01T12:00:00.123Z". */
int  results_sorted(const merge_set *m, const merge_entry ***ents, const merge_err ***errs);
void results_iso_time(char *buf, size_t cap, uint64_t wall_ms);
/* The reason phrase of an HTTP status ("Service Unavailable"), NULL when unknown. */
const char *results_http_reason(int code);
#endif
