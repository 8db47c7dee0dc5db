/* The coordinator: the master's run controller. One thread owns an nng pair1 socket in
 * poly mode (one pipe per worker, plans addressed with nng_msg_set_pipe), the worker
 * registry, the run state machine, the merged statistics and the results folder.
 *
 * A run: waiting for expect_workers workers (bounded by expect_timeout_ms) -> each
 * worker gets its own plan (threads split in proportion to the threads it announced;
 * one synchronized start instant) -> running (deltas merged as they come; one history
 * row per interval once every engine thread has reported it or 2 s after its end) ->
 * stopping (STOP sent; waits for every worker's DONE, at most graceful_stop + 10 s) ->
 * finished: thresholds judged on the merged totals, results written.
 *
 * The same code serves a local `stampede run` (inproc://) and stampede-master (tcp://).
 * Other threads talk to it only through the calls below, which lock a small mutex
 * (never on the engines' hot path). Its parts, one file per part of its state (registry,
 * challenges, liveness, the run, the read model), are listed in master/coord_int.h; the
 * slot planner (master/slotplan.h) and the interval ring (master/coord_ring.h) are pure
 * of nng and unit-tested on their own. */
#ifndef MASTER_COORD_H
#define MASTER_COORD_H
#include <stdbool.h>
#include <stdint.h>
#include "proto/auth.h"
#include "proto/msg.h"
#include "proto/transport.h"
#include "master/coord_types.h"

typedef struct coord coord;

typedef struct coord_opts {
    const char *url;            /* where workers dial: inproc://, tcp://, tls+tcp:// */
    const auth_key *key;        /* shared key, or NULL / len 0 */
    const transport_tls *tls;   /* for tls+tcp://, else NULL */
    const char *id;             /* master id shown to workers; NULL: host name */
    const char *results_dir;    /* default parent of run folders; NULL: "results" */
    uint32_t    heartbeat_ms;   /* default 1000 */
    uint32_t    timeout_ms;     /* a worker silent this long is lost; default 3000 */
    const char *allow_monitor;  /* --allow-monitor CIDR,...: the networks a scenario's
                                 * monitor may fetch from (master/monitor.h); NULL:
                                 * loopback. A bad list fails coord_start. */
    /* The run history (master/record.h): every run's folder is recorded when it ends. */
    const char *history;        /* the history file; NULL: <parent of the run's folder>/history.db */
    bool        no_history;     /* record nothing */
    const char *notify_url;     /* webhook told of every finished run; NULL: none */
} coord_opts;

/* Listens and starts the coordinator thread. NULL with err. */
coord *coord_start(const coord_opts *o, char *err, size_t errcap);
void   coord_free(coord *c);    /* stops the thread, closes the socket */

typedef struct coord_run_cfg {
    const proto_plan *plan;     /* template: scenario, files, overrides (deep-copied) */
    uint32_t    expect_workers; /* >= 1 */
    uint64_t    expect_timeout_ms;
    const char *out_dir;        /* results folder; NULL: results/<name>-<time> */
    uint32_t    interval_ms;    /* stats interval, default 1000 */
    uint32_t    name_cap;
    bool        full_history;   /* --csv-full-history: RESULTS_FULL_HISTORY (master/results.h) */
    const char *labels_json;    /* the run's labels ({"k": "v"}, master/labels.h); copied;
                                 * NULL: none */
} coord_run_cfg;

/* Submits a run (one at a time). 0 with *run_id, or -1 with err (scenario error, a run
 * in progress: *busy set when busy is non-NULL). */
int coord_run(coord *c, const coord_run_cfg *cfg, uint64_t *run_id, bool *busy, char *err, size_t errcap);
/* Asks the run to stop gracefully (idempotent). abort: stop without waiting for the
 * graceful window (the second Ctrl-C). */
void coord_stop(coord *c, bool abort);

/* The read model (coord_status, coord_worker_info, coord_point, coord_state_name) is in
 * master/coord_types.h. */
void coord_get_status(coord *c, coord_status *out);
/* Snapshot of up to max workers (connected, and those of the current run). Returns n. */
int coord_get_workers(coord *c, coord_worker_info *out, int max);
/* The dashboard's series: copies up to max points with t > after_s (oldest first) into out; *run_id gets the
 * run they belong to, *step_s the seconds each point covers now (it doubles whenever the
 * series fills up: master/coord_series.h). Returns the count. */
int coord_get_series(coord *c, double after_s, coord_point *out, int max, uint64_t *run_id,
                     double *step_s);
/* Malloc'd copies of the latest master/live.h texts (rebuilt every interval and when a
 * run ends): live_json / live_metrics. NULL on ENOMEM. */
char *coord_get_live(coord *c);
char *coord_get_metrics(coord *c);
/* Malloc'd copy of the last finished run's summary.json text, kept in memory so that a
 * run whose results could not be written (full disk) still has its totals readable.
 * NULL when no run has finished or on ENOMEM. */
char *coord_get_summary(coord *c);

/* Waits up to timeout_ms for the run to be FINISHED or ABORTED. true when it is. */
bool coord_wait(coord *c, uint64_t timeout_ms);
#endif
