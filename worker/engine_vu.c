/* The users' flows: the step walker (vu_run), the step starters and the callbacks that
 * continue a user (a request done, a think over, a ws step over). Split from
 * worker/engine.c by concern (its size cap); the records are in worker/engine_int.h.
 *
 * Contract: everything here runs on the engine thread and allocates nothing on the hot
 * path (a user's buffers grow to the largest rendered request, then are reused; a ws
 * session is allocated at a user's first ws step). A user ends its life through vu_off,
 * which may finish the engine (engine_maybe_finish, worker/engine.c). A step that
 * cannot start (a render failing, no memory) is recorded as a failed request and its
 * on_failure applies, as any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include "common/log.h"
#include "common/rng.h"
#include "common/stats.h"
#include "common/time.h"
#include "common/url.h"
#include "worker/check.h"
#include "worker/engine_flow.h"
#include "worker/engine_int.h"
#include "worker/http.h"
#include "worker/wsflow.h"

static tmpl_ctx vu_ctx(vu *v)
{
    engine *e = v->eng;
    return (tmpl_ctx){ .user_id = v->k + 1, .rng = &v->rng, .counter = &e->counter,
                       .thread_index = e->first_slot, .threads_total = e->cfg.threads_total,
                       .vars = v->vars, .rows = v->rows, .data = &e->cfg.sc->data };
}

/* --- users ------------------------------------------------------------------------ */

void vu_off(vu *v)
{
    if (v->state == VU_OFF) return;
    if (v->state == VU_THINK) event_del(&v->think_ev);
    event_del(&v->yield_ev);
    engine *e = v->eng;
    if (v->state != VU_IDLE) {
        e->live--;                      /* idle users are not counted live */
        if (e->open && !e->stopping) {  /* back to the pool (a released slot's users) */
            eslot *sl = &e->slots[v->si];
            sl->idle[sl->nidle++] = (uint32_t)(v->k / e->cfg.threads_total);
        }
    }
    v->state = VU_OFF;
    v->depth = 0;
    if (v->ws && wsflow_release(v->ws)) v->eng->ws_closing++;   /* a clean close (1001) */
    engine_maybe_finish(v->eng);
}

static void vu_step_failed(vu *v, const sc_step *s);

void vu_ws_done(void *arg)
{
    vu *v = arg;
    if (v->state != VU_WS) return;
    v->base_us = time_mono_us();        /* the waiting step ended: the next one's base */
    if (v->ws->failed) vu_step_failed(v, v->cur);
    v->state = VU_READY;
    vu_run(v);
}

static void vu_think_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    vu *v = arg;
    v->state = VU_READY;
    vu_run(v);
}

static void vu_http_done(http_xfer *x, const http_result *r);

int vu_init(vu *v)
{
    engine *e = v->eng;
    event_assign(&v->think_ev, e->base, -1, 0, vu_think_done, v);
    event_assign(&v->yield_ev, e->base, -1, 0, vu_think_done, v);
    v->inited = true;
    return 0;
}

void vu_spawn(vu *v)
{
    engine *e = v->eng;
    if (v->stopped) return;             /* stop_user: not restarted for the run */
    if (v->state != VU_OFF) {           /* retiring but not gone yet: keep it */
        v->retire = false;
        return;
    }
    if (!v->inited && vu_init(v) != 0) {
        log_error("engine", "cannot create user %llu", (unsigned long long)v->k);
        return;
    }
    v->retire = false;
    v->depth = 0;
    v->state = VU_READY;
    e->live++;
    vu_run(v);
}

/* The setup steps run on the stack above the flow's frame, with the first iteration's
 * data rows (a login reading operators.username gets the same row as the flow). When the
 * setup frame pops, the closed model restarts the iteration's clock and failure flag
 * (its iteration row measures a pass of the flow); the open model keeps both (the first
 * arrival on a user waits for the setup: its iteration includes it). A user runs its
 * setup once for the run, also when it ramps down and up again (its captured variables
 * are kept). Open model: an arrival brings its profile (by weight, as users get theirs),
 * so a user of the pool may run another profile's iteration: it then runs that
 * profile's setup first (a user logs in as what it is about to do); the pool prefers an
 * idle user whose setup is the arrival's profile's (worker/engine_open.c); a profile
 * without setup steps leaves the user's setup as it was. So with one profile that has a
 * setup, a user's setup runs once. */
void vu_begin_iteration(vu *v, uint64_t start_us)
{
    const data_set *d = &v->eng->cfg.sc->data;
    for (uint32_t i = 0; i < d->n; i++)
        v->rows[i] = data_pick(&d->f[i], v->k + 1, v->iteration, &v->rng);
    v->iteration++;
    v->iter_start_us = v->base_us = start_us;
    v->iter_actual_us = time_mono_us();
    v->iter_failed = false;
    if (v->ws) v->ws->failed = false;
    v->stack[0] = (vu_frame){ .steps = v->prof->flow, .n = v->prof->nflow, .idx = 0, .left = 0 };
    v->depth = 1;
    if (v->prof->nsetup > 0 && v->setup_prof != v->prof) {
        v->stack[v->depth++] = (vu_frame){ .steps = v->prof->setup, .n = v->prof->nsetup,
                                           .setup = true };
        v->setup_prof = v->prof;
    }
}

/* The end of a pass of the flow: the profile's iteration row, lat from the iteration's
 * start (the arrival's intended time in the open model, the actual start in the closed)
 * to now; failed when a step of it failed. */
static void vu_end_iteration(vu *v)
{
    engine *e = v->eng;
    uint64_t now = time_mono_us();
    if (v->ws && v->ws->failed) v->iter_failed = true;
    uint32_t id = e->iter_ids[v->prof - e->cfg.sc->profiles];
    uint64_t lat = now > v->iter_start_us ? now - v->iter_start_us : 0;
    if (e->open)
        stats_record_svc(&e->shard, id, lat, now - v->iter_actual_us, 0, v->iter_failed);
    else
        stats_record(&e->shard, id, lat, 0, v->iter_failed);
}

/* A step failed: the iteration is failed, and the step's on_failure is applied by
 * vu_run before the next step (v->fail_act). The setup frame, when the user runs its
 * setup, is stack[1] (pushed above the flow's). */
static void vu_step_failed(vu *v, const sc_step *s)
{
    v->iter_failed = true;
    bool in_setup = v->depth >= 2 && v->stack[1].setup;
    v->fail_act = (uint8_t)flow_on_failure(s->on_failure, in_setup);
}

/* on_failure (common/scenario_types.h sc_on_failure). END_ITERATION: the frames above
 * the flow's go and the flow's frame is finished, so the walker ends the iteration at
 * once (its row failed; closed: the next pass starts from the top; open: the user takes
 * the next arrival or goes idle). END_USER, closed model: the iteration row (failed),
 * then the user goes off for the rest of the run (stopped). END_USER, open model: the
 * user's session ends (variables cleared, cookies dropped, its ws connection closed
 * with 1001, its setup run again before its next arrival), then as END_ITERATION. */
static void vu_fail_apply(vu *v)
{
    engine *e = v->eng;
    flow_action a = (flow_action)v->fail_act;
    v->fail_act = FLOW_GO_ON;
    if (a == FLOW_GO_ON) return;
    if (a == FLOW_END_USER && !e->open) {
        vu_end_iteration(v);
        v->stopped = true;
        vu_off(v);
        return;
    }
    if (a == FLOW_END_USER) {
        flow_vars_clear(v->vars, (int)e->cfg.sc->syms.nvars);
        if (v->xfer_ready) http_xfer_drop_cookies(&v->x);
        if (v->ws && wsflow_release(v->ws)) e->ws_closing++;
        v->setup_prof = NULL;
    }
    v->depth = 1;
    v->stack[0].idx = v->stack[0].n;
    v->stack[0].left = 0;
}

static int vu_start_http(vu *v, const sc_step *s)
{
    engine *e = v->eng;
    if (!v->xfer_ready) {
        if (http_xfer_init(&v->x, e->http, &e->opts, vu_http_done, v) != 0) return -1;
        v->xfer_ready = true;
    }
    const sc_http *h = &s->u.http;
    tmpl_ctx c = vu_ctx(v);
    /* URL: absolute as rendered, or joined to the target (common/url.h, the rule the
     * allowlist checked the plan by). */
    size_t room = url_join_room(e->cfg.target);
    long n = tmpl_render_at(h->url, &c, &v->url, &v->url_cap, room);
    if (n < 0) return -1;
    url_join_at(URL_HTTP, e->cfg.target, v->url, room, (size_t)n);
    /* Headers "Name: value", and the JSON content type unless the step sets one. */
    bool has_ct = false;
    for (int i = 0; i < h->nheaders; i++) has_ct = has_ct || !strcasecmp(h->headers[i].name, "Content-Type");
    int nh = sc_render_headers(h->headers, h->nheaders,
                               h->json_body && !has_ct ? "Content-Type: application/json" : NULL,
                               &c, &v->hbuf, &v->hbuf_cap, v->hptr, HTTP_MAX_HEADERS);
    if (nh < 0) return -1;
    long bl = 0;
    if (h->body) {
        bl = tmpl_render_at(h->body, &c, &v->body, &v->body_cap, 0);
        if (bl < 0) return -1;
    }
    /* Stats name: explicit, else method + templated path of the rendered URL. */
    if (h->name) {
        v->stat_id = stats_id(&e->shard, h->method, h->name);
    } else {
        char name[STATS_NAME_MAX];
        stats_default_name(v->url, name, sizeof name);
        v->stat_id = stats_id(&e->shard, h->method, name);
    }
    check_http_needs(h, &v->x.keep_body, &v->x.keep_hdrs);
    http_req req = { .method = h->method, .url = v->url, .headers = v->hptr, .nheaders = nh,
                     .body = h->body ? v->body : NULL, .body_len = (size_t)bl,
                     .timeout_ms = h->timeout_ms };
    v->cur = s;
    v->t_start_us = time_mono_us();
    if (http_xfer_start(&v->x, &req) != 0) return -1;
    v->state = VU_HTTP;
    return 0;
}

/* Walks the flow until the user waits (request in flight, think), goes idle (open
 * model: no arrival waiting) or goes OFF. The closed model stops a user at its next step
 * once the stop began; the open model lets a running iteration finish (within
 * graceful_stop) and stops the user at its end. */
void vu_run(vu *v)
{
    engine *e = v->eng;
    e->steps++;
    for (int spins = 0; v->state == VU_READY; spins++) {
        if (v->retire || (e->stopping && (!e->open || v->depth == 0))) {
            vu_off(v);
            return;
        }
        if (spins >= VU_SPIN_MAX) {     /* a flow that never waits: let the loop breathe */
            struct timeval tv = { 0, 0 };
            event_add(&v->yield_ev, &tv);
            return;
        }
        if (v->fail_act != FLOW_GO_ON) {        /* the step before failed */
            vu_fail_apply(v);
            continue;
        }
        if (v->depth == 0) vu_begin_iteration(v, time_mono_us());   /* closed model */
        vu_frame *f = &v->stack[v->depth - 1];
        if (f->idx >= f->n) {
            /* a paced loop: a pass shorter than the pacing waits out the rest (a timer,
             * as a think), from the pass's start (its intended start: base_us when it
             * began), so passes keep their period without drifting by the timer's
             * lateness; the next pass (or the step after the loop) then starts at the
             * pacing's end as its intended start */
            if (f->owner && f->owner->kind == STEP_LOOP && f->owner->u.loop.pacing_us &&
                !f->paced) {
                uint64_t pacing = f->owner->u.loop.pacing_us;
                uint64_t wait = flow_pacing_wait(pacing, f->pass_us, time_mono_us());
                f->paced = true;
                if (wait > 0) {
                    struct timeval tv = { (time_t)(wait / 1000000),
                                          (suseconds_t)(wait % 1000000) };
                    v->state = VU_THINK;
                    v->base_us = f->pass_us + pacing;
                    event_add(&v->think_ev, &tv);
                    return;
                }
            }
            if (f->left != 0 && f->n > 0) {     /* next pass of a loop */
                if (f->left > 0) f->left--;
                f->idx = 0;
                f->paced = false;
                f->pass_us = v->base_us;
                continue;
            }
            v->depth--;
            if (f->setup && !e->open) {         /* the closed model's pass starts now */
                v->iter_start_us = v->iter_actual_us = time_mono_us();
                v->iter_failed = false;
            }
            if (v->depth == 0) {
                vu_end_iteration(v);
                if (e->open && !(e->stopping || v->retire) && !engine_open_next(v)) return;
            }
            continue;
        }
        const sc_step *s = &f->steps[f->idx++];
        switch (s->kind) {
        case STEP_HTTP:
            if (vu_start_http(v, s) != 0) {
                stats_error(&e->shard, v->stat_id, ERR_OTHER, "request not started");
                if (e->open) stats_record_svc(&e->shard, v->stat_id, 0, 0, 0, true);
                else stats_record(&e->shard, v->stat_id, 0, 0, true);
                v->last_status = 0;
                vu_step_failed(v, s);
            }
            break;
        case STEP_THINK: {
            uint64_t ms = s->u.think.min_ms;
            if (s->u.think.max_ms > ms) ms += rng_next(&v->rng) % (s->u.think.max_ms - ms + 1);
            if (ms == 0) break;
            struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
            v->state = VU_THINK;
            v->base_us += ms * 1000;    /* the think's intended end: the next step's base */
            event_add(&v->think_ev, &tv);
            break;
        }
        case STEP_WS: {
            if (!v->ws) {
                if (!(v->ws = malloc(sizeof *v->ws))) {
                    log_error("engine", "out of memory for a WebSocket session");
                    break;
                }
                wsflow_init(v->ws, &e->wsenv, v);
            }
            tmpl_ctx c = vu_ctx(v);
            v->ws->open_model = e->open;
            v->ws->base_us = v->base_us;
            /* a failure recorded between steps (a drop, a listen) fails the iteration;
             * this step's on_failure answers for what is recorded while it runs */
            if (v->ws->failed) v->iter_failed = true;
            v->ws->failed = false;
            v->cur = s;
            if (wsflow_step(v->ws, s, &c, v->vars) == WSF_WAIT) v->state = VU_WS;
            else if (v->ws->failed) vu_step_failed(v, s);
            break;
        }
        case STEP_LOOP:
        case STEP_GROUP: {
            if (v->depth >= VU_DEPTH + 1) break;    /* the parser bounds nesting; be safe */
            const sc_step *steps = s->kind == STEP_LOOP ? s->u.loop.steps : s->u.group.steps;
            int n = s->kind == STEP_LOOP ? s->u.loop.nsteps : s->u.group.nsteps;
            int64_t left = 0;
            if (s->kind == STEP_LOOP) {
                if (s->u.loop.count == 0) break;
                left = s->u.loop.count < 0 ? -1 : s->u.loop.count - 1;
            }
            v->stack[v->depth++] = (vu_frame){ .steps = steps, .n = n, .idx = 0, .left = left,
                                               .owner = s, .pass_us = v->base_us };
            break;
        }
        case STEP_PICK: {       /* one branch per run of the step (worker/engine_flow.h) */
            int b = flow_pick(s, &v->rng);
            if (b < 0 || v->depth >= VU_DEPTH + 1) break;
            const sc_branch *br = &s->u.pick.branches[b];
            v->stack[v->depth++] = (vu_frame){ .steps = br->steps, .n = br->nsteps,
                                               .owner = s };
            break;
        }
        case STEP_IF: {
            bool yes = flow_cond(&s->u.cond.cond, v->vars, v->last_status, &v->rng);
            const sc_step *steps = yes ? s->u.cond.then_steps : s->u.cond.else_steps;
            int n = yes ? s->u.cond.nthen : s->u.cond.nelse;
            if (n == 0 || v->depth >= VU_DEPTH + 1) break;
            v->stack[v->depth++] = (vu_frame){ .steps = steps, .n = n, .owner = s };
            break;
        }
        }
    }
}

static void vu_http_done(http_xfer *x, const http_result *r)
{
    vu *v = x->ud;
    engine *e = v->eng;
    const sc_http *h = &v->cur->u.http;
    uint64_t now = time_mono_us();
    uint64_t lat = r->total_us ? r->total_us : now - v->t_start_us;
    stats_err_kind kind = ERR_OTHER;
    char detail[STATS_DETAIL_MAX] = "";
    bool ok;
    if (r->failed) {
        kind = r->kind;
        snprintf(detail, sizeof detail, "%s", r->detail ? r->detail : "");
        ok = false;
    } else {
        check_input in = { .status = r->status, .body = x->body, .len = x->body_len,
                           .hdrs = x->hdrs, .hdrs_len = x->hdrs_len };
        ok = check_http(h, &in, v->vars, &kind, detail, sizeof detail);
    }
    if (e->open) {
        /* lat from the step's intended start (the arrival's for the iteration's first
         * step, else the end of the step before), svc (today's figure) from the send */
        uint64_t from_base = now > v->base_us ? now - v->base_us : 0;
        stats_record_svc(&e->shard, v->stat_id, from_base > lat ? from_base : lat, lat,
                         r->bytes, !ok);
    } else {
        stats_record(&e->shard, v->stat_id, lat, r->bytes, !ok);
    }
    v->base_us = now;
    /* issue 15: a request the lean client sent again on a new connection (its reused
     * keep-alive connection closed before any byte came back) counts once above and
     * once here, so the server's log equals requests + retries */
    e->shard.health.retries += r->retries;
    v->last_status = r->failed ? 0 : r->status;
    if (!ok) {
        stats_error(&e->shard, v->stat_id, kind, detail);
        vu_step_failed(v, v->cur);
    }
    if (e->sample_log) {        /* test aid: lets a test rebuild percentiles from raw samples */
        const stats_entry *se = &e->shard.entries[v->stat_id];
        fprintf(e->sample_log, "%s\t%s\t%llu\n", se->method, se->name, (unsigned long long)lat);
    }
    v->state = VU_READY;
    vu_run(v);
}
