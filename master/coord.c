/* The coordinator: see coord.h. Everything below the API functions runs on the
 * coordinator thread; the mutex guards only the hand-over fields (the submitted run,
 * stop requests, the status snapshot, removed pipes). */
#include "master/coord.h"
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include "common/log.h"
#include "common/time.h"
#include "master/live.h"
#include "master/coord_ring.h"
#include "master/merge.h"
#include "master/slotplan.h"
#include "master/results.h"
#include "master/thresholds.h"
#include "proto/plan.h"
#include "proto/seal.h"
#include <openssl/crypto.h>

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
    coord_point    *series;         /* COORD_SERIES ring for the dashboard */
    int             series_n, series_head;
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
    results         res;
    bool            res_open;
    uint64_t        dropped, late;
    uint32_t        last_users;
    double          last_rps, last_p95_ms;
    bool            live_due;       /* an interval closed: rebuild the live texts */
    uint64_t        live_at_ms;     /* when they were last rebuilt */
};

/* --- sending ----------------------------------------------------------------------- */

static cworker *coord_worker_by_pipe(coord *c, nng_pipe p);

/* Encodes m for pipe p: sealed when p is a worker with a session (PROTOCOL.md 4). */
static int coord_send_to(coord *c, nng_pipe p, const proto_msg *m)
{
    char *buf;
    size_t len;
    if (proto_encode(m, &buf, &len) != 0) {
        log_error("master", "cannot encode %s", proto_type_name(m->type));
        return -1;
    }
    cworker *sw = coord_worker_by_pipe(c, p);
    if (sw && sw->seal.on) {
        char *sealed;
        size_t slen;
        int sr = seal_wrap(&sw->seal, buf, len, &sealed, &slen);
        free(buf);
        if (sr != 0) {
            log_error("master", "cannot seal %s for worker %s", proto_type_name(m->type), sw->hello.id);
            return -1;
        }
        buf = sealed;
        len = slen;
    }
    nng_msg *msg;
    int rv = nng_msg_alloc(&msg, 0);
    if (rv == 0 && (rv = nng_msg_append(msg, buf, len)) == 0) {
        nng_msg_set_pipe(msg, p);
        if ((rv = nng_sendmsg(c->sock, msg, 0)) != 0) nng_msg_free(msg); /* ours if it failed */
    } else if (rv == 0) {
        nng_msg_free(msg);
    }
    free(buf);
    if (rv != 0) log_warn("master", "send %s: %s", proto_type_name(m->type), nng_strerror(rv));
    return rv;
}

/* --- workers ----------------------------------------------------------------------- */

static cworker *coord_worker_by_pipe(coord *c, nng_pipe p)
{
    for (int i = 0; i < c->nworkers; i++)
        if (c->workers[i].alive && nng_pipe_id(c->workers[i].pipe) == nng_pipe_id(p)) return &c->workers[i];
    return NULL;
}

static void coord_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    coord *c = arg;
    pthread_mutex_lock(&c->mu);
    bool full = false;
    if (ev == NNG_PIPE_EV_REM_POST && c->ngone < COORD_MAX_GONE) c->gone[c->ngone++] = (uint32_t)nng_pipe_id(p);
    if (ev == NNG_PIPE_EV_ADD_POST) {
        if (c->nadded < COORD_MAX_GONE) c->added[c->nadded++] = (uint32_t)nng_pipe_id(p);
        else full = true;
    }
    pthread_mutex_unlock(&c->mu);
    /* A flood of new connections faster than the coordinator steps: a connection it
     * would never challenge is closed now rather than held open unseen. (A lost REM
     * event is harmless: heartbeats find the silent worker.) */
    if (full) nng_pipe_close(p);
}

static nng_pipe coord_pipe(uint32_t id)
{
    nng_pipe p = NNG_PIPE_INITIALIZER;
    p.id = id;
    return p;
}

/* A new connection: challenge it. Nothing it sends but HELLO is heard until it passes. */
static void coord_challenge(coord *c, uint32_t pipe_id)
{
    cpending *pd;
    if (c->npending < COORD_MAX_PENDING) {
        pd = &c->pending[c->npending++];
    } else {                    /* full of silent connections: drop the oldest */
        nng_pipe_close(coord_pipe(c->pending[0].pipe_id));
        memmove(c->pending, c->pending + 1, (COORD_MAX_PENDING - 1) * sizeof *pd);
        pd = &c->pending[COORD_MAX_PENDING - 1];
    }
    pd->pipe_id = pipe_id;
    pd->since_us = time_mono_us();
    pd->drops = pd->drop_log_us = 0;
    auth_nonce(pd->nonce);
    proto_msg m = { .type = MSG_CHALLENGE };
    memcpy(m.u.challenge.nonce, pd->nonce, PROTO_NONCE_LEN);
    m.u.challenge.key_required = c->key.len > 0;
    coord_send_to(c, coord_pipe(pipe_id), &m);
}

static void coord_reject(coord *c, nng_pipe p, const char *reason)
{
    proto_msg m = { .type = MSG_REJECT };
    snprintf(m.u.reject.reason, sizeof m.u.reject.reason, "%s", reason);
    coord_send_to(c, p, &m);
    if (c->nclosing < COORD_MAX_PENDING) {
        c->closing[c->nclosing] = (uint32_t)nng_pipe_id(p);
        c->closing_at[c->nclosing++] = time_mono_us() + 500000;
    } else {
        nng_pipe_close(p);
    }
}

static int coord_alive_workers(const coord *c)
{
    int n = 0;
    for (int i = 0; i < c->nworkers; i++) n += c->workers[i].alive;
    return n;
}

/* Workers of the current run that still carry load. */
static bool coord_carrier(const cworker *w) { return w->in_run && w->alive && !w->done; }

/* The registry as the slot planner sees it (master/slotplan.h), in registry order. */
static sp_worker *coord_views(coord *c)
{
    for (int i = 0; i < c->nworkers; i++)
        c->views[i] = (sp_worker){ .slots = &c->workers[i].slots, .threads = c->workers[i].hello.threads,
                                   .carrier = coord_carrier(&c->workers[i]) };
    return c->views;
}

static void coord_send_slots(coord *c, cworker *w, proto_type type, uint32_t *slots, uint32_t n)
{
    if (n == 0) return;
    proto_msg m = { .type = type };
    m.u.slots.run_id = c->run_id;
    m.u.slots.slots = slots;
    m.u.slots.nslots = n;
    coord_send_to(c, w->pipe, &m);
}

static bool coord_running(const coord *c)
{
    return c->state == RUN_RUNNING || c->state == RUN_STOPPING;
}

/* Hands the slots of a worker that is gone (lost or left) to the carriers with the
 * fewest slots, one ADOPT per recipient (master/slotplan.h slotplan_gone). Survivors
 * keep their own users. */
static void coord_replan_gone(coord *c, cworker *gone)
{
    if (!coord_running(c) || c->stop_sent || gone->slots.n == 0) return;
    slot_list *got = calloc((size_t)c->nworkers, sizeof *got);
    if (!got) return;
    slotplan_gone(coord_views(c), c->nworkers, (int)(gone - c->workers), got);
    for (int i = 0; i < c->nworkers; i++) {
        coord_send_slots(c, &c->workers[i], MSG_ADOPT, got[i].v, got[i].n);
        if (got[i].n) log_info("master", "worker %s adopts %u slots of %s", c->workers[i].hello.id,
                               got[i].n, gone->hello.id);
        slot_list_free(&got[i]);
    }
    free(got);
}

/* Marks w gone (lost: silent or disconnected; left: said DONE "leaving") and re-plans. */
static void coord_worker_gone(coord *c, cworker *w, bool lost)
{
    bool carried = coord_carrier(w);
    if (lost) nng_pipe_close(w->pipe);
    w->alive = false;
    if (!carried) return;
    w->lost_at_ms = time_wall_ms();
    w->state = lost ? "lost" : "left";
    if (lost) {
        /* What it may have completed and never reported: its best interval's count for
         * every interval since its last delta reached us (plus a tenth of an interval for
         * timer lateness and delivery delay), and one request in flight per user it ran:
         * the target may have counted a request whose answer the worker never saw. */
        uint64_t since = w->lost_at_ms > w->last_delta_ms ? w->lost_at_ms - w->last_delta_ms : 0;
        since += c->interval_ms / 10;
        uint64_t ivs = (since + c->interval_ms - 1) / c->interval_ms;
        if (ivs == 0) ivs = 1;
        w->missing_max = (w->max_iv_req > w->iv_req ? w->max_iv_req : w->iv_req) * ivs + w->users_last;
        w->done = true;         /* nothing more will come from it */
    }
    log_warn("master", "worker %s %s mid-run; its %u slots move to the others", w->hello.id,
             lost ? "was lost" : "left", w->slots.n);
    coord_replan_gone(c, w);
}

static void coord_send_plan(coord *c, cworker *w)
{
    proto_msg m = { .type = MSG_PLAN };
    m.u.plan = c->plan;
    m.u.plan.run_id = c->run_id;
    m.u.plan.slots = w->slots.v;
    m.u.plan.nslots = w->slots.n;
    m.u.plan.threads_total = c->threads_total;
    m.u.plan.start_at_ms = c->start_wall_ms;
    m.u.plan.interval_ms = c->interval_ms;
    m.u.plan.name_cap = c->name_cap;
    coord_send_to(c, w->pipe, &m);
}

/* A worker that joins a running run gets a share: slots released by the busiest
 * workers until it holds about its share of threads (master/slotplan.h slotplan_join). */
static void coord_join_run(coord *c, cworker *nw)
{
    sp_moves mv = { 0 };
    if (slotplan_join(coord_views(c), c->nworkers, (int)(nw - c->workers), c->threads_total, &mv) < 0) return;
    nw->in_run = true;
    nw->done = false;
    nw->requests = 0;
    nw->state = "running";
    nw->lost_at_ms = 0;
    nw->missing_max = 0;
    nw->last_delta_ms = time_wall_ms();
    for (uint32_t k = 0; k < mv.n; k++)     /* one RELEASE per slot, in the order taken */
        coord_send_slots(c, &c->workers[mv.v[k].from], MSG_RELEASE, &mv.v[k].slot, 1);
    free(mv.v);
    if (nw->slots.n == 0) {     /* nothing to share: it waits for the next run */
        nw->in_run = false;
        nw->state = "idle";
        return;
    }
    coord_send_plan(c, nw);
    log_info("master", "worker %s joined the run with %u slots", nw->hello.id, nw->slots.n);
}

static void coord_drop(coord *c, nng_pipe p, const char *why);

static void coord_hello(coord *c, nng_pipe p, const proto_hello *h)
{
    int pi = -1;
    for (int i = 0; i < c->npending; i++)
        if (c->pending[i].pipe_id == (uint32_t)nng_pipe_id(p)) pi = i;
    if (pi < 0) {
        c->auth_failures++;
        coord_drop(c, p, "a HELLO that answers no CHALLENGE");
        return;
    }
    uint8_t nonce_m[PROTO_NONCE_LEN];
    memcpy(nonce_m, c->pending[pi].nonce, PROTO_NONCE_LEN);
    c->pending[pi] = c->pending[--c->npending];
    if (c->key.len) {
        uint8_t want[PROTO_PROOF_LEN];
        auth_hello_proof(&c->key, nonce_m, h->nonce, h->id, want);
        if (!h->has_proof || !auth_equal(want, h->proof)) {
            c->auth_failures++;
            log_warn("master", "worker %s (%s) refused: %s", h->id, h->host,
                     h->has_proof ? "wrong shared key" : "no shared key");
            coord_reject(c, p, h->has_proof ? "wrong shared key" : "this master requires a shared key (--key-file)");
            return;
        }
    }
    if (h->threads > COORD_MAX_THREADS) {
        char why[128];
        snprintf(why, sizeof why, "%u engine threads announced; a worker may run at most %d "
                 "(--threads)", h->threads, COORD_MAX_THREADS);
        log_warn("master", "worker %s (%s) refused: %s", h->id, h->host, why);
        coord_reject(c, p, why);
        return;
    }
    seal_session sess;
    memset(&sess, 0, sizeof sess);
    if (c->key.len && seal_derive(&sess, &c->key, nonce_m, h->nonce, h->id, true) != 0) {
        log_error("master", "worker %s refused: cannot derive its session keys", h->id);
        coord_reject(c, p, "the master could not derive session keys");
        return;
    }
    cworker *w = NULL;
    for (int i = 0; i < c->nworkers; i++)
        if (!strcmp(c->workers[i].hello.id, h->id)) w = &c->workers[i];
    if (w && w->alive && nng_pipe_id(w->pipe) != nng_pipe_id(p)) {
        /* the same id on a new connection: the old one is dead */
        coord_worker_gone(c, w, true);
    }
    if (!w) {
        if (c->nworkers == c->capworkers) {
            int n = c->capworkers ? c->capworkers * 2 : 8;
            sp_worker *nv = realloc(c->views, (size_t)n * sizeof *nv);
            if (!nv) return;
            c->views = nv;
            cworker *nw = realloc(c->workers, (size_t)n * sizeof *nw);
            if (!nw) return;
            c->workers = nw;
            c->capworkers = n;
        }
        w = &c->workers[c->nworkers++];
        memset(w, 0, sizeof *w);
    }
    w->pipe = p;
    w->hello = *h;
    if (w->hello.threads == 0) w->hello.threads = 1;
    seal_clear(&w->seal);       /* WELCOME itself goes out plain, with its proof */
    w->drops = w->drop_log_us = 0;
    w->alive = true;
    w->last_seen_us = time_mono_us();
    if (!w->in_run) w->state = "idle";
    proto_msg m = { .type = MSG_WELCOME };
    snprintf(m.u.welcome.master, sizeof m.u.welcome.master, "%s", c->id);
    if (c->key.len) {
        auth_welcome_proof(&c->key, h->nonce, nonce_m, m.u.welcome.proof);
        m.u.welcome.has_proof = true;
    }
    coord_send_to(c, p, &m);
    w->seal = sess;             /* everything after WELCOME is sealed (with a key) */
    OPENSSL_cleanse(&sess, sizeof sess);
    log_info("master", "worker %s (%s, %u threads) joined", h->id, h->host, h->threads);
    if (c->state == RUN_RUNNING && !c->stop_sent && !(w->in_run && !w->done)) coord_join_run(c, w);
}

/* --- intervals --------------------------------------------------------------------- */

static void coord_series_add(coord *c, const coord_point *pt)
{
    pthread_mutex_lock(&c->mu);
    if (c->series_run != c->run_id) {
        c->series_run = c->run_id;
        c->series_n = c->series_head = 0;
    }
    if (c->series) {
        c->series[(c->series_head + c->series_n) % COORD_SERIES] = *pt;
        if (c->series_n < COORD_SERIES) c->series_n++;
        else c->series_head = (c->series_head + 1) % COORD_SERIES;
    }
    pthread_mutex_unlock(&c->mu);
}

/* The results folder refused a write (full disk, I/O error): the run goes on, its
 * status says so at once, and the totals stay readable from memory (coord_get_summary). */
static void coord_results_failed(coord *c, const char *why)
{
    log_error("master", "results could not be written: %s", why);
    pthread_mutex_lock(&c->mu);
    if (!c->status.results_error[0])
        snprintf(c->status.results_error, sizeof c->status.results_error, "%s", why);
    pthread_mutex_unlock(&c->mu);
}

/* The ring closed an interval (master/coord_ring.h): its history row, the dashboard's
 * point and the last-interval figures of the status. */
static void coord_interval_closed(void *arg, const ring_iv *s, const merge_set *totals)
{
    coord *c = arg;
    double iv = c->interval_ms / 1000.0;
    uint64_t wall = c->start_wall_ms + (s->idx + 1) * c->interval_ms;
    if (c->res_open && !c->res.history_err[0] &&
        results_history(&c->res, wall, s->users, iv, &s->set, totals) != 0)
        coord_results_failed(c, c->res.history_err);
    c->last_users = s->users;
    c->last_rps = s->set.all.requests / iv;
    c->last_p95_ms = hist_percentile(&s->set.all.lat, 95) / 1000.0;
    coord_point pt = { .t = (s->idx + 1) * iv, .users = s->users, .rps = c->last_rps,
                       .fps = s->set.all.failures / iv };
    bool any = s->set.all.requests > 0;
    pt.p50 = any ? hist_percentile(&s->set.all.lat, 50) / 1000.0 : NAN;
    pt.p95 = any ? c->last_p95_ms : NAN;
    pt.p99 = any ? hist_percentile(&s->set.all.lat, 99) / 1000.0 : NAN;
    coord_series_add(c, &pt);
    c->live_due = true;
}

/* Deltas expected per interval: one per engine of every worker carrying load. */
static uint32_t coord_expected(const coord *c)
{
    uint32_t n = 0;
    for (int i = 0; i < c->nworkers; i++)
        if (coord_carrier(&c->workers[i])) n += c->workers[i].hello.threads;
    return n;
}

/* Closes every interval that all engines reported, or that is overdue. */
static void coord_close_ready(coord *c, bool all)
{
    ring_close_ready(&c->ring, c->start_wall_ms, time_wall_ms(), coord_expected(c), all);
}

/* --- the run ----------------------------------------------------------------------- */

static void coord_publish(coord *c)
{
    pthread_mutex_lock(&c->mu);
    coord_status *st = &c->status;
    st->state = c->state;
    uint64_t now = c->end_wall_ms ? c->end_wall_ms : time_wall_ms();
    st->elapsed_s = c->start_wall_ms && now > c->start_wall_ms ? (now - c->start_wall_ms) / 1000.0 : 0;
    st->users = c->last_users;
    st->rps = c->last_rps;
    st->p95_ms = c->last_p95_ms;
    st->requests = c->totals.all.requests;
    st->failures = c->totals.all.failures;
    st->workers = (uint32_t)coord_alive_workers(c);
    st->run_id = c->run_id;
    snprintf(st->reason, sizeof st->reason, "%s", c->reason);
    st->proto_dropped = c->dropped;
    st->proto_auth_failures = c->auth_failures;
    st->proto_seal_failures = c->seal_failures;
    st->proto_hello_timeouts = c->hello_timeouts;
    uint64_t mono = time_mono_us();
    c->nwinfo = 0;
    for (int i = 0; i < c->nworkers && c->nwinfo < (int)(sizeof c->winfo / sizeof c->winfo[0]); i++) {
        const cworker *w = &c->workers[i];
        if (!w->alive && !w->in_run) continue;
        coord_worker_info *o = &c->winfo[c->nwinfo++];
        snprintf(o->id, sizeof o->id, "%s", w->hello.id);
        snprintf(o->host, sizeof o->host, "%s", w->hello.host);
        o->threads = w->hello.threads;
        o->slots = coord_carrier(w) ? w->slots.n : 0;
        o->users = coord_carrier(w) ? w->users_last : 0;
        o->rps = coord_carrier(w) ? w->rps_last : 0;
        o->requests = w->requests;
        snprintf(o->state, sizeof o->state, "%s", w->alive || w->in_run ? (w->state ? w->state : "idle") : "gone");
        o->last_seen_s = (mono - w->last_seen_us) / 1e6;
        o->cpu_pct = w->cpu_pct;
    }
    if (c->res_open) snprintf(st->out_dir, sizeof st->out_dir, "%s", c->res.dir);
    pthread_mutex_unlock(&c->mu);
}

/* Rebuilds the dashboard's and Prometheus' texts (master/live.h) from the totals. */
static void coord_refresh_live(coord *c)
{
    coord_publish(c);
    coord_status st;
    coord_worker_info w[64];
    pthread_mutex_lock(&c->mu);
    st = c->status;
    int nw = c->nwinfo;
    memcpy(w, c->winfo, (size_t)nw * sizeof w[0]);
    pthread_mutex_unlock(&c->mu);
    live_input in = { .st = &st, .scenario = c->sc ? c->sc->name : NULL, .sc = c->sc,
                      .totals = c->run_id ? &c->totals : NULL, .workers = w, .nworkers = nw };
    char *j = live_json(&in), *m = live_metrics(&in);
    pthread_mutex_lock(&c->mu);
    if (j) { free(c->live_json); c->live_json = j; j = NULL; }
    if (m) { free(c->live_metrics); c->live_metrics = m; m = NULL; }
    pthread_mutex_unlock(&c->mu);
    free(j);
    free(m);
    c->live_due = false;
}

static void coord_send_plans(coord *c)
{
    for (int i = 0; i < c->nworkers; i++) {
        cworker *w = &c->workers[i];
        w->in_run = w->alive;
        w->done = false;
        w->requests = 0;
        w->lost_at_ms = w->missing_max = w->max_iv_req = w->iv_req = w->iv_idx = 0;
        w->users_last = 0;
        w->rps_last = 0;
        if (w->alive) w->state = "running";
    }
    /* one slot per engine thread it announced: load in proportion to threads. A run has
     * at most PROTO_MAX_SLOTS slots (what one PLAN can carry): beyond that, later workers
     * get fewer, and a worker left with none sits this run out (master/slotplan.h). */
    c->threads_total = slotplan_deal(coord_views(c), c->nworkers, PROTO_MAX_SLOTS);
    for (int i = 0; i < c->nworkers; i++) {
        cworker *w = &c->workers[i];
        if (!w->alive || w->slots.n) continue;
        w->in_run = false;
        w->state = "idle";
        log_warn("master", "worker %s sits this run out: the run already has %u slots, the most a plan carries",
                 w->hello.id, PROTO_MAX_SLOTS);
    }
    c->start_wall_ms = time_wall_ms() + COORD_START_LEAD_MS;
    c->natural_end_ms = c->start_wall_ms + scenario_duration_ms(c->sc) + c->sc->graceful_stop_ms + 15000;
    for (int i = 0; i < c->nworkers; i++) {
        cworker *w = &c->workers[i];
        if (!w->in_run) continue;
        w->last_delta_ms = c->start_wall_ms;
        coord_send_plan(c, w);
    }
    c->state = RUN_RUNNING;
    log_info("master", "run %llu planned on %d workers, %u slots",
             (unsigned long long)c->run_id, coord_alive_workers(c), c->threads_total);
}

static void coord_send_stop(coord *c)
{
    if (c->stop_sent) return;
    c->stop_sent = true;
    for (int i = 0; i < c->nworkers; i++) {
        cworker *w = &c->workers[i];
        if (!w->in_run || w->done || !w->alive) continue;
        proto_msg m = { .type = MSG_STOP };
        m.u.stop.run_id = c->run_id;
        m.u.stop.graceful_ms = c->sc->graceful_stop_ms;
        coord_send_to(c, w->pipe, &m);
    }
}

static void coord_finish(coord *c, coord_state final)
{
    coord_close_ready(c, true);
    c->end_wall_ms = time_wall_ms();
    if (!c->start_wall_ms) c->start_wall_ms = c->end_wall_ms;    /* never started */
    /* Thresholds judge a run that ran; an aborted one fails by its exit code alone. */
    int nth = final == RUN_FINISHED ? c->sc->nthresholds : 0;
    th_result *th = nth ? calloc((size_t)nth, sizeof *th) : NULL;
    double dur = c->end_wall_ms > c->start_wall_ms ? (c->end_wall_ms - c->start_wall_ms) / 1000.0 : 0;
    int failed = nth && th ? thresholds_eval(c->sc, &c->totals, dur, th) : 0;
    results_worker *rw = calloc((size_t)(c->nworkers ? c->nworkers : 1), sizeof *rw);
    int nrw = 0;
    uint64_t missing = 0;
    for (int i = 0; rw && i < c->nworkers; i++) {
        cworker *w = &c->workers[i];
        if (!w->in_run) continue;
        snprintf(rw[nrw].id, sizeof rw[nrw].id, "%s", w->hello.id);
        snprintf(rw[nrw].host, sizeof rw[nrw].host, "%s", w->hello.host);
        rw[nrw].threads = w->hello.threads;
        rw[nrw].requests = w->requests;
        rw[nrw].state = w->done ? w->state : "missing";
        rw[nrw].lost_at_ms = w->lost_at_ms;
        rw[nrw].lost_at_s = w->lost_at_ms > c->start_wall_ms ? (w->lost_at_ms - c->start_wall_ms) / 1000.0 : 0;
        rw[nrw].missing_requests_max = w->missing_max;
        missing += w->missing_max;
        nrw++;
    }
    if (!c->reason[0]) snprintf(c->reason, sizeof c->reason, "%s", c->stop_sent ? "stopped" : "finished");
    if (c->res_open) {
        results_meta meta = { .sc = c->sc, .target = c->sc->target, .start_wall_ms = c->start_wall_ms,
                              .end_wall_ms = c->end_wall_ms, .duration_s = dur,
                              .peak_users = scenario_peak_users(c->sc), .stop_reason = c->reason,
                              .th = th, .nth = th ? nth : 0, .workers = rw, .nworkers = nrw,
                              .missing_requests_max = missing };
        char err[512];
        char *text = results_summary_text(&meta, &c->totals);
        if (results_finish(&c->res, &meta, &c->totals, err, sizeof err) != 0)
            coord_results_failed(c, err);
        c->res_open = false;
        pthread_mutex_lock(&c->mu);
        free(c->summary);
        c->summary = text;      /* kept: the totals outlive a disk that refused them */
        pthread_mutex_unlock(&c->mu);
    }
    free(th);
    free(rw);
    for (int i = 0; i < c->nworkers; i++) c->workers[i].in_run = false;
    c->state = final;
    pthread_mutex_lock(&c->mu);
    c->status.thresholds_failed = failed;
    pthread_mutex_unlock(&c->mu);
    coord_refresh_live(c);      /* publishes too: the final figures, before waiters wake */
    pthread_mutex_lock(&c->mu);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    log_info("master", "run %llu %s", (unsigned long long)c->run_id, c->reason);
}

static void coord_abort(coord *c, const char *fmt, const char *arg)
{
    snprintf(c->reason, sizeof c->reason, fmt, arg);  /* fmt is always "%s" */
    coord_send_stop(c);
    coord_finish(c, RUN_ABORTED);
}

static void coord_stats(coord *c, cworker *w, proto_stats *s)
{
    if (s->run_id != c->run_id || (c->state != RUN_RUNNING && c->state != RUN_STOPPING)) {
        c->dropped++;
        return;
    }
    uint64_t req = 0;
    for (uint32_t i = 0; i < s->nentries; i++)      /* HTTP requests: what a target counts */
        if (!stats_is_ws_method(s->entries[i].method)) req += s->entries[i].requests;
    w->requests += req;
    w->last_delta_ms = time_wall_ms();
    if (s->interval != w->iv_idx) {     /* its previous interval is complete */
        if (w->iv_req > w->max_iv_req) w->max_iv_req = w->iv_req;
        w->users_last = w->iv_users;
        w->rps_last = w->iv_req / (c->interval_ms / 1000.0);
        w->iv_idx = s->interval;
        w->iv_req = 0;
        w->iv_users = 0;
    }
    w->iv_req += req;
    w->iv_users += s->users;
    if (ring_add(&c->ring, s)) c->late++;  /* its interval is already written: totals only */
}

/* Counts a dropped message and logs it, at most once a second per peer (a peer that
 * sends nothing but garbage must not fill the log). */
static void coord_drop(coord *c, nng_pipe p, const char *why)
{
    c->dropped++;
    uint64_t now = time_mono_us(), *n = &c->drops_other, *at = &c->drop_other_log_us;
    cworker *w = coord_worker_by_pipe(c, p);
    const char *who = "an unknown connection";
    if (w) {
        n = &w->drops;
        at = &w->drop_log_us;
        who = w->hello.id;
    } else {
        for (int i = 0; i < c->npending; i++)
            if (c->pending[i].pipe_id == (uint32_t)nng_pipe_id(p)) {
                n = &c->pending[i].drops;
                at = &c->pending[i].drop_log_us;
                who = "a connection before its HELLO";
            }
    }
    (*n)++;
    if (*at == 0 || now - *at >= COORD_LOG_EVERY_US) {
        *at = now;
        log_warn("master", "dropped a message from %s: %s (%llu from it, %llu in all)", who, why,
                 (unsigned long long)*n, (unsigned long long)c->dropped);
    }
}

/* A sealed session broke (a frame failed, or a plain message came where only sealed ones
 * may): the message is dropped and counted, and the session ends (the worker is lost). */
static void coord_seal_fail(coord *c, cworker *w, const char *why)
{
    c->seal_failures++;
    c->dropped++;
    log_warn("master", "worker %s: %s; session ended (%llu such)", w->hello.id, why,
             (unsigned long long)c->seal_failures);
    seal_clear(&w->seal);
    coord_worker_gone(c, w, true);
}

static void coord_handle(coord *c, nng_msg *msg)
{
    nng_pipe p = nng_msg_get_pipe(msg);
    cworker *w = coord_worker_by_pipe(c, p);
    const char *body = nng_msg_body(msg);
    size_t blen = nng_msg_len(msg);
    char *opened = NULL;
    if (w && w->seal.on) {
        if (!seal_is_frame(body, blen)) {
            coord_seal_fail(c, w, "a plain message inside a sealed session");
            return;
        }
        if (seal_open(&w->seal, body, blen, &opened, &blen) != 0) {
            coord_seal_fail(c, w, "a sealed message failed authentication (tampered, replayed or out of order)");
            return;
        }
        body = opened;
    } else if (seal_is_frame(body, blen)) {
        coord_drop(c, p, "a sealed message outside a session");
        return;
    }
    proto_msg m;
    int rv = proto_decode(body, blen, &m);
    free(opened);
    if (rv != PROTO_OK) {
        coord_drop(c, p, proto_strerror(rv));
        return;
    }
    if (w) w->last_seen_us = time_mono_us();
    if (!w && m.type != MSG_HELLO) {
        /* not authenticated: nothing but HELLO is heard */
        coord_drop(c, p, "not authenticated: only HELLO is heard");
        proto_msg_free(&m);
        return;
    }
    if (w && m.type == MSG_HELLO) {
        coord_drop(c, p, "a HELLO on a welcomed connection");
        proto_msg_free(&m);
        return;
    }
    switch (m.type) {
    case MSG_HELLO:
        coord_hello(c, p, &m.u.hello);
        break;
    case MSG_STATS:
        coord_stats(c, w, &m.u.stats);
        break;
    case MSG_DONE:
        if (w->in_run && m.u.done.run_id == c->run_id && !w->done) {
            bool leaving = !strcmp(m.u.done.reason, "leaving") && !c->stop_sent;
            if (leaving) {
                coord_worker_gone(c, w, false);     /* its final deltas came before */
                w->alive = true;                    /* still connected until it closes */
            } else {
                w->state = c->stop_sent ? "stopped" : "finished";
            }
            w->done = true;
        }
        {
            proto_msg ack = { .type = MSG_ACK };
            ack.u.ack.run_id = m.u.done.run_id;
            coord_send_to(c, p, &ack);
        }
        break;
    case MSG_REFUSE:
        if (w->in_run && m.u.refuse.run_id == c->run_id &&
            (c->state == RUN_RUNNING || c->state == RUN_STOPPING)) {
            char why[400];
            snprintf(why, sizeof why, "worker %.64s refused the plan: %.300s", w->hello.id, m.u.refuse.reason);
            w->done = true;
            w->state = "refused";
            coord_abort(c, "%s", why);
        }
        break;
    case MSG_HEARTBEAT:
        w->cpu_pct = m.u.heartbeat.cpu_pct;
        break;
    default:
        c->dropped++;
        break;
    }
    proto_msg_free(&m);
}

static void coord_step(coord *c)
{
    bool stop, abort;
    uint32_t gone[COORD_MAX_GONE], added[COORD_MAX_GONE];
    int ngone, nadded;
    pthread_mutex_lock(&c->mu);
    stop = c->stop_req;
    abort = c->abort_req;
    ngone = c->ngone;
    memcpy(gone, c->gone, (size_t)ngone * sizeof gone[0]);
    c->ngone = 0;
    nadded = c->nadded;
    memcpy(added, c->added, (size_t)nadded * sizeof added[0]);
    c->nadded = 0;
    pthread_mutex_unlock(&c->mu);
    for (int g = 0; g < nadded; g++) coord_challenge(c, added[g]);
    /* Connections that never answer their CHALLENGE are closed (PROTOCOL.md 7). */
    uint64_t mono0 = time_mono_us();
    for (int i = 0; i < c->npending; i++) {
        if (mono0 - c->pending[i].since_us < (uint64_t)COORD_HELLO_MS * 1000) continue;
        c->hello_timeouts++;
        if (c->hello_timeouts == 1 || c->hello_timeouts % 1000 == 0)
            log_warn("master", "closed a connection that sent no HELLO within %d s (%llu so far)",
                     COORD_HELLO_MS / 1000, (unsigned long long)c->hello_timeouts);
        nng_pipe_close(coord_pipe(c->pending[i].pipe_id));
        c->pending[i--] = c->pending[--c->npending];
    }
    for (int g = 0; g < ngone; g++) {
        for (int i = 0; i < c->npending; i++)
            if (c->pending[i].pipe_id == gone[g]) c->pending[i--] = c->pending[--c->npending];
        for (int i = 0; i < c->nworkers; i++) {
            cworker *w = &c->workers[i];
            if (!w->alive || (uint32_t)nng_pipe_id(w->pipe) != gone[g]) continue;
            log_info("master", "worker %s disconnected", w->hello.id);
            coord_worker_gone(c, w, true);
        }
    }
    /* Heartbeats both ways: ours out, theirs (or any message) in within timeout_ms. */
    uint64_t mono = time_mono_us();
    for (int i = 0; i < c->nclosing; i++) {
        if (mono < c->closing_at[i]) continue;
        nng_pipe_close(coord_pipe(c->closing[i]));
        c->closing[i] = c->closing[--c->nclosing];
        c->closing_at[i] = c->closing_at[c->nclosing];
        i--;
    }
    if (mono - c->last_hb_us >= (uint64_t)c->heartbeat_ms * 1000) {
        c->last_hb_us = mono;
        proto_msg hb = { .type = MSG_HEARTBEAT };
        hb.u.heartbeat.seq = ++c->hb_seq;
        hb.u.heartbeat.wall_ms = time_wall_ms();
        for (int i = 0; i < c->nworkers; i++)
            if (c->workers[i].alive) coord_send_to(c, c->workers[i].pipe, &hb);
    }
    for (int i = 0; i < c->nworkers; i++) {
        cworker *w = &c->workers[i];
        if (w->alive && mono - w->last_seen_us > (uint64_t)c->timeout_ms * 1000) {
            log_warn("master", "worker %s silent for %.1f s", w->hello.id, (mono - w->last_seen_us) / 1e6);
            coord_worker_gone(c, w, true);
        }
    }
    uint64_t now = time_wall_ms();
    switch (c->state) {
    case RUN_WAITING:
        if (stop || abort) {
            coord_abort(c, "%s", "stopped before any worker was ready");
        } else if ((uint32_t)coord_alive_workers(c) >= c->expect) {
            coord_send_plans(c);
        } else if (now >= c->expect_deadline_ms) {
            char why[128];
            snprintf(why, sizeof why, "expected %u workers, %d connected in time", c->expect,
                     coord_alive_workers(c));
            coord_abort(c, "%s", why);
        }
        break;
    case RUN_RUNNING:
    case RUN_STOPPING: {
        if ((stop || abort) && !c->stop_sent) {
            coord_send_stop(c);
            c->state = RUN_STOPPING;
            c->stop_deadline_ms = now + (abort ? 2000 : c->sc->graceful_stop_ms + 10000);
        }
        if (abort && c->stop_deadline_ms > now + 2000) c->stop_deadline_ms = now + 2000;
        bool all_done = true;
        int normal = 0, gone = 0;
        for (int i = 0; i < c->nworkers; i++) {
            cworker *w = &c->workers[i];
            if (!w->in_run) continue;
            all_done = all_done && w->done;
            if (w->done && w->lost_at_ms) gone++;
            else if (w->done) normal++;
        }
        coord_close_ready(c, false);
        if (all_done) {
            if (normal == 0 && gone > 0) {
                coord_abort(c, "%s", "every worker was lost or left before the run ended");
                break;
            }
            if (abort) snprintf(c->reason, sizeof c->reason, "aborted: interrupted twice");
            coord_finish(c, abort ? RUN_ABORTED : RUN_FINISHED);
        } else if (c->state == RUN_STOPPING && now >= c->stop_deadline_ms) {
            snprintf(c->reason, sizeof c->reason, "%s",
                     abort ? "aborted: interrupted twice" : "stopped; some workers sent no final statistics");
            coord_finish(c, abort ? RUN_ABORTED : RUN_FINISHED);
        } else if (c->state == RUN_RUNNING && now >= c->natural_end_ms) {
            coord_send_stop(c);
            c->state = RUN_STOPPING;
            c->stop_deadline_ms = now + 10000;
        }
        break;
    }
    default:
        break;
    }
    /* Between runs (and while waiting for workers) nothing closes intervals: refresh the
     * dashboard's and Prometheus' view once a second, so idle workers show. */
    if (!c->live_due && c->state != RUN_RUNNING && c->state != RUN_STOPPING &&
        now >= c->live_at_ms + 1000)
        c->live_due = true;
    if (c->live_due) {
        coord_refresh_live(c);
        c->live_at_ms = now;
    } else {
        coord_publish(c);
    }
}

/* Moves a submitted run into the thread's fields (called with mu held). */
static void coord_take(coord *c)
{
    c->run_req = false;
    scenario_free(c->sc);
    plan_fini(&c->plan);
    c->sc = c->pend.sc;
    c->plan = c->pend.plan;
    c->res = c->pend.res;
    c->res_open = true;
    c->pend.sc = NULL;
    memset(&c->pend.plan, 0, sizeof c->pend.plan);
    const coord_run_cfg *cfg = &c->pend.cfg;
    c->run_id = c->pend.run_id;
    c->expect = cfg->expect_workers ? cfg->expect_workers : 1;
    c->expect_deadline_ms = time_wall_ms() + (cfg->expect_timeout_ms ? cfg->expect_timeout_ms : 60000);
    c->interval_ms = cfg->interval_ms ? cfg->interval_ms : 1000;
    c->name_cap = cfg->name_cap ? cfg->name_cap : STATS_DEFAULT_NAME_CAP;
    c->start_wall_ms = c->end_wall_ms = 0;
    c->stop_sent = false;
    c->reason[0] = '\0';
    c->last_users = 0;
    c->last_rps = c->last_p95_ms = 0;
    /* A new run starts from empty sets: merge_reset keeps names (for interval reuse),
     * and the last run's names must not reappear with zero counts in this one. */
    merge_fini(&c->totals);
    merge_init(&c->totals);
    /* The run's name cap holds on the master too, whatever the workers send (500 names
     * per run, not per engine): names beyond it fold into the overflow entry. */
    merge_set_cap(&c->totals, c->name_cap, NULL);
    ring_restart(&c->ring, c->name_cap, c->interval_ms);
    c->state = RUN_WAITING;
    c->end_wall_ms = 0;
    c->live_due = true;         /* the dashboard and /metrics show the new run at once */
}

static void *coord_main(void *arg)
{
    coord *c = arg;
    while (!atomic_load(&c->quit)) {
        nng_msg *msg;
        int rv = nng_recvmsg(c->sock, &msg, 0);
        if (rv == 0) {
            coord_handle(c, msg);
            nng_msg_free(msg);
            /* drain what is queued before the periodic step */
            while (nng_recvmsg(c->sock, &msg, NNG_FLAG_NONBLOCK) == 0) {
                coord_handle(c, msg);
                nng_msg_free(msg);
            }
        } else if (rv == NNG_ECLOSED) {
            break;
        }
        pthread_mutex_lock(&c->mu);
        if (c->run_req) coord_take(c);
        pthread_mutex_unlock(&c->mu);
        coord_step(c);
    }
    hist_pool_drain();          /* chunks parked by interval resets on this thread */
    return NULL;
}

/* --- API (any thread) ------------------------------------------------------------------ */

coord *coord_start(const coord_opts *o, char *err, size_t errcap)
{
    coord *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    if (o->key) c->key = *o->key;
    if (o->id) snprintf(c->id, sizeof c->id, "%s", o->id);
    else if (gethostname(c->id, sizeof c->id - 1) != 0) snprintf(c->id, sizeof c->id, "master");
    snprintf(c->results_dir, sizeof c->results_dir, "%s", o->results_dir ? o->results_dir : "results");
    c->heartbeat_ms = o->heartbeat_ms ? o->heartbeat_ms : 1000;
    c->timeout_ms = o->timeout_ms ? o->timeout_ms : 3000;
    pthread_mutex_init(&c->mu, NULL);
    c->series = calloc(COORD_SERIES, sizeof *c->series);
    pthread_cond_init(&c->cv, NULL);
    merge_init(&c->totals);
    ring_init(&c->ring, &c->totals, coord_interval_closed, c);
    int rv;
    if ((rv = nng_pair1_open_poly(&c->sock)) != 0) {
        snprintf(err, errcap, "nng socket: %s", nng_strerror(rv));
        goto fail;
    }
    nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, COORD_POLL_MS);
    nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, 1000);
    nng_socket_set_int(c->sock, NNG_OPT_RECVBUF, 1024);
    nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, SEAL_MAX_FRAME);  /* a sealed PROTO_MAX_MSG */
    nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, coord_pipe_cb, c);
    nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, coord_pipe_cb, c);
    if (transport_listen(c->sock, o->url, o->tls, err, errcap) != 0) {
        nng_close(c->sock);
        goto fail;
    }
    if (pthread_create(&c->th, NULL, coord_main, c) != 0) {
        snprintf(err, errcap, "cannot start coordinator thread");
        nng_close(c->sock);
        goto fail;
    }
    return c;
fail:
    merge_fini(&c->totals);
    ring_fini(&c->ring);
    free(c);
    return NULL;
}

void coord_free(coord *c)
{
    if (!c) return;
    atomic_store(&c->quit, true);
    pthread_join(c->th, NULL);
    nng_close(c->sock);
    if (c->res_open) results_close(&c->res);
    scenario_free(c->sc);
    plan_fini(&c->plan);
    if (c->run_req) {
        scenario_free(c->pend.sc);
        plan_fini(&c->pend.plan);
        results_close(&c->pend.res);
    }
    merge_fini(&c->totals);
    ring_fini(&c->ring);
    for (int i = 0; i < c->nworkers; i++) slot_list_free(&c->workers[i].slots);
    free(c->workers);
    free(c->views);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c->series);
    free(c->live_json);
    free(c->summary);
    free(c->live_metrics);
    free(c);
}

int coord_run(coord *c, const coord_run_cfg *cfg, uint64_t *run_id, bool *busy_out, char *err, size_t errcap)
{
    if (busy_out) *busy_out = false;
    pthread_mutex_lock(&c->mu);
    coord_state st = c->status.state;
    bool busy = c->run_req || st == RUN_WAITING || st == RUN_RUNNING || st == RUN_STOPPING;
    pthread_mutex_unlock(&c->mu);
    if (busy) {
        if (busy_out) *busy_out = true;
        snprintf(err, errcap, "a run is already in progress");
        return -1;
    }
    sc_error se;
    scenario *sc = plan_scenario(cfg->plan, &se);
    if (!sc) {
        sc_error_format(&se, err, errcap);
        return -1;
    }
    if (scenario_check_run(sc, &se) != 0) {
        sc_error_format(&se, err, errcap);
        scenario_free(sc);
        return -1;
    }
    char dir[1024];
    if (cfg->out_dir) snprintf(dir, sizeof dir, "%s", cfg->out_dir);
    else {
        char sub[1024];
        results_default_dir(sc->name, time_wall_ms(), sub, sizeof sub);
        /* results_default_dir gives "results/<name>-<time>": put it under results_dir */
        const char *leaf = strrchr(sub, '/');
        snprintf(dir, sizeof dir, "%.500s/%.400s", c->results_dir, leaf ? leaf + 1 : sub);
    }
    proto_plan plan;
    if (plan_copy(&plan, cfg->plan) != 0) {
        scenario_free(sc);
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    results res;
    /* A default folder is taken exclusively with a suffix on a clash (two runs in the
     * same second); an explicit one must be new or empty (master/results.h). */
    if (results_open_ex(&res, dir, cfg->out_dir ? 0 : RESULTS_UNIQUE, err, errcap) != 0) {
        scenario_free(sc);
        plan_fini(&plan);
        return -1;
    }
    pthread_mutex_lock(&c->mu);
    c->pend.sc = sc;
    c->pend.plan = plan;
    c->pend.res = res;
    c->pend.cfg = *cfg;
    c->pend.cfg.plan = NULL;
    c->pend.cfg.out_dir = NULL;
    c->pend.run_id = ((time_wall_ms() << 12) ^ ((uint64_t)rand() & 0xfff)) & ((UINT64_C(1) << 53) - 1);
    if (run_id) *run_id = c->pend.run_id;
    c->status.run_id = c->pend.run_id;
    c->stop_req = c->abort_req = false;
    c->run_req = true;
    c->status.state = RUN_WAITING;
    c->status.thresholds_failed = 0;
    c->status.reason[0] = '\0';
    c->status.results_error[0] = '\0';
    snprintf(c->status.out_dir, sizeof c->status.out_dir, "%s", res.dir);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

void coord_stop(coord *c, bool abort)
{
    pthread_mutex_lock(&c->mu);
    c->stop_req = true;
    if (abort) c->abort_req = true;
    pthread_mutex_unlock(&c->mu);
}

int coord_get_series(coord *c, double after_s, coord_point *out, int max, uint64_t *run_id)
{
    int n = 0;
    pthread_mutex_lock(&c->mu);
    *run_id = c->series_run;
    for (int i = 0; i < c->series_n && n < max; i++) {
        const coord_point *p = &c->series[(c->series_head + i) % COORD_SERIES];
        if (p->t > after_s) out[n++] = *p;
    }
    pthread_mutex_unlock(&c->mu);
    return n;
}

static char *coord_copy_text(coord *c, char *const *p, const char *dflt)
{
    pthread_mutex_lock(&c->mu);
    char *s = strdup(*p ? *p : dflt);
    pthread_mutex_unlock(&c->mu);
    return s;
}

char *coord_get_live(coord *c)
{
    return coord_copy_text(c, &c->live_json,
                           "{\"run_id\":null,\"state\":\"idle\",\"scenario\":null,\"elapsed_s\":0,"
                           "\"users\":0,\"rps\":0,\"requests\":0,\"failures\":0,\"error_rate\":0,"
                           "\"out_dir\":\"\",\"names\":[],\"errors\":[],\"thresholds\":[],\"workers\":[]}");
}

char *coord_get_summary(coord *c)
{
    pthread_mutex_lock(&c->mu);
    char *t = c->summary ? strdup(c->summary) : NULL;
    pthread_mutex_unlock(&c->mu);
    return t;
}

char *coord_get_metrics(coord *c)
{
    return coord_copy_text(c, &c->live_metrics, "");
}

int coord_get_workers(coord *c, coord_worker_info *out, int max)
{
    pthread_mutex_lock(&c->mu);
    int n = c->nwinfo < max ? c->nwinfo : max;
    memcpy(out, c->winfo, (size_t)n * sizeof *out);
    pthread_mutex_unlock(&c->mu);
    return n;
}

void coord_get_status(coord *c, coord_status *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->status;
    pthread_mutex_unlock(&c->mu);
}

bool coord_wait(coord *c, uint64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&c->mu);
    while (c->run_req || (c->status.state != RUN_FINISHED && c->status.state != RUN_ABORTED)) {
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) != 0) break;
    }
    bool done = c->status.state == RUN_FINISHED || c->status.state == RUN_ABORTED;
    pthread_mutex_unlock(&c->mu);
    return done;
}
