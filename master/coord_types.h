/* The coordinator's read model: what other threads and the formatters (master/live.h,
 * the HTTP API, the CLI's status line) see of a run and its workers. Plain value types
 * and the state names, no behaviour: the coordinator (master/coord.h) fills them on its
 * thread and hands copies out under its mutex; whoever holds a copy owns it. Kept apart
 * from coord.h so that master/live.c, a formatter below the coordinator, needs nothing
 * from it (no coord.c <-> live.c include circle). Nothing here fails. */
#ifndef MASTER_COORD_TYPES_H
#define MASTER_COORD_TYPES_H
#include <stdbool.h>
#include <stdint.h>
#include "proto/msg.h"

typedef enum { RUN_IDLE, RUN_WAITING, RUN_RUNNING, RUN_STOPPING, RUN_FINISHED, RUN_ABORTED } coord_state;

/* "idle", "waiting", "running", "stopping", "finished", "aborted"; "unknown" otherwise.
 * Static text, any thread. */
const char *coord_state_name(coord_state s);

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
    char     history_note[512]; /* the run's line about the history (master/record.h
                                 * record_out.summary, or why it was not recorded) */
    char     results_error[512];/* non-empty: the results folder could not be written (why);
                                 * the totals stay readable through coord_get_summary */
    /* The open model (issue 11): 0 in the closed model but for limited_intervals. */
    int      open_model;        /* 1 when the run's model is open */
    uint64_t intended, started, dropped;   /* whole run so far */
    double   rate_planned;      /* last complete interval: intended arrivals/s */
    double   rate_achieved;     /* last complete interval: started iterations/s */
    double   lag_p99_ms;        /* last complete interval */
    uint32_t backlog_max;       /* whole run so far */
    uint64_t limited_intervals; /* intervals marked generator-limited (both models: lag
                                 * p99 > 10 ms or an engine thread above 90 % CPU) */
} coord_status;

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
    /* Its own health in its last closed interval of the run (master/health.h); all zero
     * and has_health false before one closed. */
    bool     has_health;
    double   engine_cpu_pct;    /* busiest engine thread, % of one core */
    double   rss_mib;
    double   loop_lag_ms;       /* the latest loop timer of the interval */
    uint32_t conns;             /* HTTP + WebSocket connections open */
    bool     flagged;           /* that interval was flagged (CPU > 90 %, lag > 10 ms) */
    uint64_t flagged_intervals; /* in the run so far */
    uint64_t retries;           /* requests the lean HTTP client sent again, run so far
                                 * (issue 15: master/health.h) */
} coord_worker_info;

/* The dashboard's series: one point per closed interval of the current run while
 * COORD_SERIES fit, then one per 2, 4, ... intervals so that the whole run stays covered
 * (master/coord_series.h merges them). t: seconds since the start (end of what the point
 * covers); latencies in ms of those intervals' HTTP requests, NaN when they had none. */
#define COORD_SERIES 3600
typedef struct coord_point {
    double   t;
    uint32_t users;
    double   rps, fps, p50, p95, p99;
    double   s50, s95, s99;     /* service percentiles (equal to p50.. in the closed model) */
    double   rate_planned, rate_achieved;  /* arrivals intended / iterations started per
                                 * second (open model; 0 in the closed) */
    uint32_t backlog;           /* the interval's backlog_max */
    uint64_t dropped;           /* dropped in the interval */
    double   lag_p99;           /* ms; NaN when nothing started */
    double   cpu_max;           /* busiest engine thread's CPU, fraction of one core */
    bool     limited;           /* generator-limited interval */
} coord_point;
#endif
