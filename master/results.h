/* The results folder of a run (DESIGN.md "Results"): written as the run goes
 * (stats_history.csv gets a row per interval, flushed, so an interrupted 24 h run keeps
 * everything up to its last interval) and completed at the end (summary.json, stats.csv,
 * failures.csv, junit.xml, then report.html from those files: master/report.h). Column names and order of the CSVs are Locust's (2.x):
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
 * present ([] without WebSocket steps). */
#ifndef MASTER_RESULTS_H
#define MASTER_RESULTS_H
#include <stdint.h>
#include <stdio.h>
#include "common/scenario.h"
#include "master/merge.h"
#include "master/thresholds.h"

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
} results_meta;

typedef struct results {
    char  dir[1024];
    FILE *history;              /* stats_history.csv, open during the run */
} results;

/* Creates dir (and parents) and stats_history.csv with its header. 0, or -1 with err. */
int  results_open(results *r, const char *dir, char *err, size_t errcap);
/* One Aggregated row for an interval: its merged delta, the run totals so far, users. */
int  results_history(results *r, uint64_t wall_ms, uint32_t users, double interval_s,
                     const merge_set *interval, const merge_set *totals);
/* Writes summary.json, stats.csv, failures.csv, junit.xml; closes the history. */
int  results_finish(results *r, const results_meta *meta, const merge_set *totals,
                    char *err, size_t errcap);
void results_close(results *r);
/* Default folder: results/<name>-<YYYYmmdd-HHMMSS> into buf. */
void results_default_dir(const char *name, uint64_t wall_ms, char *buf, size_t cap);
#endif
