/* The engine's private half (worker/engine.h is the public one): the user, slot and
 * engine records, shared by worker/engine.c (the closed model's schedule, slots,
 * lifecycle), worker/engine_vu.c (the users' flows) and worker/engine_open.c (the open
 * model: arrivals, pool, backlog). Only those three files include it (and
 * tests/unit/test_engine.c, for its constants). Everything here lives on the engine
 * thread, except the fields engine.h names as shared (the mailbox under its mutex, the
 * atomics). */
#ifndef WORKER_ENGINE_INT_H
#define WORKER_ENGINE_INT_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include "common/stats.h"
#include "worker/engine.h"
#include "worker/http.h"
#include "worker/wsflow.h"

#define ENGINE_TICK_MS  50
#define VU_DEPTH        16      /* nesting of loop/group frames (+1: the setup frame) */
#define VU_SPIN_MAX     256     /* steps walked without waiting before yielding */
/* Event priorities (libevent: 0 runs first). The open model's arrival timer is at
 * ENGINE_PRI_ARRIVAL, and so is libcurl's timer (worker/http.c sets it to the base's
 * first priority, so a request an arrival adds is sent in the same pass); every other
 * event (sockets, think and yield, the tick, the interval, WebSocket sessions) has
 * libevent's default for ENGINE_PRIORITIES queues, ENGINE_PRI_IO. After ENGINE_MAX_CALLBACKS callbacks of
 * ENGINE_PRI_IO the loop looks for due timers again (see engine_new). */
#define ENGINE_PRIORITIES    2
#define ENGINE_PRI_ARRIVAL   0
#define ENGINE_PRI_IO        1
#define ENGINE_MAX_CALLBACKS 4
/* The open model polls without sleeping while its next arrival is due within this many
 * microseconds (see engine_open_loop in worker/engine_open.c). */
#define ENGINE_SPIN_US       100
#define ENGINE_IDLE_POLL_US  10      /* a poll shorter than this that ran no step: idle */

/* VU_IDLE (open model only): between iterations, waiting for an arrival. It keeps its
 * connections and captured variables, is not counted in engine.live (which counts busy
 * users: what the stats' `users` reports in the open model) and sits on its slot's idle
 * stack. */
typedef enum { VU_OFF = 0, VU_READY, VU_HTTP, VU_THINK, VU_WS, VU_IDLE } vu_state;

typedef struct vu_frame {
    const sc_step *steps;
    int            n, idx;
    int64_t        left;        /* loop passes left after this one; -1 forever */
    const sc_step *owner;       /* the loop/group step, NULL for the flow and the setup */
    bool           setup;       /* the profile's setup steps (pushed above the flow) */
    bool           paced;       /* a paced loop: the wait after this pass is done */
    uint64_t       pass_us;     /* a paced loop: the pass's start (the user's base_us then:
                                 * the intended start of its first step), monotonic us */
} vu_frame;

typedef struct vu {
    struct engine   *eng;
    uint64_t         k;         /* global user index, 0-based */
    uint32_t         si;        /* its slot: index into engine.slots (stable) */
    const sc_profile *prof;     /* closed: fixed (user k's); open: the current arrival's */
    vu_state         state;
    bool             retire;    /* stop after the current step */
    bool             inited;    /* think and yield events ready */
    bool             xfer_ready; /* x initialized: at the user's first http step, so a
                                  * WebSocket-only user holds no curl handle */
    const sc_profile *setup_prof; /* the profile whose setup this user ran, NULL: none */
    bool             iter_failed; /* a step of the current iteration failed */
    bool             stopped;   /* closed model: stop_user ended it for the run (the
                                 * schedule does not start it again) */
    uint8_t          fail_act;  /* flow_action (worker/engine_flow.h) of the step that
                                 * just failed, applied by vu_run; FLOW_GO_ON: none */
    long             last_status; /* the status of the user's last HTTP response, 0: none
                                   * yet or no response (if: { status }) */
    vu_frame         stack[VU_DEPTH + 1];
    int              depth;
    uint64_t         iteration;
    uint64_t         iter_start_us; /* the iteration's start: the arrival's intended time
                                     * (open), the actual start (closed); monotonic us */
    uint64_t         iter_actual_us; /* when it actually began (open: its svc) */
    uint64_t         base_us;   /* open model: the intended start of the step being run
                                 * (the arrival's intended time for the iteration's first
                                 * step, else the end of the step before; a think ends at
                                 * its base + the think time) */
    uint64_t         rng;
    tmpl_val        *vars;      /* nvars, in the engine's block */
    uint32_t        *rows;      /* nfeeders, in the engine's block */
    http_xfer        x;
    wsflow          *ws;        /* allocated at the user's first ws step */
    struct event     think_ev;
    struct event     yield_ev;
    const sc_step   *cur;       /* http or ws step in flight */
    uint32_t         stat_id;
    uint64_t         t_start_us;
    char            *url, *hbuf, *body;
    size_t           url_cap, hbuf_cap, body_cap;
    const char      *hptr[HTTP_MAX_HEADERS];
} vu;

/* Users are allocated VU_CHUNK at a time, when the schedule first starts one of them
 * (issue 9, item 6: a plan whose peak is 1,000,000 users made every worker allocate
 * ~2 KiB per user of the peak up front). A chunk is never moved (events, transfers and
 * WebSocket sessions point at their user) and never freed before the engine: users that
 * ramp down and up again reuse it, so a run's steady state allocates nothing. Memory
 * follows the most users running at once in the slot, rounded up to VU_CHUNK, plus one
 * pointer per VU_CHUNK users of the slot's peak share (the chunk table). */
#define VU_CHUNK 64

typedef struct vu_chunk {
    uint32_t  n;                /* users in this chunk (the slot's last one may be short) */
    tmpl_val *vars;             /* n * nvars, user i's at i * nvars */
    uint32_t *rows;             /* n * nfeeders */
    vu        vus[];
} vu_chunk;

/* The users of one slot: user i is global user k = slot + i * threads_total. */
typedef struct eslot {
    uint32_t   slot;
    bool       released;
    bool       grow_failed;     /* out of memory starting users: logged once */
    uint32_t   nvus;            /* the slot's share of the peak (open: of max_users) */
    uint32_t   nready;          /* users allocated: chunks [0, ceil(nready / VU_CHUNK)) */
    vu_chunk **chunks;          /* ceil(nvus / VU_CHUNK) pointers, a prefix allocated */
    /* Open model (worker/engine_open.c); zero in the closed model. */
    bool       arrivals;        /* takes arrivals (slot < T' = min(threads_total, max_users)) */
    uint32_t   nused;           /* users [0, nused) have run; the rest never did */
    uint32_t  *idle;            /* stack of idle users' indices, capacity nready */
    uint32_t   nidle;
    uint64_t  *backlog;         /* ring of waiting arrivals' intended times (monotonic us) */
    uint16_t  *bprof;           /* and their profiles (index into scenario.profiles) */
    uint32_t   bcap, bhead, bn; /* capacity (the slot's share of max_backlog), first, count */
    uint64_t   next_m;          /* the next arrival is a = slot + next_m * T' (uniform: its
                                 * index on the curve; both: its profile's turn) */
    double     cum;             /* poisson: the cumulative sum of T' x Exp(1) gaps */
    uint64_t   rng;             /* poisson: the slot's own generator */
    double     next_us;         /* the next arrival's intended time (us after the start),
                                 * < 0: no more arrivals */
} eslot;

#define ENGINE_MAILBOX 256

struct engine {
    engine_cfg         cfg;
    eslot             *slots;
    uint32_t           nslots, capslots;
    uint32_t           first_slot;  /* for the counter() builtin and the stats header */
    atomic_uint        owned;       /* slots not released (engine_slots; any thread reads) */
    pthread_mutex_t    mbox_mu;     /* adopt/release requests from the agent thread */
    int32_t            mbox[ENGINE_MAILBOX];  /* slot + 1 to adopt, -(slot + 1) to release */
    int                nmbox;
    atomic_bool        abort_req;
    FILE              *sample_log;  /* STAMPEDE_SAMPLE_LOG: every latency, for tests */
    pthread_t          th;
    struct event_base *base;
    http_loop         *http;
    http_opts          opts;
    wsf_env            wsenv;
    uint32_t           ws_closing;  /* connections closing after their user went off */
    stats_shard        shard;
    uint32_t           live;        /* users busy (not OFF, not IDLE) */
    struct event       tick_ev, interval_ev, grace_ev;
    uint64_t           interval_idx;
    uint64_t           duration_ms;
    uint64_t           counter;     /* the counter() builtin's sequence */
    uint32_t          *iter_ids;    /* per profile: the id of its ("ITER", name) row
                                     * (UINT32_MAX past the name cap) */
    uint64_t           cpu_prev_us, wall_prev_us; /* at the last emit (sched.cpu/wall_us) */
    uint64_t           pcpu_prev_us;  /* the process's CPU time at the last emit (health) */
    struct event       lag_ev;      /* the loop-lag timer (STATS_LAG_TICK_MS, health) */
    uint64_t           lag_due_us;  /* when lag_ev falls due (monotonic us) */
    /* Open model */
    bool               open;
    uint32_t           tprime;      /* T' = min(threads_total, max_users) */
    uint32_t           waiting;     /* arrivals waiting over every slot */
    bool               arrivals_over; /* the stages ended or the stop began: none taken */
    struct event       arrive_ev;   /* the next arrival of any slot */
    uint64_t           arrive_due_us; /* when arrive_ev falls due (monotonic us), 0: not armed */
    uint64_t           steps;       /* vu_run calls: a poll that ran none found no work */
    uint64_t           spin_idle_us;  /* time spent in polls that found no work (engine_open_loop) */
    uint64_t           spin_prev_us;  /* spin_idle_us at the last emit */
    bool               stopping;
    bool               done;        /* final delta emitted */
    bool               started;
    atomic_bool        stop_req;
    atomic_bool        finished;
};

/* User i of a slot; i < sl->nready. */
static inline vu *eslot_vu(const eslot *sl, uint32_t i)
{
    return &sl->chunks[i / VU_CHUNK]->vus[i % VU_CHUNK];
}

/* worker/engine_vu.c: the users' flows, for engine.c and engine_open.c. */
/* Walks the user's flow until it waits, goes idle (open) or goes off. */
void vu_run(vu *v);
/* The user goes off (its think/yield events removed, an open model's user back to its
 * slot's idle stack, its ws connection closed); may finish the engine. */
void vu_off(vu *v);
/* Binds the user's think and yield events to the engine's base. 0. */
int  vu_init(vu *v);
/* Closed model: the schedule starts user v (or keeps a retiring one). */
void vu_spawn(vu *v);
/* wsf_env.done: a ws step that waited is over; the user continues. */
void vu_ws_done(void *arg);
/* Starts an iteration (data rows, the flow frame, the setup frame on a user's first
 * one). start_us: the iteration's intended start (open) or the actual start (closed). */
void vu_begin_iteration(vu *v, uint64_t start_us);
/* worker/engine.c, for engine_vu.c and engine_open.c */
int  engine_slot_grow(struct engine *e, eslot *sl, uint32_t want);
/* Finishes the engine once it is stopping, no user is busy and no connection closes. */
void engine_maybe_finish(struct engine *e);

/* worker/engine_open.c: the open model. */
/* Binds the arrival timer to the engine's base (both models; armed only in the open). */
void engine_open_init(struct engine *e);
/* Prepares an (adopted) slot for arrivals: its backlog (preallocated here, never on the
 * arrival path) and its first arrival at or after from_us (us after the start). 0, or
 * -1 on ENOMEM (the slot then takes no arrivals, logged). */
int  engine_open_slot_init(struct engine *e, eslot *sl, double from_us);
/* Starts, queues or drops every arrival due by now (monotonic us) on every slot that
 * takes arrivals, then arms the timer for the next one. */
void engine_open_arrivals(struct engine *e, uint64_t now);
/* A released slot: its waiting arrivals are dropped (counted), it takes no more. */
void engine_open_release(struct engine *e, eslot *sl);
/* The stop (end of the stages, engine_stop): no more arrivals, the waiting ones are
 * dropped (counted), idle users go off; busy users finish their iteration. */
void engine_open_stop(struct engine *e);
/* A user's iteration ended (open model): it takes the slot's next waiting arrival
 * (true: a new iteration begun) or goes idle (false). */
bool engine_open_next(vu *v);
/* Runs the engine's event loop until the engine is done (open model; the engine thread). */
void engine_open_loop(struct engine *e);
/* Frees the slot's open-model arrays (engine teardown). */
void engine_open_slot_fini(eslot *sl);
#endif
