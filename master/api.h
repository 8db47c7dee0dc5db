/* The master's HTTP API (libevent evhttp on its own thread and event_base). JSON in and
 * out; it talks to the coordinator only through master/coord.h's calls.
 *
 *   POST /api/runs                 submit a run; body:
 *        { "scenario_file": "erp-peak.yaml", "scenario": "<YAML text>",
 *          "files": [ { "path": "data/operators.csv", "data": "<text>" } ],
 *          "sets": [ { "key": "load.graceful_stop", "value": "5s" } ],
 *          "env": [ { "name": "X", "value": "v" } ],
 *          "host": "http://...", "users": 0, "rate": 0, "duration_ms": 0,
 *          "expect_workers": 1, "expect_timeout_ms": 60000 }
 *        "csv_full_history": true adds the per-name rows to stats_history.csv (as
 *        --csv-full-history does); a boolean or null, absent: false.
 *        "env": the env() values the submitting CLI resolved from its own environment (at
 *        most PROTO_MAX_ENV; the master never reads its own for a submitted scenario).
 *        "users": at most SC_MAX_USERS.
 *        "arrival_rate": iterations/s of an open scenario, 0..SC_MAX_RATE (0: none).
 *        "tags", "exclude_tags": -T / -E, arrays of at most PROTO_MAX_TAGS non-empty
 *        strings of at most PROTO_TAG_MAX bytes (into the plan's tags / exclude_tags).
 *        Anything else there is a 400 with the member named.
 *        201 { "id": "<run id>" } | 400 { "error": "file:line:col: ..." } | 409 busy (a
 *        run in progress, or another submission still being parsed: one at a time, on a
 *        thread of its own, so the rest of the API keeps answering meanwhile; or the API
 *        of a local run, api_opts.local: "a local run's dashboard cannot start runs")
 *   GET  /api/runs/ID              live merged status (coord_status as JSON, with workers;
 *                                  "results_error": why the results folder could not be
 *                                  written, null when it was)
 *   POST /api/runs/ID/stop         graceful stop ({"abort": true} in the body: no grace)
 *   GET  /api/runs/ID/files/NAME   a results file of the run: summary.json, stats.csv,
 *                                  stats_history.csv, failures.csv, junit.xml, report.html;
 *                                  summary.json of an ended run that is not on disk (full
 *                                  disk) comes from the coordinator's memory
 *   GET  /api/workers              connected workers
 *
 * The dashboard (same port; files from master/assets.h, so it works offline):
 *   GET  /                         the dashboard page (web/index.html)
 *   GET  /assets/NAME              app.js, app.css, uPlot.min.js, uPlot.min.css
 *   GET  /api/live                 the current (or last) run as master/live.h's
 *                                  live_json; {"state": "idle", "run_id": null, ...
 *                                  empty arrays} before any run. Polled once a second.
 *                                  "local": true on a local run's --ui (api_opts.local),
 *                                  false on a master (live_mark_local).
 *   GET  /api/series?after=T       the current run's per-interval points with t > T
 *                                  (seconds since its start; T absent: all kept, the
 *                                  whole run in at most 3600 points, "step_s" seconds
 *                                  each: it doubles when they fill up, master/
 *                                  coord_series.h): {"run_id": "decimal", "step_s": S,
 *                                  "t": [..], "users":
 *                                  [..], "rps": [..], "fps": [..] (failures/s), "p50":
 *                                  [..], "p95": [..], "p99": [..]} (latencies in ms, of
 *                                  that interval; null where it had no request), and the
 *                                  open model's (api_series_json): "s50", "s95", "s99"
 *                                  (service ms, null without a request), "rate_planned",
 *                                  "rate_achieved" (/s), "backlog", "dropped", "lag_p99"
 *                                  (ms, null when nothing started), "limited" (0/1);
 *                                  sent in both models (the closed: rates, backlog and
 *                                  dropped 0, service equal to latency)
 *   GET  /metrics                  Prometheus text (master/live.h live_metrics)
 * With --ui-auth USER:PASS (or --ui-auth-file F) every path (API, dashboard, /metrics) needs
 * HTTP basic auth: 401 with WWW-Authenticate otherwise. Responses to GET carry
 * Cache-Control: no-store.
 *
 * Web pages cannot drive it (master/api_req.h): a Host header naming another server is a
 * 421 (--ui-host NAME[,NAME...] adds names), a cross-site Origin or a non-GET with
 * Sec-Fetch-Site: cross-site a 403, a POST without Content-Type: application/json a 415.
 * A request declaring a body is judged on its headers before the body is read, at most
 * API_MAX_CONNS connections are served at once and at most API_MAX_BUFFERED declared body
 * bytes are received at once (master/api_conn.h: 401/403/411/413/415/421/503 and close).
 *
 * Bodies are bounded (16 MiB); malformed JSON is a 400 with the reason. The API binds
 * where --http says (default 127.0.0.1:8089). */
#ifndef MASTER_API_H
#define MASTER_API_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "master/coord.h"

typedef struct api api;
/* Binds addr ("HOST:PORT"; port 0 picks one) and starts the API thread. NULL with err.
 * The bound port is written to *port when non-NULL. auth: "USER:PASS" or NULL (no
 * authentication). */
api *api_start(coord *c, const char *addr, const char *auth, int *port, char *err, size_t errcap);
/* The same with the --ui-host names ("NAME[,NAME...]" or NULL) the Host header may carry
 * besides the bound address, localhost names, IP literals and this host's name. */
api *api_start_hosts(coord *c, const char *addr, const char *auth, const char *hosts, int *port,
                     char *err, size_t errcap);
/* All of the options at once. local: the API of a local `stampede run --ui` (cli/main.c):
 * GET /api/live carries "local": true (false elsewhere) and POST /api/runs is a 409
 * {"error": "a local run's dashboard cannot start runs"}: the coordinator is the CLI's
 * own, for its one run. */
typedef struct api_opts {
    const char *addr;           /* "HOST:PORT" */
    const char *auth;           /* "USER:PASS" or NULL */
    const char *hosts;          /* --ui-host names or NULL */
    bool        local;
    const char *history;        /* the history file the /api/history, /api/trends and
                                 * /api/schedules routes serve (master/api_history.h);
                                 * NULL: they answer 404 "no history". Read-only on a local
                                 * --ui (local true): POSTs there are 409 */
} api_opts;
api *api_start_opts(coord *c, const api_opts *o, int *port, char *err, size_t errcap);
/* --ui-auth-file: USER:PASS from the first line of path into out (master/api_req.h's
 * api_auth_from_file: refused unless only its owner can read it). 0, or -1 with err. */
int api_auth_file(const char *path, char *out, size_t cap, char *err, size_t errcap);
void api_stop(api *a);          /* stops the thread and frees */
/* /api/series's object for n points of run run_id (0: "run_id" null), one array per key
 * in point order (see GET /api/series above; NaN becomes null). Pure, any thread; the
 * caller owns the result (json_decref). NULL only when jansson is out of memory. */
json_t *api_series_json(const coord_point *pts, int n, uint64_t run_id);
#endif
