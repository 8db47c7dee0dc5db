/* The master's HTTP API (libevent evhttp on its own thread and event_base). JSON in and
 * out; it talks to the coordinator only through master/coord.h's calls.
 *
 *   POST /api/runs                 submit a run; body:
 *        { "scenario_file": "erp-peak.yaml", "scenario": "<YAML text>",
 *          "files": [ { "path": "data/operators.csv", "data": "<text>" } ],
 *          "sets": [ { "key": "load.graceful_stop", "value": "5s" } ],
 *          "host": "http://...", "users": 0, "rate": 0, "duration_ms": 0,
 *          "expect_workers": 1, "expect_timeout_ms": 60000 }
 *        201 { "id": "<run id>" } | 400 { "error": "file:line:col: ..." } | 409 busy
 *   GET  /api/runs/ID              live merged status (coord_status as JSON, with workers)
 *   POST /api/runs/ID/stop         graceful stop ({"abort": true} in the body: no grace)
 *   GET  /api/runs/ID/files/NAME   a results file of the run: summary.json, stats.csv,
 *                                  stats_history.csv, failures.csv, junit.xml
 *   GET  /api/workers              connected workers
 *
 * The dashboard (same port; files from master/assets.h, so it works offline):
 *   GET  /                         the dashboard page (web/index.html)
 *   GET  /assets/NAME              app.js, app.css, uPlot.min.js, uPlot.min.css
 *   GET  /api/live                 the current (or last) run as master/live.h's
 *                                  live_json; {"state": "idle", "run_id": null, ...
 *                                  empty arrays} before any run. Polled once a second.
 *   GET  /api/series?after=T       the current run's per-interval points with t > T
 *                                  (seconds since its start; T absent: all kept, at most
 *                                  the last 3600): {"run_id": "decimal", "t": [..], "users":
 *                                  [..], "rps": [..], "fps": [..] (failures/s), "p50":
 *                                  [..], "p95": [..], "p99": [..]} (latencies in ms, of
 *                                  that interval; null where it had no request)
 *   GET  /metrics                  Prometheus text (master/live.h live_metrics)
 * With --ui-auth USER:PASS every path (API, dashboard, /metrics) needs HTTP basic auth:
 * 401 with WWW-Authenticate otherwise. Responses to GET carry Cache-Control: no-store.
 *
 * Bodies are bounded (16 MiB); malformed JSON is a 400 with the reason. The API binds
 * where --http says (default 127.0.0.1:8089). */
#ifndef MASTER_API_H
#define MASTER_API_H
#include <stddef.h>
#include "master/coord.h"

typedef struct api api;
/* Binds addr ("HOST:PORT"; port 0 picks one) and starts the API thread. NULL with err.
 * The bound port is written to *port when non-NULL. auth: "USER:PASS" or NULL (no
 * authentication). */
api *api_start(coord *c, const char *addr, const char *auth, int *port, char *err, size_t errcap);
void api_stop(api *a);          /* stops the thread and frees */
#endif
