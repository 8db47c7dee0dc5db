/* The read model (master/coord_types.h) handed to other threads: the coordinator
 * thread publishes the status and the workers' snapshot, appends the dashboard's
 * series points and rebuilds the live texts (master/live.h) under mu; the coord_get_*
 * calls copy them out under mu from any thread. Fails: a copy returns NULL on ENOMEM;
 * a text that cannot be rebuilt keeps the previous one. */
#include "master/coord_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"
#include "common/time.h"
#include "master/live.h"

void coord_series_add(coord *c, const coord_point *pt)
{
    pthread_mutex_lock(&c->mu);
    if (c->series_run != c->run_id) {
        c->series_run = c->run_id;
        coord_series_reset(&c->series);
    }
    coord_series_push(&c->series, pt);
    pthread_mutex_unlock(&c->mu);
}

/* The results folder refused a write (full disk, I/O error): the run goes on, its
 * status says so at once, and the totals stay readable from memory (coord_get_summary). */
void coord_results_failed(coord *c, const char *why)
{
    log_error("master", "results could not be written: %s", why);
    pthread_mutex_lock(&c->mu);
    if (!c->status.results_error[0])
        snprintf(c->status.results_error, sizeof c->status.results_error, "%s", why);
    pthread_mutex_unlock(&c->mu);
}

void coord_publish(coord *c)
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
    /* the open model: whole-run counts from the totals, rates and lag of the last closed
     * interval; limited_intervals in both models */
    const stats_sched *sch = &c->totals.sched;
    st->open_model = c->sc && c->sc->model == SC_MODEL_OPEN;
    st->intended = sch->intended;
    st->started = sch->started;
    st->dropped = sch->dropped;
    st->backlog_max = sch->backlog_max;
    st->rate_planned = c->last_point.rate_planned;
    st->rate_achieved = c->last_point.rate_achieved;
    st->lag_p99_ms = c->last_point.lag_p99 > 0 ? c->last_point.lag_p99 : 0;   /* NaN: 0 */
    st->limited_intervals = c->totals.limited_intervals;
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
        const health_worker *hw = health_summary_find(health_summary_of(&c->health), w->hello.id);
        o->has_health = hw != NULL && hw->intervals > 0;
        if (o->has_health) {
            o->engine_cpu_pct = hw->last.cpu_pct;
            o->rss_mib = hw->last.rss_mib;
            o->loop_lag_ms = hw->last.lag_max_ms;
            o->conns = hw->last.conns;
            o->flagged = hw->last.flag_cpu || hw->last.flag_lag;
            o->flagged_intervals = hw->flagged;
            o->retries = hw->retries;
        } else {
            o->engine_cpu_pct = o->rss_mib = o->loop_lag_ms = 0;
            o->conns = 0;
            o->flagged = false;
            o->flagged_intervals = 0;
            o->retries = 0;
        }
    }
    if (c->res_open) snprintf(st->out_dir, sizeof st->out_dir, "%s", c->res.dir);
    pthread_mutex_unlock(&c->mu);
}

/* Rebuilds the dashboard's and Prometheus' texts (master/live.h) from the totals. */
void coord_refresh_live(coord *c)
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
    /* the monitor's figures (master/monitor.h): while it runs, a snapshot; after, the
     * run's summary and its last live text */
    monitor_summary snap = { 0 };
    if (c->mon) {
        char *mj = monitor_live_json(c->mon);
        if (mj) { free(c->mon_live); c->mon_live = mj; }
        monitor_snapshot(c->mon, &snap);
    }
    in.monitor_json = c->mon_live;
    in.monitor = c->mon ? &snap : c->sc && c->sc->monitor.ntargets ? &c->mon_sum : NULL;
    char *j = live_json(&in), *m = live_metrics(&in);
    monitor_summary_fini(&snap);
    pthread_mutex_lock(&c->mu);
    if (j) { free(c->live_json); c->live_json = j; j = NULL; }
    if (m) { free(c->live_metrics); c->live_metrics = m; m = NULL; }
    pthread_mutex_unlock(&c->mu);
    free(j);
    free(m);
    c->live_due = false;
}

/* --- API (any thread) ------------------------------------------------------------------ */

int coord_get_series(coord *c, double after_s, coord_point *out, int max, uint64_t *run_id,
                     double *step_s)
{
    int n = 0;
    pthread_mutex_lock(&c->mu);
    *run_id = c->series_run;
    *step_s = c->series.step * (c->interval_ms / 1000.0);
    for (int i = 0; i < c->series.n && n < max; i++) {
        const coord_point *p = &c->series.pts[i];
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
