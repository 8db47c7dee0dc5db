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
 * (never on the engines' hot path). */
#ifndef MASTER_COORD_H
#define MASTER_COORD_H
#include <stdbool.h>
#include <stdint.h>
#include "proto/auth.h"
#include "proto/msg.h"
#include "proto/transport.h"

typedef struct coord coord;

typedef struct coord_opts {
    const char *url;            /* where workers dial: inproc://, tcp://, tls+tcp:// */
    const auth_key *key;        /* shared key, or NULL / len 0 */
    const transport_tls *tls;   /* for tls+tcp://, else NULL */
    const char *id;             /* master id shown to workers; NULL: host name */
    const char *results_dir;    /* default parent of run folders; NULL: "results" */
    uint32_t    heartbeat_ms;   /* default 1000 */
    uint32_t    timeout_ms;     /* a worker silent this long is lost; default 3000 */
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
} coord_run_cfg;

/* Submits a run (one at a time). 0 with *run_id, or -1 with err (scenario error, a run
 * in progress: *busy set when busy is non-NULL). */
int coord_run(coord *c, const coord_run_cfg *cfg, uint64_t *run_id, bool *busy, char *err, size_t errcap);
/* Asks the run to stop gracefully (idempotent). abort: stop without waiting for the
 * graceful window (the second Ctrl-C). */
void coord_stop(coord *c, bool abort);

typedef enum { RUN_IDLE, RUN_WAITING, RUN_RUNNING, RUN_STOPPING, RUN_FINISHED, RUN_ABORTED } coord_state;

typedef struct coord_status {
    uint64_t run_id;            /* the current or last run, 0 before any */
    coord_state state;
    double   elapsed_s;
    uint32_t users;             /* last complete interval */
    double   rps;               /* last complete interval */
    double   p95_ms;            /* last complete interval */
    uint64_t requests, failures;/* whole run so far */
    uint32_t workers;           /* connected */
    int      thresholds_failed; /* when finished */
    char     out_dir[1024];
    char     reason[512];       /* why aborted, or the stop reason */
    uint64_t proto_dropped;     /* protocol counters since the master started */
    uint64_t proto_auth_failures, proto_seal_failures, proto_hello_timeouts;
    char     results_error[512];/* non-empty: the results folder could not be written (why);
                                 * the totals stay readable through coord_get_summary */
} coord_status;
void coord_get_status(coord *c, coord_status *out);
const char *coord_state_name(coord_state s);   /* "waiting", "running", ... */

typedef struct coord_worker_info {
    char     id[PROTO_ID_MAX];
    char     host[PROTO_HOST_MAX];
    uint32_t threads, slots;    /* announced engine threads; slots run now */
    uint32_t users;             /* in its last delta */
    double   rps;               /* its last interval */
    uint64_t requests;          /* this run */
    char     state[16];         /* "idle", "running", "lost", "left", ... */
    double   last_seen_s;       /* seconds since its last message */
    double   cpu_pct;           /* its process CPU, % of one core (last heartbeat) */
} coord_worker_info;
/* Snapshot of up to max workers (connected, and those of the current run). Returns n. */
int coord_get_workers(coord *c, coord_worker_info *out, int max);
/* The dashboard's series: one point per closed interval of the current run, the last
 * COORD_SERIES kept. t: seconds since the start (end of the interval); latencies in ms
 * of that interval's HTTP requests, NaN when it had none. */
#define COORD_SERIES 3600
typedef struct coord_point {
    double   t;
    uint32_t users;
    double   rps, fps, p50, p95, p99;
} coord_point;
/* Copies up to max points with t > after_s (oldest first) into out; *run_id gets the
 * run they belong to. Returns the count. */
int coord_get_series(coord *c, double after_s, coord_point *out, int max, uint64_t *run_id);
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
