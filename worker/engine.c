/* The load engine: schedule, slots, lifecycle. See engine.h. The users' flows (vu_run,
 * the step starters, vu_http_done) are in worker/engine_vu.c, the open model's arrivals
 * in worker/engine_open.c.
 *
 * Event order on the engine thread:
 *   engine_tick      every 50 ms: stop request? end of stages? spawn or retire users
 *                    (closed model); adopt/release slots (both)
 *   engine_arrive    open model (worker/engine_open.c): the next arrival is due
 *   engine_interval  every interval: encode the shard, emit it, reset it
 *   vu_run           walks a user's flow until it must wait (request, think); at the
 *                    end of a pass records the iteration row, then loops (closed) or
 *                    takes the next waiting arrival or goes idle (open)
 *   vu_http_done     a request completed: expect, capture, record, continue
 *   vu_think_done    a think time elapsed: continue
 *   vu_ws_done       a ws step that waited is over (worker/wsflow.h): continue
 *                    (vu_run and these three: worker/engine_vu.c)
 *   engine_ws_released  a connection closed as its VU went off: maybe finish
 *   engine_grace     graceful_stop elapsed: cancel what is in flight, finish
 *   engine_lag_tick  every STATS_LAG_TICK_MS (100 ms): how late it ran is the loop's lag
 *                    (common/stats.h stats_health; re-armed from its own run time, so a
 *                    late pass is one late sample, not a burst of catch-up ones)
 */
#include "worker/engine.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include "common/log.h"
#include "common/stats.h"
#include "common/time.h"
#include "common/util.h"
#include "proto/msg.h"
#include "worker/allow.h"
#include "worker/engine_int.h"
#include "worker/http.h"
#include "worker/wsflow.h"

static void engine_finish(struct engine *e);

/* --- helpers --------------------------------------------------------------------- */

/* Users of slot j among the first n users. */
static uint32_t engine_share(const engine *e, uint32_t j, uint32_t n)
{
    uint32_t t = e->cfg.threads_total;
    return n > j ? (n - j - 1) / t + 1 : 0;
}

/* Every allocated user of every slot, for the loops that stop or cancel them all (the
 * users never allocated never ran). The body may return, not break. */
#define ENGINE_FOR_VUS(e, v)                                                         \
    for (uint32_t s_ = 0; s_ < (e)->nslots; s_++)                                    \
        for (uint32_t c_ = 0; (uint64_t)c_ * VU_CHUNK < (e)->slots[s_].nready; c_++)  \
            for (vu *v = (e)->slots[s_].chunks[c_]->vus,                             \
                    *vend_ = v + (e)->slots[s_].chunks[c_]->n; v < vend_; v++)

/* --- users (their flows: worker/engine_vu.c) ------------------------------------ */

/* The engine is over once no user is on and no connection is still closing. */
void engine_maybe_finish(engine *e)
{
    if (e->stopping && e->live == 0 && e->ws_closing == 0) engine_finish(e);
}

static void engine_ws_released(void *arg)
{
    vu *v = arg;
    engine *e = v->eng;
    if (e->ws_closing > 0) e->ws_closing--;
    engine_maybe_finish(e);
}

/* --- the engine ------------------------------------------------------------------- */

/* This thread's CPU time, microseconds. */
static uint64_t engine_cpu_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The whole process's CPU time, microseconds. */
static uint64_t engine_proc_cpu_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The process's resident set in bytes (/proc/self/statm's second field, pages), 0 when
 * unknown. Once per interval: a few system calls, no allocation. */
static uint64_t engine_rss_bytes(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    unsigned long long size = 0, res = 0;
    long page = sysconf(_SC_PAGESIZE);
    if (sscanf(buf, "%llu %llu", &size, &res) != 2 || page <= 0) return 0;
    return (uint64_t)res * (uint64_t)page;
}

/* Arms the loop-lag timer STATS_LAG_TICK_MS from now. libevent counts a timeout added
 * in a callback from the time its loop pass began (its cached time): brought to now
 * first, so that libevent's due time is lag_due_us and a pass that ran long before this
 * callback does not hide the next sample's lateness. */
static void engine_lag_arm(engine *e, uint64_t now)
{
    e->lag_due_us = now + STATS_LAG_TICK_MS * 1000u;
    struct timeval tv = { 0, STATS_LAG_TICK_MS * 1000 };
    event_base_update_cache_time(e->base);
    event_add(&e->lag_ev, &tv);
}

/* The loop-lag sample: how late this callback runs after its due time. */
static void engine_lag_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    engine *e = arg;
    uint64_t now = time_mono_us();
    uint64_t late = now > e->lag_due_us ? now - e->lag_due_us : 0;
    stats_health *h = &e->shard.health;
    if (now >= e->cfg.start_mono_us) {     /* the wait for the synchronized start is in
                                             * no interval (interval 0 begins at start) */
        if (late > h->lag_max_us) h->lag_max_us = late;
        h->lag_sum_us += late;
        h->lag_n++;
    }
    if (!e->done) engine_lag_arm(e, now);
}

/* The open connections of the engine: the sockets libcurl holds and those of the users'
 * WebSocket connections (both counted as they open and close, not by a walk). */
static uint32_t engine_conns(const engine *e)
{
    return http_loop_conns(e->http) + e->wsenv.conns;
}

/* users: the users running (closed), the busy ones (open: idle users of the pool are
 * not counted; the pool's size is the scenario's max_users). */
static void engine_emit(engine *e, bool final)
{
    char *buf = NULL;
    size_t len = 0;
    e->shard.users = e->live;
    uint64_t pcpu = engine_proc_cpu_us();
    e->shard.health.proc_cpu_us = pcpu > e->pcpu_prev_us ? pcpu - e->pcpu_prev_us : 0;
    e->pcpu_prev_us = pcpu;
    e->shard.health.rss_bytes = engine_rss_bytes();
    e->shard.health.conns = engine_conns(e);
    uint64_t cpu = engine_cpu_us(), wall = time_mono_us();
    /* the open model's polls that found nothing to do (engine_open_loop) are idle time */
    uint64_t spun = e->spin_idle_us - e->spin_prev_us;
    e->spin_prev_us = e->spin_idle_us;
    e->shard.sched.cpu_us = cpu > e->cpu_prev_us + spun ? cpu - e->cpu_prev_us - spun : 0;
    e->shard.sched.wall_us = wall - e->wall_prev_us;
    e->cpu_prev_us = cpu;
    e->wall_prev_us = wall;
    if (proto_encode_stats(e->cfg.run_id, e->cfg.worker_id, e->first_slot, e->interval_idx,
                           final, &e->shard, &buf, &len) == 0) {
        e->cfg.emit(e->cfg.emit_ud, buf, len);
    } else {
        log_error("engine", "cannot encode stats (out of memory)");
    }
    stats_shard_reset(&e->shard);
    e->shard.sched.backlog_max = e->waiting;    /* what still waits opens the next one */
}

static void engine_finish(engine *e)
{
    if (e->done) return;
    e->done = true;
    event_del(&e->tick_ev);
    event_del(&e->interval_ev);
    event_del(&e->grace_ev);
    event_del(&e->arrive_ev);
    event_del(&e->lag_ev);
    engine_emit(e, true);
    atomic_store(&e->finished, true);
    event_base_loopbreak(e->base);
}

/* Cancels every request in flight (counted as cancelled) and turns every user off. */
static void engine_cancel_all(engine *e)
{
    if (e->open && !e->stopping) engine_open_stop(e);   /* waiting arrivals: dropped */
    e->stopping = true;
    e->ws_closing = 0;          /* the loop aborts those connections too */
    ENGINE_FOR_VUS(e, v) {
        if (e->done) return;
        if (v->state == VU_HTTP) {
            http_xfer_cancel(&v->x);
            e->shard.cancelled++;
        }
        if (v->ws && wsflow_cancel(v->ws) && v->state == VU_WS) e->shard.cancelled++;
        vu_off(v);
    }
}

static void engine_grace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    engine *e = arg;
    engine_cancel_all(e);
    engine_finish(e);
}

static void engine_begin_stop(engine *e)
{
    if (e->open) engine_open_stop(e);   /* arrivals over; idle users off */
    e->stopping = true;
    if (e->live == 0 && e->ws_closing == 0) {
        engine_finish(e);
        return;
    }
    uint64_t ms = e->cfg.sc->graceful_stop_ms;
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    event_add(&e->grace_ev, &tv);
    /* The last user going OFF finishes the engine (vu_off). Open model: running
     * iterations go on to their end (vu_run), within graceful_stop. */
    if (e->open) return;
    ENGINE_FOR_VUS(e, v) {
        if (e->done) return;
        if (v->state == VU_THINK || v->state == VU_READY) vu_off(v);
    }
}

/* Brings the number of users of every owned slot to the schedule's share. */
static void engine_schedule(engine *e, uint64_t t_ms)
{
    uint32_t n = scenario_users_at(e->cfg.sc, t_ms);
    for (uint32_t s = 0; s < e->nslots; s++) {
        eslot *sl = &e->slots[s];
        uint32_t want = sl->released ? 0 : engine_share(e, sl->slot, n);
        if (want > sl->nvus) want = sl->nvus;
        if (want > sl->nready && engine_slot_grow(e, sl, want) != 0) {
            if (!sl->grow_failed)
                log_error("engine", "out of memory starting users of slot %u: %u of %u run",
                          sl->slot, sl->nready, want);
            sl->grow_failed = true;
            want = sl->nready;
        }
        for (uint32_t i = 0; i < want; i++) {
            vu *v = eslot_vu(sl, i);
            if (v->state == VU_OFF || v->retire) vu_spawn(v);
        }
        for (uint32_t i = want; i < sl->nready; i++) {
            vu *v = eslot_vu(sl, i);
            if (v->state == VU_OFF) continue;
            v->retire = true;
            if (v->state == VU_THINK || v->state == VU_READY) vu_off(v);
        }
    }
}

/* Allocates the slot's next chunk of users and sets them up (OFF, not yet inited).
 * Called as the schedule starts users, never per request. 0, or -1 on ENOMEM. */
static int engine_chunk_add(engine *e, eslot *sl)
{
    const scenario *sc = e->cfg.sc;
    uint32_t c = sl->nready / VU_CHUNK;         /* nready is a multiple of VU_CHUNK here */
    uint32_t n = sl->nvus - sl->nready < VU_CHUNK ? sl->nvus - sl->nready : VU_CHUNK;
    uint32_t nv = sc->syms.nvars, nf = sc->data.n;
    if (e->open) {              /* the idle stack holds every allocated user at most */
        uint32_t *idle = realloc(sl->idle, ((size_t)sl->nready + n) * sizeof *idle);
        if (!idle) return -1;
        sl->idle = idle;
    }
    vu_chunk *ch = calloc(1, sizeof *ch + (size_t)n * sizeof(vu));
    if (!ch) return -1;
    ch->n = n;
    ch->vars = nv ? calloc((size_t)n * nv, sizeof *ch->vars) : NULL;
    ch->rows = nf ? calloc((size_t)n * nf, sizeof *ch->rows) : NULL;
    if ((nv && !ch->vars) || (nf && !ch->rows)) {
        free(ch->vars);
        free(ch->rows);
        free(ch);
        return -1;
    }
    for (uint32_t j = 0; j < n; j++) {
        vu *v = &ch->vus[j];
        uint32_t i = sl->nready + j;
        v->eng = e;
        v->si = (uint32_t)(sl - e->slots);
        v->k = sl->slot + (uint64_t)i * e->cfg.threads_total;
        v->prof = &sc->profiles[scenario_profile_of(sc, v->k)];
        v->vars = nv ? &ch->vars[(size_t)j * nv] : NULL;
        v->rows = nf ? &ch->rows[(size_t)j * nf] : NULL;
        v->rng = (v->k + 1) * UINT64_C(0x9E3779B97F4A7C15) ^ (e->cfg.run_id | 1);
        if (!v->rng) v->rng = 1;
    }
    sl->chunks[c] = ch;
    sl->nready += n;
    return 0;
}

/* Makes users [0, want) of the slot allocated (want <= nvus). 0, or -1 on ENOMEM with
 * the users allocated so far kept. */
int engine_slot_grow(engine *e, eslot *sl, uint32_t want)
{
    while (sl->nready < want)
        if (engine_chunk_add(e, sl) != 0) return -1;
    return 0;
}

/* Adds slot (or un-releases it). Only the chunk table is allocated here; users are
 * allocated as the schedule starts them (engine_slot_grow). Open model: the slot takes
 * arrivals from from_us (us after the start: 0 for the plan's own slots, now for an
 * adopted one, so the gap while it had no owner is not invented later). */
static int engine_slot_add(engine *e, uint32_t slot, double from_us)
{
    for (uint32_t s = 0; s < e->nslots; s++) {
        if (e->slots[s].slot == slot) {
            if (!e->slots[s].released) return 0;
            atomic_fetch_add(&e->owned, 1);
            e->slots[s].released = false;
            return e->open ? engine_open_slot_init(e, &e->slots[s], from_us) : 0;
        }
    }
    if (e->nslots == e->capslots) {
        uint32_t n = e->capslots ? e->capslots * 2 : 4;
        eslot *ns = realloc(e->slots, n * sizeof *ns);
        if (!ns) return -1;
        e->slots = ns;          /* users point at their engine, not at their slot */
        e->capslots = n;
    }
    eslot *sl = &e->slots[e->nslots];
    memset(sl, 0, sizeof *sl);
    sl->slot = slot;
    sl->nvus = engine_share(e, slot, scenario_peak_users(e->cfg.sc));
    if (sl->nvus) {
        sl->chunks = calloc(((size_t)sl->nvus + VU_CHUNK - 1) / VU_CHUNK, sizeof *sl->chunks);
        if (!sl->chunks) return -1;
    }
    e->nslots++;
    atomic_fetch_add(&e->owned, 1);
    return e->open ? engine_open_slot_init(e, sl, from_us) : 0;
}

/* Applies adopt/release requests from the agent. */
static void engine_mailbox(engine *e)
{
    int32_t ops[ENGINE_MAILBOX];
    int n;
    pthread_mutex_lock(&e->mbox_mu);
    n = e->nmbox;
    memcpy(ops, e->mbox, (size_t)n * sizeof ops[0]);
    e->nmbox = 0;
    pthread_mutex_unlock(&e->mbox_mu);
    uint64_t now = time_mono_us();
    double from_us = now > e->cfg.start_mono_us ? (double)(now - e->cfg.start_mono_us) : 0;
    for (int i = 0; i < n; i++) {
        if (ops[i] > 0) {
            if (engine_slot_add(e, (uint32_t)(ops[i] - 1), from_us) != 0)
                log_error("engine", "out of memory adopting slot %d", ops[i] - 1);
        } else {
            for (uint32_t s = 0; s < e->nslots; s++) {
                if (e->slots[s].slot != (uint32_t)(-ops[i] - 1) || e->slots[s].released) continue;
                e->slots[s].released = true;
                atomic_fetch_sub(&e->owned, 1);
                if (e->open) engine_open_release(e, &e->slots[s]);
            }
        }
    }
}

static void engine_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    engine *e = arg;
    if (atomic_load(&e->abort_req) && !e->done) {
        engine_cancel_all(e);
        engine_finish(e);
        return;
    }
    if (e->stopping) return;
    uint64_t now = time_mono_us();
    engine_mailbox(e);
    if (atomic_load(&e->stop_req)) {
        engine_begin_stop(e);
        return;
    }
    if (e->open) engine_open_arrivals(e, now);  /* adopted slots: arm their first */
    if (now < e->cfg.start_mono_us) return;
    uint64_t t_ms = (now - e->cfg.start_mono_us) / 1000;
    if (t_ms >= e->duration_ms) {
        engine_begin_stop(e);
        return;
    }
    if (!e->open) engine_schedule(e, t_ms);
}

static void engine_arm_interval(engine *e)
{
    uint64_t due = e->cfg.start_mono_us + (e->interval_idx + 1) * (uint64_t)e->cfg.interval_ms * 1000;
    uint64_t now = time_mono_us();
    uint64_t d = due > now ? due - now : 0;
    struct timeval tv = { (time_t)(d / 1000000), (suseconds_t)(d % 1000000) };
    event_add(&e->interval_ev, &tv);
}

static void engine_interval(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    engine *e = arg;
    /* Sample the users the schedule wants at the interval's end before reporting. */
    /* Open model: the arrivals due by now are counted in this interval. */
    uint64_t now = time_mono_us();
    if (!e->stopping && now >= e->cfg.start_mono_us) {
        uint64_t t_ms = (now - e->cfg.start_mono_us) / 1000;
        if (e->open) engine_open_arrivals(e, now);
        else if (t_ms < e->duration_ms) engine_schedule(e, t_ms);
    }
    engine_emit(e, false);
    e->interval_idx++;
    engine_arm_interval(e);
}

/* The engine thread's name, and its CPU when --engine-cpus asked (engine_cfg.pin). */
static void engine_place(engine *e)
{
    pthread_setname_np(pthread_self(), "stampede-eng");
    if (!e->cfg.pin) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (e->cfg.cpu >= 0 && e->cfg.cpu < CPU_SETSIZE) CPU_SET(e->cfg.cpu, &set);
    int rc = e->cfg.cpu >= 0 && e->cfg.cpu < CPU_SETSIZE
             ? pthread_setaffinity_np(pthread_self(), sizeof set, &set) : EINVAL;
    if (rc != 0)
        log_warn("engine", "cannot pin the engine thread to CPU %d (%s): it runs unpinned",
                 e->cfg.cpu, strerror(rc));
}

static void *engine_main(void *arg)
{
    engine *e = arg;
    engine_place(e);
    struct timeval tick = { 0, ENGINE_TICK_MS * 1000 };
    e->cpu_prev_us = engine_cpu_us();
    e->wall_prev_us = time_mono_us();
    e->pcpu_prev_us = engine_proc_cpu_us();
    event_add(&e->tick_ev, &tick);
    engine_lag_arm(e, time_mono_us());
    engine_arm_interval(e);
    if (e->open) engine_open_arrivals(e, time_mono_us());
    if (e->open) engine_open_loop(e);   /* polls while an arrival is near: see there */
    else event_base_dispatch(e->base);
    hist_pool_drain();          /* chunks parked by this thread's shard resets */
    return NULL;
}

static void engine_free(engine *e)
{
    if (!e) return;
    ENGINE_FOR_VUS(e, v) {
        if (v->inited) {
            event_del(&v->think_ev);
            event_del(&v->yield_ev);
            if (v->xfer_ready) http_xfer_fini(&v->x);
        }
        if (v->ws) {
            wsflow_fini(v->ws);
            free(v->ws);
        }
        free(v->url);
        free(v->hbuf);
        free(v->body);
    }
    uint32_t nv = e->cfg.sc->syms.nvars;
    for (uint32_t s = 0; s < e->nslots; s++) {
        eslot *sl = &e->slots[s];
        for (uint32_t c = 0; (uint64_t)c * VU_CHUNK < sl->nready; c++) {
            vu_chunk *ch = sl->chunks[c];
            if (ch->vars)
                for (size_t i = 0; i < (size_t)ch->n * nv; i++) tmpl_val_fini(&ch->vars[i]);
            free(ch->vars);
            free(ch->rows);
            free(ch);
        }
        free(sl->chunks);
        engine_open_slot_fini(sl);
    }
    free(e->slots);
    free(e->iter_ids);
    pthread_mutex_destroy(&e->mbox_mu);
    if (e->http) http_loop_free(e->http);
    wsf_env_fini(&e->wsenv);
    if (e->base) {
        event_del(&e->tick_ev);
        event_del(&e->interval_ev);
        event_del(&e->grace_ev);
        event_del(&e->arrive_ev);
        event_del(&e->lag_ev);
        event_base_free(e->base);
    }
    stats_shard_fini(&e->shard);
    if (e->sample_log) fclose(e->sample_log);
    free(e);
}

static bool engine_allow(const void *ud, const struct sockaddr *sa)
{
    return allow_addr(ud, sa);
}

/* The HTTP client of this engine: the scenario's defaults.client, unless the process's
 * environment says otherwise. STAMPEDE_HTTP_CLIENT=auto|lean|curl (a test aid: the
 * integration suite runs whole under either client, its daemons inheriting the variable)
 * replaces the scenario's choice for every engine of this process; it is read once per
 * engine, here, never on the hot path. Any other value is logged (once per process) and
 * ignored. Unlike the scenario's key, the variable is not checked against
 * defaults.http2: what the transport makes of lean with http2 is worker/http.c's call. */
static http_client engine_client(const scenario *sc)
{
    static atomic_bool warned;
    static const char *const words[] = { "auto", "lean", "curl" };
    static const http_client clients[] = { HTTP_CLIENT_AUTO, HTTP_CLIENT_LEAN, HTTP_CLIENT_CURL };
    const char *v = getenv("STAMPEDE_HTTP_CLIENT");
    if (v && *v) {
        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
            if (!strcmp(v, words[i]))
                return clients[i];
        if (!atomic_exchange(&warned, true))
            log_warn("engine", "STAMPEDE_HTTP_CLIENT=%.32s is not auto, lean or curl: ignored "
                     "(the scenario's defaults.client applies)", v);
    }
    return sc->client == SC_CLIENT_LEAN ? HTTP_CLIENT_LEAN
           : sc->client == SC_CLIENT_CURL ? HTTP_CLIENT_CURL : HTTP_CLIENT_AUTO;
}

engine *engine_start(const engine_cfg *cfg, char *err, size_t errcap)
{
    engine *e = calloc(1, sizeof *e);
    if (!e) goto nomem;
    e->cfg = *cfg;
    pthread_mutex_init(&e->mbox_mu, NULL);
    const scenario *sc = cfg->sc;
    const char *slog = getenv("STAMPEDE_SAMPLE_LOG");
    if (slog && *slog) {
        char path[1024];
        snprintf(path, sizeof path, "%s/samples-%s-%u-%llu.tsv", slog, cfg->worker_id,
                 cfg->nslots ? cfg->slots[0] : 0, (unsigned long long)time_mono_us());
        e->sample_log = fopen(path, "w");
    }
    e->opts = (http_opts){ .client = engine_client(sc),
                           .http2 = sc->http2, .insecure = sc->insecure,
                           .follow_redirects = sc->follow_redirects,
                           .no_cookies = !sc->cookies };   /* issue 12: a jar per user */
    if (cfg->allow) {
        e->opts.allow = engine_allow;
        e->opts.allow_ud = cfg->allow;
    }
    e->duration_ms = scenario_duration_ms(sc);
    if (stats_shard_init(&e->shard, cfg->name_cap) != 0) goto nomem;
    /* The iteration rows' ids, once (ids are stable for the run; past the name cap an
     * iteration row is not recorded rather than folded into the HTTP overflow row). */
    e->iter_ids = calloc(sc->nprofiles ? (size_t)sc->nprofiles : 1, sizeof *e->iter_ids);
    if (!e->iter_ids) goto nomem;
    for (int i = 0; i < sc->nprofiles; i++) {
        uint32_t id = stats_id(&e->shard, STATS_ITERATION, sc->profiles[i].name);
        e->iter_ids[i] = e->shard.overflow_id >= 0 && id == (uint32_t)e->shard.overflow_id
                         ? UINT32_MAX : id;
    }
    e->open = sc->model == SC_MODEL_OPEN;
    e->tprime = sc->max_users < cfg->threads_total ? sc->max_users : cfg->threads_total;
    /* libcurl drops a connection's socket from its watch list when a transfer ends and
     * asks for it again when the next one starts: with the changelist, libevent folds
     * that del + add within one loop pass into no epoll_ctl at all. */
    struct event_config *ec = event_config_new();
    if (ec) event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    /* Timers on CLOCK_MONOTONIC, not its 4 ms coarse variant: a think time, a backoff
     * or a ws timeout must not end before the time our measurements (time_mono_us) say. */
    if (ec) event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    /* The open model's arrival timer runs before I/O (issue 11: the lag of an arrival is
     * how late its callback runs). libevent runs every active callback of one loop pass
     * before a timer that fell due meanwhile is even seen; with the limit below, after
     * ENGINE_MAX_CALLBACKS callbacks of priority ENGINE_PRI_IO the loop polls again (no
     * wait) and a due arrival (ENGINE_PRI_ARRIVAL) runs first. The closed model has no
     * arrivals: it keeps whole passes (a poll per few callbacks would only cost it). */
    if (ec && e->open)
        event_config_set_max_dispatch_interval(ec, NULL, ENGINE_MAX_CALLBACKS, ENGINE_PRI_IO);
    e->base = ec ? event_base_new_with_config(ec) : event_base_new();
    if (ec) event_config_free(ec);
    if (!e->base) goto nomem;
    /* before any event is assigned: every other event takes the default, ENGINE_PRI_IO */
    if (event_base_priority_init(e->base, ENGINE_PRIORITIES) != 0) goto nomem;
    engine_open_init(e);
    e->http = http_loop_new(e->base);
    if (!e->http) goto nomem;
    e->wsenv = (wsf_env){ .base = e->base, .shard = &e->shard, .target = cfg->target,
                          .insecure = sc->insecure, .allow = cfg->allow, .done = vu_ws_done,
                          .released = engine_ws_released, .sample_log = e->sample_log };
    e->first_slot = cfg->nslots ? cfg->slots[0] : 0;
    for (uint32_t i = 0; i < cfg->nslots; i++)
        if (cfg->slots[i] >= cfg->threads_total || engine_slot_add(e, cfg->slots[i], 0) != 0) goto nomem;
    e->cfg.slots = NULL;        /* not kept: the caller's array */
    event_assign(&e->tick_ev, e->base, -1, EV_PERSIST, engine_tick, e);
    event_assign(&e->interval_ev, e->base, -1, 0, engine_interval, e);
    event_assign(&e->grace_ev, e->base, -1, 0, engine_grace, e);
    event_assign(&e->lag_ev, e->base, -1, 0, engine_lag_tick, e);
    if (pthread_create(&e->th, NULL, engine_main, e) != 0) {
        snprintf(err, errcap, "cannot start engine thread");
        engine_free(e);
        return NULL;
    }
    e->started = true;
    return e;
nomem:
    snprintf(err, errcap, "out of memory starting engine (slot %u)", cfg->nslots ? cfg->slots[0] : 0);
    engine_free(e);
    return NULL;
}

void engine_stop(engine *e) { atomic_store(&e->stop_req, true); }

void engine_abort(engine *e) { atomic_store(&e->abort_req, true); }

static int engine_post(engine *e, int32_t op)
{
    int rv = -1;
    pthread_mutex_lock(&e->mbox_mu);
    if (e->nmbox < ENGINE_MAILBOX) {
        e->mbox[e->nmbox++] = op;
        rv = 0;
    }
    pthread_mutex_unlock(&e->mbox_mu);
    return rv;
}

int engine_adopt(engine *e, uint32_t slot) { return engine_post(e, (int32_t)slot + 1); }
int engine_release(engine *e, uint32_t slot) { return engine_post(e, -((int32_t)slot + 1)); }

uint32_t engine_slots(const engine *e) { return atomic_load(&e->owned); }

bool engine_finished(const engine *e) { return atomic_load(&e->finished); }

void engine_join_free(engine *e)
{
    if (!e) return;
    if (e->started) pthread_join(e->th, NULL);
    engine_free(e);
}

size_t engine_users_bytes(const engine *e)
{
    size_t n = sizeof *e + stats_shard_bytes(&e->shard) + (size_t)e->capslots * sizeof(eslot);
    size_t per_user = sizeof(vu) + (size_t)e->cfg.sc->syms.nvars * sizeof(tmpl_val) +
                      (size_t)e->cfg.sc->data.n * sizeof(uint32_t);
    for (uint32_t s = 0; s < e->nslots; s++) {
        const eslot *sl = &e->slots[s];
        n += ((size_t)sl->nvus + VU_CHUNK - 1) / VU_CHUNK * sizeof(vu_chunk *);
        n += ((size_t)sl->nready + VU_CHUNK - 1) / VU_CHUNK * sizeof(vu_chunk) +
             (size_t)sl->nready * per_user;
        n += (sl->idle ? (size_t)sl->nready * sizeof *sl->idle : 0) +
             (size_t)sl->bcap * (sizeof *sl->backlog + sizeof *sl->bprof);
    }
    ENGINE_FOR_VUS(e, v)
        n += v->url_cap + v->hbuf_cap + v->body_cap + v->x.body_cap + v->x.hdrs_cap +
             (v->ws ? wsflow_bytes(v->ws) : 0);
    return n;
}
