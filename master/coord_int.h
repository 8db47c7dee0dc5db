/* The coordinator's private parts: the state every master/coord_*.c file of the
 * coordinator shares, and the calls between them. Not for other modules (they use
 * master/coord.h and master/coord_types.h).
 *
 * Threads: everything in struct coord belongs to the coordinator thread, except the
 * hand-over fields (marked "under mu"), which any thread touches with mu held: the
 * submitted run, stop requests, the status and worker snapshots, the dashboard's series
 * and texts, pipe events from nng's callback thread.
 *
 * Files, one owner per part of the state:
 *   coord.c           the thread's loop, message dispatch, the periodic step, the API
 *                     calls that submit, stop and wait for runs
 *   coord_registry.c  the worker registry (cworker): lookup by pipe and id, sending to a
 *                     worker (sealed when it has a session), the planner's view of it
 *   coord_auth.c      challenges: CHALLENGE/HELLO/WELCOME/REJECT, pending connections and
 *                     their HELLO timeout, rejected connections closed later, sealed
 *                     sessions (opening frames, ending a broken session), dropped messages
 *   coord_liveness.c  heartbeats both ways, silent and disconnected workers, the estimate
 *                     of what a lost worker never reported
 *   coord_run.c       the run state machine: plans, re-planning (master/slotplan.h),
 *                     stats deltas into the interval ring (master/coord_ring.h), stop,
 *                     finish and the results
 *   coord_view.c      the read model handed to other threads: status, workers, series,
 *                     the live texts (master/live.h), the last summary */
#ifndef MASTER_COORD_INT_H
#define MASTER_COORD_INT_H
#include <pthread.h>
#include <stdatomic.h>
#include <nng/nng.h>
#include "master/coord.h"
#include "master/monitor.h"
#include "master/coord_ring.h"
#include "master/coord_series.h"
#include "master/health.h"
#include "master/merge.h"
#include "master/results.h"
#include "master/slotplan.h"
#include "proto/seal.h"

#define COORD_POLL_MS      50
#define COORD_START_LEAD_MS 500    /* plans go out this long before the synchronized start */
#define COORD_MAX_GONE     1024    /* pipe events queued between two steps */
#define COORD_MAX_PENDING  256     /* connections between CHALLENGE and HELLO */
#define COORD_HELLO_MS     5000    /* a connection that sends no HELLO this long is closed */
#define COORD_MAX_THREADS  1024    /* engine threads one worker may announce */
#define COORD_LOG_EVERY_US 1000000 /* at most one "dropped" log line per peer per second */

typedef struct cworker {
    nng_pipe    pipe;
    proto_hello hello;
    bool        alive;          /* connected and authenticated */
    bool        in_run, done;   /* in the current run; sent its DONE */
    const char *state;
    slot_list   slots;          /* owned: slots it runs in the current run */
    uint64_t    requests;       /* this run */
    uint64_t    last_seen_us;   /* any message */
    uint64_t    last_delta_ms;  /* wall clock of its last stats delta */
    uint64_t    iv_idx, iv_req; /* the interval it reports now, and its requests so far */
    uint32_t    iv_users;
    uint64_t    max_iv_req;     /* most requests it reported in one interval */
    uint64_t    ring_idx[RING_SLOTS];  /* the open intervals it reported (slot idx %   */
    uint32_t    ring_n[RING_SLOTS];    /* RING_SLOTS) and how many deltas: forgotten by the
                                 * ring when it stops being expected (coord_forget_reports) */
    uint32_t    users_last;
    double      rps_last;
    uint64_t    lost_at_ms;
    uint64_t    missing_max;
    double      cpu_pct;        /* from its last heartbeat */
    seal_session seal;          /* with a shared key: this connection's sealed session */
    uint64_t    drops, drop_log_us; /* messages dropped from it; when last logged */
} cworker;

typedef struct cpending {       /* a connection that got a CHALLENGE */
    uint32_t pipe_id;
    uint8_t  nonce[PROTO_NONCE_LEN];
    uint64_t since_us;          /* when the CHALLENGE went out */
    uint64_t drops, drop_log_us;
} cpending;

struct coord {
    nng_socket      sock;
    pthread_t       th;
    atomic_bool     quit;
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    /* hand-over (under mu) */
    bool            run_req;
    bool            stop_req, abort_req;
    coord_status    status;
    uint32_t        gone[COORD_MAX_GONE];
    int             ngone;
    uint32_t        added[COORD_MAX_GONE];
    int             nadded;
    coord_worker_info winfo[64];    /* snapshot for coord_get_workers */
    coord_series    series;         /* the dashboard's (master/coord_series.h) */
    uint64_t        series_run;
    char           *live_json, *live_metrics;   /* latest master/live.h texts */
    char           *summary;        /* the last finished run's summary.json text */
    int             nwinfo;
    struct {                    /* a submitted run, moved to the thread's own fields */
        scenario     *sc;
        proto_plan    plan;
        results       res;
        coord_run_cfg cfg;
        uint64_t      run_id;
    } pend;
    /* coordinator thread only */
    auth_key        key;
    char            id[PROTO_ID_MAX];
    char            results_dir[512];
    char            history[1024];  /* coord_opts.history ("" : the default) */
    bool            no_history;
    char            notify_url[1024];
    char            labels_json[4096];  /* the current run's labels (from coord_run_cfg) */
    char            pend_labels[4096];
    uint32_t        heartbeat_ms, timeout_ms;
    uint64_t        last_hb_us, hb_seq;
    cpending        pending[COORD_MAX_PENDING];
    int             npending;
    uint32_t        closing[COORD_MAX_PENDING];   /* rejected pipes, closed next second */
    uint64_t        closing_at[COORD_MAX_PENDING];
    int             nclosing;
    uint64_t        auth_failures;
    uint64_t        seal_failures;  /* sealed sessions ended by a frame that failed */
    uint64_t        hello_timeouts; /* connections closed for sending no HELLO */
    uint64_t        drops_other, drop_other_log_us; /* from pipes we do not know */
    cworker        *workers;
    sp_worker      *views;          /* capworkers views of them for the slot planner */
    int             nworkers, capworkers;
    coord_state     state;
    proto_plan      plan;
    scenario       *sc;
    uint64_t        run_id;
    uint32_t        expect;
    uint64_t        expect_deadline_ms;
    uint32_t        interval_ms, name_cap, threads_total;
    uint64_t        start_wall_ms, end_wall_ms, stop_deadline_ms, natural_end_ms;
    bool            stop_sent;
    char            reason[512];
    merge_set       totals;
    iv_ring         ring;           /* the open intervals (master/coord_ring.h) */
    health          health;         /* the workers' own health (master/health.h) */
    results         res;
    bool            res_open;
    bool            ckpt_failed;    /* a checkpoint write failed this run (reported once) */
    uint64_t        dropped, late;
    uint64_t        late_requests;  /* HTTP requests of the late deltas (in the totals, in no
                                 * history row); logged at the end of the run */
    uint32_t        last_users;
    double          last_rps, last_p95_ms;
    coord_point     last_point;     /* the last closed interval's (coord_interval_closed) */
    uint64_t        limited_log_ms; /* when a generator-limited interval was last logged */
    uint64_t        limited_quiet;  /* limited intervals not logged since (rate limit) */
    bool            live_due;       /* an interval closed: rebuild the live texts */
    uint64_t        live_at_ms;     /* when they were last rebuilt */
    /* The monitor (master/monitor.h): started with the plans, stopped at the finish. */
    allow_list      mon_allow;      /* --allow-monitor; set at start, read-only after */
    monitor        *mon;            /* NULL: no monitor section, or it could not start */
    monitor_summary mon_sum;        /* the last run's, filled when it stops */
    char           *mon_live;       /* monitor_live_json's latest text (kept after the run) */
};

/* --- coord_registry.c ---------------------------------------------------------------- */
nng_pipe coord_pipe(uint32_t id);
cworker *coord_worker_by_pipe(coord *c, nng_pipe p);
/* The registry entry for worker id, created (zeroed) when new; NULL on ENOMEM. */
cworker *coord_worker_by_id(coord *c, const char *id);
int      coord_send_to(coord *c, nng_pipe p, const proto_msg *m);
int      coord_alive_workers(const coord *c);
bool     coord_carrier(const cworker *w);
sp_worker *coord_views(coord *c);

/* --- coord_auth.c -------------------------------------------------------------------- */
void coord_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg);  /* nng's thread */
void coord_hello(coord *c, nng_pipe p, const proto_hello *h);
/* Opens one received message: unsealed (with a session) and decoded into *m, and only
 * HELLO from a connection not yet welcomed. *w: its worker, or NULL before WELCOME.
 * false: dropped (counted, logged; a broken session ends). */
bool coord_open(coord *c, nng_msg *msg, cworker **w, proto_msg *m);
/* New connections challenged; those silent past COORD_HELLO_MS closed; gone ones
 * forgotten; rejected ones closed once their REJECT had time to leave. */
void coord_auth_step(coord *c, const uint32_t *added, int nadded, const uint32_t *gone, int ngone);

/* --- coord_liveness.c ---------------------------------------------------------------- */
void coord_worker_gone(coord *c, cworker *w, bool lost);
/* Disconnected pipes, heartbeats out, silent workers lost. */
void coord_liveness_step(coord *c, const uint32_t *gone, int ngone);

/* --- coord_run.c --------------------------------------------------------------------- */
void coord_join_run(coord *c, cworker *nw);
void coord_replan_gone(coord *c, cworker *gone);
void coord_stats(coord *c, cworker *w, proto_stats *s);
void coord_done(coord *c, cworker *w, nng_pipe p, const proto_done *d);
void coord_refuse(coord *c, cworker *w, const proto_refuse *r);
void coord_interval_closed(void *arg, const ring_iv *s, const merge_set *totals);
/* w stops being expected (left, lost, DONE): its deltas in the open intervals stop
 * counting toward closing them (master/coord_ring.h ring_forget). Idempotent. */
void coord_forget_reports(coord *c, cworker *w);
void coord_run_step(coord *c, bool stop, bool abort);
void coord_take(coord *c);      /* with mu held */

/* --- coord_view.c -------------------------------------------------------------------- */
void coord_series_add(coord *c, const coord_point *pt);
void coord_results_failed(coord *c, const char *why);
void coord_publish(coord *c);
void coord_refresh_live(coord *c);
#endif
