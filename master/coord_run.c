/* The run (master/coord_int.h): its state machine from a submitted run to its results.
 * Waiting for expect_workers workers; the initial deal and one PLAN each with one
 * synchronized start; re-planning when a worker is gone or joins (master/slotplan.h
 * decides, this file sends ADOPT, RELEASE and PLAN as it says); stats deltas into the
 * interval ring (master/coord_ring.h), whose closed intervals become history rows and
 * dashboard points; STOP, DONE and REFUSE; the finish: thresholds, results folder, the
 * summary kept in memory. Coordinator thread only (coord_take: with mu held). Fails: a
 * results folder that refuses a write is reported in the status (results_error) while
 * the run goes on; a refused plan aborts the run with the worker's reason. */
#include "master/coord_int.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"
#include "common/time.h"
#include "master/checkpoint.h"
#include "master/record.h"
#include "master/thresholds.h"
#include "proto/plan.h"

static bool coord_running(const coord *c)
{
    return c->state == RUN_RUNNING || c->state == RUN_STOPPING;
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

void coord_forget_reports(coord *c, cworker *w)
{
    for (int k = 0; k < RING_SLOTS; k++) {
        if (w->ring_n[k]) ring_forget(&c->ring, w->ring_idx[k], w->ring_n[k]);
        w->ring_n[k] = 0;
    }
}

/* A new share of a run: nothing reported yet. */
static void coord_reports_clear(cworker *w)
{
    memset(w->ring_n, 0, sizeof w->ring_n);
    memset(w->ring_idx, 0, sizeof w->ring_idx);
}

/* Hands the slots of a worker that is gone (lost or left) to the carriers with the
 * fewest slots, one ADOPT per recipient (master/slotplan.h slotplan_gone). Survivors
 * keep their own users. First, whatever the run's state, its deltas in the open
 * intervals stop counting toward closing them (coord_forget_reports: it is no longer
 * expected, so the survivors' deltas must complete them; issue 12). */
void coord_replan_gone(coord *c, cworker *gone)
{
    coord_forget_reports(c, gone);
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
void coord_join_run(coord *c, cworker *nw)
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
    coord_reports_clear(nw);
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

/* A generator-limited interval (results_limited: merged lag p99 above 10 ms, or an
 * engine thread above 90 % of a core) is logged, at most one line per
 * COORD_LIMITED_LOG_MS; the lines skipped are counted in the next one. */
#define COORD_LIMITED_LOG_MS 10000

static void coord_log_limited(coord *c, const ring_iv *s, const coord_point *pt)
{
    uint64_t now = time_wall_ms();
    if (c->limited_log_ms && now < c->limited_log_ms + COORD_LIMITED_LOG_MS) {
        c->limited_quiet++;
        return;
    }
    char more[64] = "";
    if (c->limited_quiet)
        snprintf(more, sizeof more, " (%llu more since the last line)",
                 (unsigned long long)c->limited_quiet);
    char lag[32] = "none started";
    if (!isnan(pt->lag_p99))
        snprintf(lag, sizeof lag, "%.1f ms", pt->lag_p99);
    log_warn("master", "interval %llu is generator-limited: lag p99 %s (limit %d ms), busiest "
             "engine thread at %.0f%% of a core (limit %.0f%%)%s: the generator, not the "
             "target, may set these figures; add engine threads or workers",
             (unsigned long long)s->idx, lag, RESULTS_LAG_LIMIT_US / 1000, pt->cpu_max * 100,
             RESULTS_CPU_LIMIT * 100, more);
    c->limited_log_ms = now;
    c->limited_quiet = 0;
}

/* After each closed interval, and once when the plans go out (nothing covered yet):
 * DIR/checkpoint.msgpack rewritten (master/checkpoint.h) with the totals so far and the
 * workers of the run, so that `stampede report DIR` can rebuild the results of a run
 * that dies. A failure is reported once per run (the
 * status's results_error) and retried at the next interval. */
static void coord_checkpoint(coord *c, uint64_t covered_wall_ms, uint64_t intervals)
{
    if (!c->res_open || c->res.dir[0] == '\0')
        return;
    results_worker *rw = calloc((size_t)(c->nworkers ? c->nworkers : 1), sizeof *rw);
    int nrw = 0;
    uint64_t missing = 0;
    for (int i = 0; rw && i < c->nworkers; i++) {
        const cworker *w = &c->workers[i];
        if (!w->in_run) continue;
        snprintf(rw[nrw].id, sizeof rw[nrw].id, "%s", w->hello.id);
        snprintf(rw[nrw].host, sizeof rw[nrw].host, "%s", w->hello.host);
        rw[nrw].threads = w->hello.threads;
        rw[nrw].requests = w->requests;
        rw[nrw].state = w->state;
        rw[nrw].lost_at_ms = w->lost_at_ms;
        rw[nrw].missing_requests_max = w->missing_max;
        missing += w->missing_max;
        nrw++;
    }
    checkpoint_run run = { .run_id = c->run_id, .sc = c->sc, .target = c->sc->target,
                           .start_wall_ms = c->start_wall_ms, .covered_wall_ms = covered_wall_ms,
                           .intervals = intervals, .interval_ms = c->interval_ms,
                           .name_cap = c->name_cap, .workers = rw, .nworkers = nrw,
                           .missing_requests_max = missing };
    char err[512];
    if (checkpoint_save(c->res.dir, &run, &c->totals, err, sizeof err) != 0 && !c->ckpt_failed) {
        c->ckpt_failed = true;
        coord_results_failed(c, err);
    }
    free(rw);
}

/* The ring closed an interval (master/coord_ring.h): its history row, the dashboard's
 * point (ring_point: the open model's rates, backlog, dropped, lag and service
 * percentiles too) and the last-interval figures of the status. The ring has already
 * counted a generator-limited interval in the totals (so the history row shows it); a
 * warning is logged for it here (coord_log_limited). */
void coord_interval_closed(void *arg, const ring_iv *s, const merge_set *totals)
{
    coord *c = arg;
    double iv = c->interval_ms / 1000.0;
    uint64_t wall = c->start_wall_ms + (s->idx + 1) * c->interval_ms;
    if (c->res_open && !c->res.history_err[0] &&
        results_history(&c->res, wall, s->users, iv, &s->set, totals) != 0)
        coord_results_failed(c, c->res.history_err);
    coord_checkpoint(c, wall, s->idx + 1);
    coord_point pt;
    ring_point(s, c->interval_ms, &pt);
    c->last_users = s->users;
    c->last_rps = pt.rps;
    c->last_p95_ms = hist_percentile(&s->set.all.lat, 95) / 1000.0;
    c->last_point = pt;
    coord_series_add(c, &pt);
    if (s->limited)
        coord_log_limited(c, s, &pt);
    health_close(&c->health, s->idx, wall);     /* workers.csv rows, flagged workers logged */
    c->live_due = true;
}

/* The scenario's monitor (master/monitor.h), for the run's length. One that cannot
 * start is logged and the run goes on without it (the monitor never fails a run). */
static void coord_monitor_start(coord *c)
{
    monitor_summary_fini(&c->mon_sum);
    free(c->mon_live);
    c->mon_live = NULL;
    if (c->sc->monitor.ntargets == 0 || !c->res_open) return;
    char err[512];
    c->mon = monitor_start(&c->sc->monitor, &c->mon_allow, c->res.dir, err, sizeof err);
    if (!c->mon) log_warn("master", "the monitor did not start: %s", err);
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
        coord_reports_clear(w);
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
    char herr[1280];            /* workers.csv beside stats_history.csv (master/health.h) */
    if (health_start(&c->health, c->res_open ? c->res.dir : NULL, herr, sizeof herr) != 0)
        coord_results_failed(c, herr);
    c->start_wall_ms = time_wall_ms() + COORD_START_LEAD_MS;
    c->natural_end_ms = c->start_wall_ms + scenario_duration_ms(c->sc) + c->sc->graceful_stop_ms + 15000;
    for (int i = 0; i < c->nworkers; i++) {
        cworker *w = &c->workers[i];
        if (!w->in_run) continue;
        w->last_delta_ms = c->start_wall_ms;
        coord_send_plan(c, w);
    }
    c->state = RUN_RUNNING;
    coord_checkpoint(c, c->start_wall_ms, 0);  /* a run killed in its first interval rebuilds too */
    coord_monitor_start(c);
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

/* The run into the history, compared with its baseline, the webhook told
 * (master/record.h). A history that cannot take it is logged; the results stand. */
static void coord_record(coord *c)
{
    if (c->no_history || !c->res.dir[0]) return;
    record_cfg rc = { .history = c->history[0] ? c->history : NULL,
                      .notify_url = c->notify_url[0] ? c->notify_url : NULL,
                      .labels_json = c->labels_json };
    record_out out;
    char err[600], note[512];
    if (record_run(&rc, c->res.dir, &out, err, sizeof err) != 0) {
        snprintf(note, sizeof note, "not recorded in the history: %.400s", err);
        log_warn("master", "run %llu %s", (unsigned long long)c->run_id, note);
    } else {
        snprintf(note, sizeof note, "%s", out.summary);
        log_info("master", "%s", out.summary);
    }
    pthread_mutex_lock(&c->mu);
    snprintf(c->status.history_note, sizeof c->status.history_note, "%s", note);
    pthread_mutex_unlock(&c->mu);
}

static void coord_finish(coord *c, coord_state final)
{
    coord_close_ready(c, true);
    char herr[1280];
    if (health_finish(&c->health, time_wall_ms(), herr, sizeof herr) != 0 && c->res_open)
        coord_results_failed(c, herr);
    /* The bound of stats_history.csv against the totals: the rows hold every request
     * but those of deltas that came after their interval was written (RING_LATE_MS past
     * its end, or the ring full); they are in the totals, and said here. */
    if (c->late)
        log_warn("master", "%llu stats deltas (%llu requests) came after their interval's "
                 "history row was written: counted in the totals, not in stats_history.csv",
                 (unsigned long long)c->late, (unsigned long long)c->late_requests);
    c->end_wall_ms = time_wall_ms();
    if (!c->start_wall_ms) c->start_wall_ms = c->end_wall_ms;    /* never started */
    /* Thresholds judge a run that ran; an aborted one fails by its exit code alone. */
    int nth = final == RUN_FINISHED ? c->sc->nthresholds : 0;
    th_result *th = nth ? calloc((size_t)nth, sizeof *th) : NULL;
    double dur = c->end_wall_ms > c->start_wall_ms ? (c->end_wall_ms - c->start_wall_ms) / 1000.0 : 0;
    int failed = nth && th ? thresholds_eval(c->sc, &c->totals, dur, th) : 0;
    if (c->mon) {
        char *last = monitor_live_json(c->mon);
        if (last) { free(c->mon_live); c->mon_live = last; }
        monitor_stop(c->mon, &c->mon_sum);
        monitor_free(c->mon);
        c->mon = NULL;
        if (c->mon_sum.csv_error[0]) coord_results_failed(c, c->mon_sum.csv_error);
    } else {                    /* no monitor ran in this run: nothing of an earlier one */
        monitor_summary_fini(&c->mon_sum);
        free(c->mon_live);
        c->mon_live = NULL;
    }
    if (nth && th) failed = thresholds_eval_monitor(c->sc, &c->mon_sum, th);
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
                              .missing_requests_max = missing,
                              .health = health_summary_of(&c->health),
                              .monitor = c->sc->monitor.ntargets ? &c->mon_sum : NULL };
        char err[512];
        char *text = results_summary_text(&meta, &c->totals);
        if (results_finish(&c->res, &meta, &c->totals, err, sizeof err) != 0)
            coord_results_failed(c, err);
        c->res_open = false;
        coord_record(c);
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

void coord_stats(coord *c, cworker *w, proto_stats *s)
{
    if (s->run_id != c->run_id || (c->state != RUN_RUNNING && c->state != RUN_STOPPING)) {
        c->dropped++;
        return;
    }
    uint64_t req = 0;
    for (uint32_t i = 0; i < s->nentries; i++)      /* HTTP requests: what a target counts */
        if (stats_fig_is_http(s->entries[i].fig)) req += s->entries[i].requests;
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
    if (ring_add(&c->ring, s)) {        /* its interval is already written: totals only */
        c->late++;
        c->late_requests += req;
        return;
    }
    health_add(&c->health, w->hello.id, w->hello.host, s);
    /* what it reported, so that its deltas stop counting when it stops being expected */
    uint32_t k = (uint32_t)(s->interval % RING_SLOTS);
    if (w->ring_n[k] == 0 || w->ring_idx[k] != s->interval) {
        w->ring_idx[k] = s->interval;
        w->ring_n[k] = 0;
    }
    w->ring_n[k]++;
}

/* DONE: the worker's last deltas of the run came before it. "leaving" mid-run moves its
 * slots to the others (it stays connected until it closes); every DONE is acknowledged. */
void coord_done(coord *c, cworker *w, nng_pipe p, const proto_done *d)
{
    if (w->in_run && d->run_id == c->run_id && !w->done) {
        bool leaving = !strcmp(d->reason, "leaving") && !c->stop_sent;
        if (leaving) {
            coord_worker_gone(c, w, false);     /* its final deltas came before */
            w->alive = true;                    /* still connected until it closes */
        } else {
            w->state = c->stop_sent ? "stopped" : "finished";
        }
        w->done = true;
        coord_forget_reports(c, w);     /* no longer expected: the others complete them */
    }
    proto_msg ack = { .type = MSG_ACK };
    ack.u.ack.run_id = d->run_id;
    coord_send_to(c, p, &ack);
}

/* REFUSE: a worker of the run refused its plan (allowlist, limits): the run aborts. */
void coord_refuse(coord *c, cworker *w, const proto_refuse *r)
{
    if (w->in_run && r->run_id == c->run_id &&
        (c->state == RUN_RUNNING || c->state == RUN_STOPPING)) {
        char why[400];
        snprintf(why, sizeof why, "worker %.64s refused the plan: %.300s", w->hello.id, r->reason);
        w->done = true;
        w->state = "refused";
        coord_abort(c, "%s", why);
    }
}

/* The run's state machine, once per step: waiting for workers, running (intervals
 * closed as they become due), stopping (waiting for every DONE), finished. */
void coord_run_step(coord *c, bool stop, bool abort)
{
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
}

/* Moves a submitted run into the thread's fields (called with mu held). */
void coord_take(coord *c)
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
    snprintf(c->labels_json, sizeof c->labels_json, "%s", c->pend_labels);
    c->expect = cfg->expect_workers ? cfg->expect_workers : 1;
    c->expect_deadline_ms = time_wall_ms() + (cfg->expect_timeout_ms ? cfg->expect_timeout_ms : 60000);
    c->interval_ms = cfg->interval_ms ? cfg->interval_ms : 1000;
    c->name_cap = cfg->name_cap ? cfg->name_cap : STATS_DEFAULT_NAME_CAP;
    c->start_wall_ms = c->end_wall_ms = 0;
    c->stop_sent = false;
    c->reason[0] = '\0';
    c->last_users = 0;
    c->last_rps = c->last_p95_ms = 0;
    memset(&c->last_point, 0, sizeof c->last_point);
    c->limited_log_ms = c->limited_quiet = 0;
    c->late = c->late_requests = 0;
    c->ckpt_failed = false;
    /* A new run starts from empty sets: merge_reset keeps names (for interval reuse),
     * and the last run's names must not reappear with zero counts in this one. */
    merge_fini(&c->totals);
    merge_init(&c->totals);
    /* The run's name cap holds on the master too, whatever the workers send (500 names
     * per run, not per engine): names beyond it fold into the overflow entry. */
    merge_set_cap(&c->totals, c->name_cap, NULL);
    ring_restart(&c->ring, c->name_cap, c->interval_ms);
    health_start(&c->health, NULL, NULL, 0);    /* the last run's health forgotten */
    c->state = RUN_WAITING;
    c->end_wall_ms = 0;
    c->live_due = true;         /* the dashboard and /metrics show the new run at once */
}
