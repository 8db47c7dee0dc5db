/* Liveness (master/coord_int.h, PROTOCOL.md 6 and 7): our heartbeat to every connected
 * worker each heartbeat_ms; a worker whose connection closed, or that sent nothing for
 * timeout_ms, is lost: it leaves the run, what it may have completed and never reported
 * is estimated for the results, and its slots move to the others (coord_run.c). A worker
 * that says it is leaving goes the same way without the estimate. Coordinator thread
 * only; nothing fails. */
#include "master/coord_int.h"
#include "common/log.h"
#include "common/time.h"

/* Marks w gone (lost: silent or disconnected; left: said DONE "leaving") and re-plans. */
void coord_worker_gone(coord *c, cworker *w, bool lost)
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

void coord_liveness_step(coord *c, const uint32_t *gone, int ngone)
{
    for (int g = 0; g < ngone; g++) {
        for (int i = 0; i < c->nworkers; i++) {
            cworker *w = &c->workers[i];
            if (!w->alive || (uint32_t)nng_pipe_id(w->pipe) != gone[g]) continue;
            log_info("master", "worker %s disconnected", w->hello.id);
            coord_worker_gone(c, w, true);
        }
    }
    /* Heartbeats both ways: ours out, theirs (or any message) in within timeout_ms. */
    uint64_t mono = time_mono_us();
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
}
