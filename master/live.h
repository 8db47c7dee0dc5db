/* What the dashboard and Prometheus see of a run while it goes: the coordinator builds
 * both texts once per interval (and once more when the run ends) from its whole-run
 * totals, and keeps the latest under its mutex for the HTTP thread to copy out
 * (master/coord.h coord_get_live / coord_get_metrics). Pure functions of their input:
 * no I/O, no globals; the caller frees the returned text.
 *
 * live_json: one JSON object (README "Dashboard API" documents it for users):
 *   { "run_id": "decimal, as /api/runs/ID", "state": "running", "scenario": NAME, "elapsed_s": X,
 *     "users": N, "rps": X (last interval), "requests": N, "failures": N,
 *     "error_rate": X (failures / requests, whole run), "out_dir": "...",
 *     "names":   [ { "method", "name", "requests", "failures", "median_ms", "p95_ms",
 *                    "p99_ms", "max_ms", "avg_ms", "rps" (whole-run average),
 *                    "service_p95_ms" (open model's service time; 0 without) } ],  HTTP rows
 *                  then one row per WebSocket connection name with method "WS" (message
 *                  latency), like stats.csv; at most LIVE_MAX_NAMES rows, the busiest
 *     "total":   { the same keys as a "names" row, method "" and name "Aggregated" }: every
 *                  HTTP request of the run so far (stats.csv's Aggregated row, without
 *                  WebSocket messages); null before a run (no totals yet)
 *     "errors":  [ { "method", "name", "kind", "detail", "count" } ]  (most frequent first,
 *                  at most LIVE_MAX_ERRORS)
 *     "thresholds": [ { "expr", "ok", "value" } ]   judged on the totals so far (the
 *                  final verdict is the results'), [] without thresholds
 *     "workers": [ { "id", "host", "threads", "users", "rps", "cpu_pct", "state",
 *                    "last_seen_s", "engine_cpu_pct", "rss_mib", "loop_lag_ms",
 *                    "connections", "flagged", "flagged_intervals" } ],
 *                  (issue 13: its health in its last closed interval, master/health.h;
 *                  the four figures null before one closed; flagged: that interval was)
 *     "monitor": { "figures": [...], "targets": [...] } (master/monitor.h
 *                  monitor_live_json), null without a monitor section }
 *   "rps" of a name is requests / elapsed_s (0 when elapsed_s is 0).
 *
 * live_metrics: Prometheus text exposition format 0.0.4 (what `promtool check metrics`
 * accepts: HELP and TYPE for every family, counters ending in _total, base units:
 * seconds and bytes), label values escaped (\\ \" \n). Families:
 *   stampede_users                               gauge    active virtual users
 *   stampede_workers{state}                      gauge    workers by state
 *   stampede_worker_engine_cpu_ratio{worker}, stampede_worker_rss_bytes{worker},
 *   stampede_worker_loop_lag_seconds{worker}, stampede_worker_connections{worker}
 *                                                gauges   its health in its last closed
 *                                                interval (issue 13; workers with one)
 *   stampede_worker_flagged_intervals_total{worker} counter its flagged intervals
 *   stampede_run_info{run_id,scenario,state}     gauge    1
 *   stampede_elapsed_seconds                     gauge
 *   stampede_requests_total{method,name}         counter  HTTP requests (failures included)
 *   stampede_request_failures_total{method,name} counter
 *   stampede_response_bytes_total{method,name}   counter
 *   stampede_request_duration_seconds{method,name,quantile} summary, quantiles 0.5 0.9
 *                                                0.95 0.99, with _sum and _count
 *   stampede_errors_total{kind}                  counter  errors by kind, all names
 *   stampede_ws_messages_sent_total{name}, stampede_ws_messages_received_total{name},
 *   stampede_ws_connects_total{name}             counters
 *   stampede_ws_message_duration_seconds{name,quantile} summary (message latency)
 * Label cardinality is bounded by the stats name cap (the same names as stats.csv;
 * folded names appear as "(other names)"). The counters equal the run's summary.json
 * totals once the run has ended. */
#ifndef MASTER_LIVE_H
#define MASTER_LIVE_H
#include <stdbool.h>
#include <stdint.h>
#include "common/scenario.h"
#include "master/coord_types.h"
#include "master/merge.h"

#define LIVE_MAX_NAMES  500
#define LIVE_MAX_ERRORS 100

typedef struct live_input {
    const coord_status      *st;        /* run_id, state, elapsed, users, rps, out_dir */
    const char              *scenario;  /* name, may be NULL before a run */
    const scenario          *sc;        /* for thresholds; NULL: none */
    const merge_set         *totals;    /* whole run so far; NULL before a run */
    const coord_worker_info *workers;
    int                      nworkers;
    /* The monitor (master/monitor.h): monitor_live_json's text, put in as "monitor"
     * (null when NULL), and the summary so far, which judges the monitor thresholds. */
    const char              *monitor_json;
    const struct monitor_summary *monitor;
} live_input;

/* NULL on ENOMEM. */
char *live_json(const live_input *in);
/* /api/live's "local" member (master/api.h): json (a live_json text, taken and freed)
 * with "local": local added as its first member. true only on the API of a local
 * `stampede run --ui`, where the dashboard hides the New-run form (POST /api/runs is a
 * 409 there). A text that is not a JSON object is returned as it was; NULL on ENOMEM or
 * when json is NULL. */
char *live_mark_local(char *json, bool local);
char *live_metrics(const live_input *in);
#endif
