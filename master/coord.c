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
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include "common/log.h"
#include "common/time.h"
#include "master/merge.h"
#include "master/results.h"
#include "master/thresholds.h"
#include "proto/plan.h"

#define COORD_POLL_MS      50
#define COORD_RING         16      /* intervals open at once */
#define COORD_LATE_MS      2000    /* an interval closes this long after its end at the latest */
#define COORD_START_LEAD_MS 500    /* plans go out this long before the synchronized start */
#define COORD_MAX_GONE     64

typedef struct cworker {
    nng_pipe    pipe;
    proto_hello hello;
    bool        alive;
    bool        in_run, done;
    uint32_t    thread_base, threads;
    uint64_t    requests;
    const char *state;
} cworker;

typedef struct islot {
    bool      used;
    uint64_t  idx;
    uint32_t  reports;
    uint32_t  users;
    merge_set set;
} islot;

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
    struct {                    /* a submitted run, moved to the thread's own fields */
        scenario     *sc;
        proto_plan    plan;
        results       res;
        coord_run_cfg cfg;
    } pend;
    /* coordinator thread only */
    cworker        *workers;
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
    islot           ring[COORD_RING];
    uint64_t        next_idx;
    results         res;
    bool            res_open;
    uint64_t        dropped, late;
    uint32_t        last_users;
    double          last_rps, last_p95_ms;
};

/* --- sending ----------------------------------------------------------------------- */

static int coord_send_to(coord *c, nng_pipe p, const proto_msg *m)
{
    char *buf;
    size_t len;
    if (proto_encode(m, &buf, &len) != 0) return -1;
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

static void coord_hello(coord *c, nng_pipe p, const proto_hello *h)
{
    cworker *w = NULL;
    for (int i = 0; i < c->nworkers; i++)
        if (!strcmp(c->workers[i].hello.id, h->id)) w = &c->workers[i];
    if (!w) {
        if (c->nworkers == c->capworkers) {
            int n = c->capworkers ? c->capworkers * 2 : 8;
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
    w->alive = true;
    log_info("master", "worker %s (%s, %u threads) joined", h->id, h->host, h->threads);
}

static void coord_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    coord *c = arg;
    if (ev != NNG_PIPE_EV_REM_POST) return;
    pthread_mutex_lock(&c->mu);
    if (c->ngone < COORD_MAX_GONE) c->gone[c->ngone++] = (uint32_t)nng_pipe_id(p);
    pthread_mutex_unlock(&c->mu);
}

static int coord_alive_workers(const coord *c)
{
    int n = 0;
    for (int i = 0; i < c->nworkers; i++) n += c->workers[i].alive;
    return n;
}

/* --- intervals --------------------------------------------------------------------- */

static void coord_close_interval(coord *c)
{
    islot *s = &c->ring[c->next_idx % COORD_RING];
    if (s->used && s->idx == c->next_idx) {
        double iv = c->interval_ms / 1000.0;
        uint64_t wall = c->start_wall_ms + (s->idx + 1) * c->interval_ms;
        if (c->res_open) results_history(&c->res, wall, s->users, iv, &s->set, &c->totals);
        c->last_users = s->users;
        c->last_rps = s->set.all.requests / iv;
        c->last_p95_ms = hist_percentile(&s->set.all.lat, 95) / 1000.0;
        s->used = false;
        merge_reset(&s->set);
    }
    c->next_idx++;
}

static islot *coord_slot(coord *c, uint64_t idx)
{
    if (idx < c->next_idx) return NULL;
    while (idx >= c->next_idx + COORD_RING) coord_close_interval(c);
    islot *s = &c->ring[idx % COORD_RING];
    if (!s->used || s->idx != idx) {
        merge_reset(&s->set);
        s->used = true;
        s->idx = idx;
        s->reports = 0;
        s->users = 0;
    }
    return s;
}

/* Closes every interval that all engines reported, or that is overdue. */
static void coord_close_ready(coord *c, bool all)
{
    uint64_t now = time_wall_ms();
    for (;;) {
        bool any_later = false;
        for (int i = 0; i < COORD_RING; i++)
            any_later = any_later || (c->ring[i].used && c->ring[i].idx >= c->next_idx);
        if (!any_later) return;
        islot *s = &c->ring[c->next_idx % COORD_RING];
        bool have = s->used && s->idx == c->next_idx;
        uint64_t due = c->start_wall_ms + (c->next_idx + 1) * c->interval_ms + COORD_LATE_MS;
        if (all || (have && s->reports >= c->threads_total) || now >= due) coord_close_interval(c);
        else return;
    }
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
    snprintf(st->reason, sizeof st->reason, "%s", c->reason);
    if (c->res_open) snprintf(st->out_dir, sizeof st->out_dir, "%s", c->res.dir);
    pthread_mutex_unlock(&c->mu);
}

static void coord_send_plans(coord *c)
{
    c->threads_total = 0;
    for (int i = 0; i < c->nworkers; i++) {
        cworker *w = &c->workers[i];
        w->in_run = w->alive;
        w->done = false;
        w->requests = 0;
        w->state = "running";
        if (!w->alive) continue;
        w->thread_base = c->threads_total;
        w->threads = w->hello.threads;
        c->threads_total += w->threads;
    }
    c->start_wall_ms = time_wall_ms() + COORD_START_LEAD_MS;
    c->natural_end_ms = c->start_wall_ms + scenario_duration_ms(c->sc) + c->sc->graceful_stop_ms + 15000;
    for (int i = 0; i < c->nworkers; i++) {
        cworker *w = &c->workers[i];
        if (!w->in_run) continue;
        proto_msg m = { .type = MSG_PLAN };
        m.u.plan = c->plan;
        m.u.plan.run_id = c->run_id;
        m.u.plan.thread_base = w->thread_base;
        m.u.plan.threads = w->threads;
        m.u.plan.threads_total = c->threads_total;
        m.u.plan.start_at_ms = c->start_wall_ms;
        m.u.plan.interval_ms = c->interval_ms;
        m.u.plan.name_cap = c->name_cap;
        coord_send_to(c, w->pipe, &m);
    }
    c->state = RUN_RUNNING;
    log_info("master", "run %llu planned on %d workers, %u threads",
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
    int nth = c->sc->nthresholds;
    th_result *th = nth ? calloc((size_t)nth, sizeof *th) : NULL;
    double dur = c->end_wall_ms > c->start_wall_ms ? (c->end_wall_ms - c->start_wall_ms) / 1000.0 : 0;
    int failed = nth && th ? thresholds_eval(c->sc, &c->totals, dur, th) : 0;
    results_worker *rw = calloc((size_t)(c->nworkers ? c->nworkers : 1), sizeof *rw);
    int nrw = 0;
    for (int i = 0; rw && i < c->nworkers; i++) {
        cworker *w = &c->workers[i];
        if (!w->in_run) continue;
        snprintf(rw[nrw].id, sizeof rw[nrw].id, "%s", w->hello.id);
        snprintf(rw[nrw].host, sizeof rw[nrw].host, "%s", w->hello.host);
        rw[nrw].threads = w->threads;
        rw[nrw].requests = w->requests;
        rw[nrw].state = w->done ? w->state : "missing";
        nrw++;
    }
    if (!c->reason[0]) snprintf(c->reason, sizeof c->reason, "%s", c->stop_sent ? "stopped" : "finished");
    if (c->res_open) {
        results_meta meta = { .sc = c->sc, .target = c->sc->target, .start_wall_ms = c->start_wall_ms,
                              .end_wall_ms = c->end_wall_ms, .duration_s = dur,
                              .peak_users = scenario_peak_users(c->sc), .stop_reason = c->reason,
                              .th = th, .nth = th ? nth : 0, .workers = rw, .nworkers = nrw };
        char err[512];
        if (results_finish(&c->res, &meta, &c->totals, err, sizeof err) != 0)
            log_error("master", "writing results: %s", err);
        c->res_open = false;
    }
    free(th);
    free(rw);
    for (int i = 0; i < c->nworkers; i++) c->workers[i].in_run = false;
    c->state = final;
    pthread_mutex_lock(&c->mu);
    c->status.thresholds_failed = failed;
    pthread_mutex_unlock(&c->mu);
    coord_publish(c);
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
    if (merge_add(&c->totals, s) != 0) log_error("master", "out of memory merging stats");
    for (uint32_t i = 0; w && i < s->nentries; i++) w->requests += s->entries[i].requests;
    islot *sl = coord_slot(c, s->interval);
    if (!sl) {
        c->late++;
        return;
    }
    merge_add(&sl->set, s);
    sl->reports++;
    sl->users += s->users;
}

static void coord_handle(coord *c, nng_msg *msg)
{
    nng_pipe p = nng_msg_get_pipe(msg);
    proto_msg m;
    int rv = proto_decode(nng_msg_body(msg), nng_msg_len(msg), &m);
    if (rv != PROTO_OK) {
        c->dropped++;
        log_warn("master", "dropped a message: %s (%llu so far)", proto_strerror(rv),
                 (unsigned long long)c->dropped);
        return;
    }
    cworker *w = coord_worker_by_pipe(c, p);
    switch (m.type) {
    case MSG_HELLO:
        coord_hello(c, p, &m.u.hello);
        break;
    case MSG_STATS:
        if (!w) { c->dropped++; break; }
        coord_stats(c, w, &m.u.stats);
        break;
    case MSG_DONE:
        if (w && w->in_run && m.u.done.run_id == c->run_id) {
            w->done = true;
            w->state = c->stop_sent ? "stopped" : "finished";
        }
        break;
    case MSG_REFUSE:
        if (w && w->in_run && m.u.refuse.run_id == c->run_id &&
            (c->state == RUN_RUNNING || c->state == RUN_STOPPING)) {
            char why[400];
            snprintf(why, sizeof why, "worker %.64s refused the plan: %.300s", w->hello.id, m.u.refuse.reason);
            w->done = true;
            w->state = "refused";
            coord_abort(c, "%s", why);
        }
        break;
    case MSG_HEARTBEAT:
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
    uint32_t gone[COORD_MAX_GONE];
    int ngone;
    pthread_mutex_lock(&c->mu);
    stop = c->stop_req;
    abort = c->abort_req;
    ngone = c->ngone;
    memcpy(gone, c->gone, (size_t)ngone * sizeof gone[0]);
    c->ngone = 0;
    pthread_mutex_unlock(&c->mu);
    for (int g = 0; g < ngone; g++) {
        for (int i = 0; i < c->nworkers; i++) {
            cworker *w = &c->workers[i];
            if (!w->alive || (uint32_t)nng_pipe_id(w->pipe) != gone[g]) continue;
            w->alive = false;
            log_info("master", "worker %s left", w->hello.id);
            if (w->in_run && !w->done) w->state = "lost";
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
        bool all_done = true, any_alive = false;
        for (int i = 0; i < c->nworkers; i++) {
            cworker *w = &c->workers[i];
            if (!w->in_run) continue;
            all_done = all_done && (w->done || !w->alive);
            any_alive = any_alive || (w->alive && !w->done);
        }
        coord_close_ready(c, false);
        if (all_done) {
            bool lost = false;
            for (int i = 0; i < c->nworkers; i++)
                lost = lost || (c->workers[i].in_run && !c->workers[i].done);
            if (lost && !any_alive) {
                bool some_done = false;
                for (int i = 0; i < c->nworkers; i++) some_done = some_done || (c->workers[i].in_run && c->workers[i].done);
                if (!some_done) {
                    coord_abort(c, "%s", "every worker was lost");
                    break;
                }
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
    coord_publish(c);
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
    c->run_id = (time_wall_ms() << 8) ^ (uint64_t)rand();
    c->expect = cfg->expect_workers ? cfg->expect_workers : 1;
    c->expect_deadline_ms = time_wall_ms() + (cfg->expect_timeout_ms ? cfg->expect_timeout_ms : 60000);
    c->interval_ms = cfg->interval_ms ? cfg->interval_ms : 1000;
    c->name_cap = cfg->name_cap ? cfg->name_cap : STATS_DEFAULT_NAME_CAP;
    c->start_wall_ms = c->end_wall_ms = 0;
    c->stop_sent = false;
    c->reason[0] = '\0';
    c->next_idx = 0;
    c->last_users = 0;
    c->last_rps = c->last_p95_ms = 0;
    merge_reset(&c->totals);
    for (int i = 0; i < COORD_RING; i++) c->ring[i].used = false;
    c->state = RUN_WAITING;
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

coord *coord_start(const char *url, char *err, size_t errcap)
{
    coord *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    merge_init(&c->totals);
    for (int i = 0; i < COORD_RING; i++) merge_init(&c->ring[i].set);
    int rv;
    if ((rv = nng_pair1_open_poly(&c->sock)) != 0) {
        snprintf(err, errcap, "nng socket: %s", nng_strerror(rv));
        goto fail;
    }
    nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, COORD_POLL_MS);
    nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, 1000);
    nng_socket_set_int(c->sock, NNG_OPT_RECVBUF, 1024);
    nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, PROTO_MAX_MSG);
    nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, coord_pipe_cb, c);
    if ((rv = nng_listen(c->sock, url, NULL, 0)) != 0) {
        snprintf(err, errcap, "listen %s: %s", url, nng_strerror(rv));
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
    for (int i = 0; i < COORD_RING; i++) merge_fini(&c->ring[i].set);
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
    for (int i = 0; i < COORD_RING; i++) merge_fini(&c->ring[i].set);
    free(c->workers);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

int coord_run(coord *c, const coord_run_cfg *cfg, char *err, size_t errcap)
{
    pthread_mutex_lock(&c->mu);
    coord_state st = c->status.state;
    bool busy = c->run_req || st == RUN_WAITING || st == RUN_RUNNING || st == RUN_STOPPING;
    pthread_mutex_unlock(&c->mu);
    if (busy) {
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
    else results_default_dir(sc->name, time_wall_ms(), dir, sizeof dir);
    proto_plan plan;
    if (plan_copy(&plan, cfg->plan) != 0) {
        scenario_free(sc);
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    results res;
    if (results_open(&res, dir, err, errcap) != 0) {
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
    c->stop_req = c->abort_req = false;
    c->run_req = true;
    c->status.state = RUN_WAITING;
    c->status.thresholds_failed = 0;
    c->status.reason[0] = '\0';
    snprintf(c->status.out_dir, sizeof c->status.out_dir, "%s", dir);
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
    while (c->status.state != RUN_FINISHED && c->status.state != RUN_ABORTED && !c->run_req) {
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) != 0) break;
    }
    bool done = c->status.state == RUN_FINISHED || c->status.state == RUN_ABORTED;
    pthread_mutex_unlock(&c->mu);
    return done;
}
