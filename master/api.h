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
 * Bodies are bounded (16 MiB); malformed JSON is a 400 with the reason. The API binds
 * where --http says (default 127.0.0.1:8089). */
#ifndef MASTER_API_H
#define MASTER_API_H
#include <stddef.h>
#include "master/coord.h"

typedef struct api api;
/* Binds addr ("HOST:PORT"; port 0 picks one) and starts the API thread. NULL with err.
 * The bound port is written to *port when non-NULL. */
api *api_start(coord *c, const char *addr, int *port, char *err, size_t errcap);
void api_stop(api *a);          /* stops the thread and frees */
#endif
