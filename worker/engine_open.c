/* The open model on one engine thread (issue 11): arrivals from the rate curve, the
 * slot's pool of users, its backlog. The shared records are in worker/engine_int.h; the
 * public contract in worker/engine.h. Everything here runs on the engine thread.
 *
 * Schedule. T' = min(threads_total, max_users) slots take arrivals. Slot j (< T') takes
 * the uniform arrivals a = j, j + T', j + 2T', ..., arrival a intended at
 * loadshape_area_inverse(stages, a) us after the run's synchronized start; with poisson
 * arrivals it takes the inverse of a cumulative sum of T' x Exp(1) gaps drawn from the
 * slot's own generator (seeded from the run id and the slot: a re-run with the same id
 * draws the same arrivals). So the arrivals of every slot of every worker together
 * follow the curve. Times are microseconds on the monotonic clock (time_mono_us), from
 * cfg.start_mono_us.
 *
 * Timer. One event per engine (engine.arrive_ev), armed for the intended time of the
 * earliest next arrival of its slots (the base has EVENT_BASE_FLAG_PRECISE_TIMER:
 * sub-millisecond), at ENGINE_PRI_ARRIVAL: it runs before the I/O callbacks of its loop
 * pass, and the engine's loop polls without sleeping while it is due within
 * ENGINE_SPIN_US (engine_open_loop below; why there). When it fires,
 * late or not, the arrivals whose intended time is <= now are handled, each exactly once
 * and in order, and each started one records its lag (actual start - intended): nothing
 * is invented and nothing beyond the schedule is caught up. The 50 ms tick and each
 * interval's end also handle what is due (so an interval counts what fell in it).
 *
 * Pool. A slot has its share of max_users (users k = j, j + T, ...: the closed model's
 * split), allocated VU_CHUNK at a time as arrivals first need them. An arrival takes an
 * idle user (a LIFO stack: the most recently used one, whose connection is warmest), else
 * a user that never ran, else it waits in the slot's backlog (a ring of intended times,
 * preallocated when the slot is adopted: its share of max_backlog over the T' slots that
 * take arrivals, at least 1), else it is dropped and counted. A user whose iteration ends
 * takes the oldest waiting arrival (its intended time kept: the wait is in its latency)
 * or goes idle, keeping its connections and captured variables.
 *
 * Profiles. Each arrival picks its profile by weight (scenario_profile_of of its index
 * a, as closed-model users get theirs) and runs that profile's flow once; a user that
 * has not run the profile's setup runs it first (see vu_begin_iteration); the idle
 * stack is searched OPEN_PROFILE_SCAN deep for a user that ran the profile's setup.
 *
 * Adoption and release. A slot adopted while the run goes (a worker was lost) takes its
 * arrivals from the first one intended at or after now: the gap while it had no owner
 * is not invented later. A released slot takes no more arrivals; its waiting ones are
 * dropped (counted: the adopter starts after now, so none is run twice), its idle users
 * go off and its busy users stop after their current step (as closed-model users do).
 *
 * Counting: intended = started + dropped + waiting, at any moment, per engine.
 * backlog_max is the most arrivals waiting at once over the engine's slots. */
#include <math.h>
#include <stdlib.h>
#include "common/hist.h"
#include "common/loadshape.h"
#include "common/log.h"
#include "common/rng.h"
#include "common/time.h"
#include "worker/engine_int.h"

static void engine_arrive(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    engine *e = arg;
    e->arrive_due_us = 0;
    engine_open_arrivals(e, time_mono_us());
}

/* The open model's event loop (the closed model's is libevent's dispatch). It does not
 * sleep while its next arrival is due within ENGINE_SPIN_US: it polls (no wait) pass after
 * pass instead, so the arrival runs when it falls due. Sleeping cost more than the gap
 * it saved: a wake-up from epoll_wait was the largest share of the engine's CPU per
 * request (perf, 4,000/s on one thread: finish_task_switch after
 * schedule_hrtimeout_range_clock, 28 % of the samples) and its latency the tail of the
 * lag. A poll that found nothing to do (no user step ran and it took less than
 * ENGINE_IDLE_POLL_US: a socket or timer callback that ran no step, a WebSocket frame
 * say, is rarely that short) is idle time: it is taken off the thread's CPU time in the
 * stats (sched.cpu_us), so a spinning engine is not reported as busy
 * (generator-limited), while the work it did is. Between arrivals further apart than
 * ENGINE_SPIN_US the loop sleeps as before. The cost: an engine thread whose arrivals
 * come less than ENGINE_SPIN_US apart uses its core whole (rusage, top), which is why
 * an engine thread wants a core of its own (as --threads defaults to). */
void engine_open_loop(engine *e)
{
    while (!e->done) {
        uint64_t now = time_mono_us();
        bool spin = e->arrive_due_us && e->arrive_due_us <= now + ENGINE_SPIN_US;
        uint64_t steps = e->steps;
        if (event_base_loop(e->base, spin ? EVLOOP_NONBLOCK : EVLOOP_ONCE) != 0) break;
        uint64_t took = time_mono_us() - now;
        if (spin && e->steps == steps && took < ENGINE_IDLE_POLL_US) e->spin_idle_us += took;
    }
}

void engine_open_init(engine *e)
{
    event_assign(&e->arrive_ev, e->base, -1, 0, engine_arrive, e);
    event_priority_set(&e->arrive_ev, ENGINE_PRI_ARRIVAL);
}

/* The slot's share of n over the T' slots that take arrivals (as users are shared). */
static uint32_t open_share(const engine *e, uint32_t j, uint64_t n)
{
    uint32_t t = e->tprime;
    if (j >= t) return 0;
    return n > j ? (uint32_t)((n - j - 1) / t + 1) : 0;
}

/* The intended time of the slot's arrival after the current one (uniform: the next
 * index; poisson: the next gap). */
static void open_advance(const engine *e, eslot *sl)
{
    const scenario *sc = e->cfg.sc;
    sl->next_m++;
    if (sc->arrivals == SC_ARRIVALS_POISSON) {
        sl->cum += (double)e->tprime * rng_exp(&sl->rng);
        sl->next_us = loadshape_area_inverse(sc->stages, sc->nstages, sl->cum);
    } else {
        double a = (double)sl->slot + (double)sl->next_m * e->tprime;
        sl->next_us = loadshape_area_inverse(sc->stages, sc->nstages, a);
    }
}

int engine_open_slot_init(engine *e, eslot *sl, double from_us)
{
    const scenario *sc = e->cfg.sc;
    sl->arrivals = false;
    sl->next_us = -1;
    if (sl->slot >= e->tprime) return 0;        /* no users: no arrivals */
    if (!sl->backlog) {
        uint64_t b = sc->max_backlog;
        sl->bcap = open_share(e, sl->slot, b);
        if (sl->bcap == 0) sl->bcap = 1;
        sl->backlog = malloc((size_t)sl->bcap * sizeof *sl->backlog);
        sl->bprof = malloc((size_t)sl->bcap * sizeof *sl->bprof);
        if (!sl->backlog || !sl->bprof) {
            free(sl->backlog);
            free(sl->bprof);
            sl->backlog = NULL;
            sl->bprof = NULL;
            sl->bcap = 0;
            log_error("engine", "out of memory for the backlog of slot %u: it takes no arrivals",
                      sl->slot);
            return -1;
        }
    }
    sl->bhead = sl->bn = 0;
    /* The first arrival at or after from_us: the area up to it says how many came before. */
    double x = from_us > 0 ? loadshape_area(sc->stages, sc->nstages, from_us) : 0;
    sl->next_m = 0;
    if (sc->arrivals == SC_ARRIVALS_POISSON) {
        sl->rng = rng_seed(e->cfg.run_id, sl->slot);
        sl->cum = x + (double)e->tprime * rng_exp(&sl->rng);     /* memoryless */
        sl->next_us = loadshape_area_inverse(sc->stages, sc->nstages, sl->cum);
    } else {
        double m = ceil((x - (double)sl->slot) / e->tprime);
        sl->next_m = m > 0 ? (uint64_t)m : 0;
        double a = (double)sl->slot + (double)sl->next_m * e->tprime;
        sl->next_us = loadshape_area_inverse(sc->stages, sc->nstages, a);
        while (sl->next_us >= 0 && sl->next_us < from_us) open_advance(e, sl);
    }
    sl->arrivals = true;
    return 0;
}

void engine_open_slot_fini(eslot *sl)
{
    free(sl->idle);
    free(sl->backlog);
    free(sl->bprof);
    sl->idle = NULL;
    sl->backlog = NULL;
    sl->bprof = NULL;
}

/* How deep the idle stack is searched for a user whose setup is the arrival's profile's
 * (when that profile has setup steps) before the top one is taken. */
#define OPEN_PROFILE_SCAN 8

/* A free user of the slot (idle, or one that never ran), or NULL. Allocates a chunk of
 * users when the pool first needs one beyond those allocated (as the closed model's
 * schedule does); never otherwise. */
static vu *open_free_user(engine *e, eslot *sl, const sc_profile *p)
{
    if (sl->nidle > 0) {
        for (uint32_t d = 1; p->nsetup > 0 && d <= sl->nidle && d <= OPEN_PROFILE_SCAN; d++) {
            uint32_t i = sl->idle[sl->nidle - d];
            if (eslot_vu(sl, i)->setup_prof != p) continue;
            sl->idle[sl->nidle - d] = sl->idle[sl->nidle - 1];
            sl->idle[sl->nidle - 1] = i;
            break;
        }
        return eslot_vu(sl, sl->idle[--sl->nidle]);
    }
    if (sl->nused >= sl->nvus) return NULL;
    if (sl->nused >= sl->nready && engine_slot_grow(e, sl, sl->nused + 1) != 0) {
        if (!sl->grow_failed)
            log_error("engine", "out of memory starting users of slot %u: %u of %u run",
                      sl->slot, sl->nready, sl->nvus);
        sl->grow_failed = true;
        return NULL;
    }
    vu *v = eslot_vu(sl, sl->nused++);
    if (!v->inited) vu_init(v);
    return v;
}

/* Counts the arrival intended at due as started (its lag) and begins its iteration on
 * v, which was idle, off or new (none of which is counted live). */
static void open_begin(engine *e, vu *v, const sc_profile *p, uint64_t due, uint64_t now)
{
    v->prof = p;
    e->shard.sched.started++;
    hist_record(&e->shard.sched.lag, now > due ? now - due : 0);
    v->retire = false;
    v->state = VU_READY;
    e->live++;
    vu_begin_iteration(v, due);
}

/* The slot's next arrival (intended at due, monotonic us), handled at now. Its profile:
 * arrival a = slot + next_m * T' takes scenario_profile_of(a), the smooth weighted
 * round-robin the closed model deals users by (uniform: a is the arrival's place on the
 * whole run's curve, so the weights hold over every worker's arrivals together). */
static void open_arrive(engine *e, eslot *sl, uint64_t due, uint64_t now)
{
    const scenario *sc = e->cfg.sc;
    int pi = scenario_profile_of(sc, sl->slot + sl->next_m * e->tprime);
    e->shard.sched.intended++;
    vu *v = open_free_user(e, sl, &sc->profiles[pi]);
    if (v) {
        open_begin(e, v, &sc->profiles[pi], due, now);
        vu_run(v);
        return;
    }
    if (sl->bn < sl->bcap) {
        sl->bprof[(sl->bhead + sl->bn) % sl->bcap] = (uint16_t)pi;
        sl->backlog[(sl->bhead + sl->bn++) % sl->bcap] = due;
        if (++e->waiting > e->shard.sched.backlog_max) e->shard.sched.backlog_max = e->waiting;
        return;
    }
    e->shard.sched.dropped++;
}

void engine_open_arrivals(engine *e, uint64_t now)
{
    if (e->arrivals_over || e->stopping || e->done) return;
    uint64_t t0 = e->cfg.start_mono_us;
    double next = -1;
    for (uint32_t s = 0; s < e->nslots; s++) {
        /* by index: a user's iteration may end synchronously, but nothing here adds a
         * slot (e->slots is only reallocated by the mailbox) */
        eslot *sl = &e->slots[s];
        if (!sl->arrivals || sl->released) continue;
        while (sl->next_us >= 0 && t0 + (uint64_t)llround(sl->next_us) <= now) {
            /* the batch is what was due at now; each one's start is read when it begins
             * (the ones before it in the batch delayed it: that is in its lag) */
            open_arrive(e, sl, t0 + (uint64_t)llround(sl->next_us), time_mono_us());
            open_advance(e, sl);
            if (e->stopping || e->done) return;
        }
        if (sl->next_us >= 0 && (next < 0 || sl->next_us < next)) next = sl->next_us;
    }
    event_del(&e->arrive_ev);
    e->arrive_due_us = 0;
    if (next < 0) return;
    /* Armed for the next arrival's intended time: libevent adds a relative timeout to
     * its cached time (the pass's start), so both are read afresh here, after the work
     * above, and the timer falls due at that time, neither before nor after it. */
    event_base_update_cache_time(e->base);
    now = time_mono_us();
    uint64_t due = t0 + (uint64_t)llround(next);
    uint64_t d = due > now ? due - now : 0;
    struct timeval tv = { (time_t)(d / 1000000), (suseconds_t)(d % 1000000) };
    event_add(&e->arrive_ev, &tv);
    e->arrive_due_us = due;
}

bool engine_open_next(vu *v)
{
    engine *e = v->eng;
    eslot *sl = &e->slots[v->si];
    if (sl->bn > 0 && !sl->released) {
        uint64_t due = sl->backlog[sl->bhead];
        const sc_profile *p = &e->cfg.sc->profiles[sl->bprof[sl->bhead]];
        sl->bhead = (sl->bhead + 1) % sl->bcap;
        sl->bn--;
        e->waiting--;
        e->live--;                      /* open_begin counts it again */
        open_begin(e, v, p, due, time_mono_us());
        return true;
    }
    v->state = VU_IDLE;
    e->live--;
    sl->idle[sl->nidle++] = (uint32_t)(v->k / e->cfg.threads_total);
    return false;
}

/* Drops the slot's waiting arrivals (counted). */
static void open_drop_waiting(engine *e, eslot *sl)
{
    e->shard.sched.dropped += sl->bn;
    e->waiting -= sl->bn;
    sl->bn = sl->bhead = 0;
}

void engine_open_release(engine *e, eslot *sl)
{
    sl->arrivals = false;
    open_drop_waiting(e, sl);
    /* idle users go off (they stay on the idle stack, OFF, for a re-adoption); busy
     * ones stop after their current step (retire) */
    for (uint32_t i = 0; i < sl->nready; i++) {
        vu *v = eslot_vu(sl, i);
        if (v->state == VU_OFF) continue;
        if (v->state == VU_IDLE || v->state == VU_READY || v->state == VU_THINK) {
            if (v->state != VU_IDLE) v->retire = true;
            vu_off(v);
        } else {
            v->retire = true;
        }
        if (e->done) return;
    }
}

void engine_open_stop(engine *e)
{
    if (e->arrivals_over) return;
    e->arrivals_over = true;
    if (e->base) event_del(&e->arrive_ev);
    e->arrive_due_us = 0;
    for (uint32_t s = 0; s < e->nslots; s++) open_drop_waiting(e, &e->slots[s]);
    e->stopping = true;                 /* users going off now do not return to the pool */
    for (uint32_t s = 0; s < e->nslots; s++) {
        eslot *sl = &e->slots[s];
        for (uint32_t i = 0; i < sl->nready; i++) {
            vu *v = eslot_vu(sl, i);
            if (v->state == VU_IDLE) vu_off(v);
            if (e->done) return;
        }
    }
}
