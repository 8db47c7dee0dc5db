/* The coordinator: see coord.h; its parts and who owns what: master/coord_int.h. This
 * file is the coordinator thread's loop (receive, dispatch, one periodic step every
 * COORD_POLL_MS at most) and the API calls that start and free it, submit and stop runs
 * and wait for them (any thread: they touch only the hand-over fields, under mu).
 * Fails: coord_start and coord_run return errors (socket, listen, thread; scenario,
 * busy, results folder); nothing on the thread returns one. */
#include "master/coord_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <nng/protocol/pair1/pair.h>
#include "common/log.h"
#include "common/time.h"
#include "master/checkpoint.h"
#include "proto/plan.h"

/* One received message: opened (coord_auth.c), then handed to the part that owns it. */
static void coord_handle(coord *c, nng_msg *msg)
{
    cworker *w;
    proto_msg m;
    if (!coord_open(c, msg, &w, &m)) return;
    switch (m.type) {
    case MSG_HELLO:
        coord_hello(c, nng_msg_get_pipe(msg), &m.u.hello);
        break;
    case MSG_STATS:
        coord_stats(c, w, &m.u.stats);
        break;
    case MSG_DONE:
        coord_done(c, w, nng_msg_get_pipe(msg), &m.u.done);
        break;
    case MSG_REFUSE:
        coord_refuse(c, w, &m.u.refuse);
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
    coord_auth_step(c, added, nadded, gone, ngone);
    coord_liveness_step(c, gone, ngone);
    coord_run_step(c, stop, abort);
    uint64_t now = time_wall_ms();
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
    snprintf(c->history, sizeof c->history, "%s", o->history ? o->history : "");
    c->no_history = o->no_history;
    snprintf(c->notify_url, sizeof c->notify_url, "%s", o->notify_url ? o->notify_url : "");
    c->timeout_ms = o->timeout_ms ? o->timeout_ms : 3000;
    if (monitor_allow_parse(&c->mon_allow, o->allow_monitor, err, errcap) != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, errcap, "--allow-monitor: %s", why);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    coord_series_init(&c->series);     /* without points the dashboard has no curve */
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
    monitor_free(c->mon);
    monitor_summary_fini(&c->mon_sum);
    free(c->mon_live);
    scenario_free(c->sc);
    plan_fini(&c->plan);
    if (c->run_req) {
        scenario_free(c->pend.sc);
        plan_fini(&c->pend.plan);
        results_close(&c->pend.res);
    }
    merge_fini(&c->totals);
    ring_fini(&c->ring);
    health_fini(&c->health);
    for (int i = 0; i < c->nworkers; i++) slot_list_free(&c->workers[i].slots);
    free(c->workers);
    free(c->views);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    coord_series_free(&c->series);
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
    /* The monitor fetches only allowed networks: refused here, before anything runs. */
    if (monitor_check_allow(&sc->monitor, &c->mon_allow, err, errcap) != 0) {
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
    int rflags = (cfg->out_dir ? 0 : RESULTS_UNIQUE) |
                 (sc->model == SC_MODEL_OPEN ? RESULTS_SCHEDULE : 0) |  /* schedule.csv */
                 (cfg->full_history ? RESULTS_FULL_HISTORY : 0);
    if (results_open_ex(&res, dir, rflags, err, errcap) != 0) {
        scenario_free(sc);
        plan_fini(&plan);
        return -1;
    }
    /* the scenario text as run, for `stampede report` and for the record */
    if (checkpoint_save_scenario(res.dir, plan.scenario, plan.scenario_len, err, errcap) != 0) {
        results_close(&res);
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
    snprintf(c->pend_labels, sizeof c->pend_labels, "%s", cfg->labels_json ? cfg->labels_json : "{}");
    c->pend.cfg.labels_json = NULL;
    c->pend.cfg.out_dir = NULL;
    c->pend.run_id = ((time_wall_ms() << 12) ^ ((uint64_t)rand() & 0xfff)) & ((UINT64_C(1) << 53) - 1);
    if (run_id) *run_id = c->pend.run_id;
    c->status.run_id = c->pend.run_id;
    c->stop_req = c->abort_req = false;
    c->run_req = true;
    c->status.state = RUN_WAITING;
    c->status.thresholds_failed = 0;
    c->status.reason[0] = '\0';
    c->status.history_note[0] = '\0';
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
